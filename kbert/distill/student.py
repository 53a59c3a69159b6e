"""A student model from a fine-tuned teacher (DistilBERT's recipe): the same task model with
fewer encoder layers, started from the teacher's embeddings, some of its layers and its head.

The teacher's architecture (`model.to_json()`) is reused with the encoder's `num_layers`
lowered, so a student is a task model of the same kind (classifier, tagger, QA span model)
that saves and loads as an ordinary predictor.
"""

import json

import keras
import numpy as np

from kbert import first_token
from kbert.families import family_of

STUDENT_NOTE = "a student keeps a subset of the teacher's encoder layers"


def find_encoder(model):
    """(index in model.layers, layer) of the keras-hub encoder inside a kbert task model;
    ValueError when the model has none (or more than one)."""
    found = []
    for i, layer in enumerate(getattr(model, "layers", [])):
        try:
            family_of(layer)
        except ValueError:
            continue
        found.append((i, layer))
    if len(found) != 1:
        name = getattr(model, "name", type(model).__name__)
        raise ValueError(f"{name} holds {len(found)} keras-hub encoders; distillation needs a kbert task model with "
                         "exactly one (text_classifier, sequence_tagger, qa_model, or a loaded predictor's .model).")
    return found[0]


def kept_layers(depth, num_layers=None, layers=None):
    """The teacher's layer indexes a student keeps.

    Args:
        depth: the teacher's number of encoder layers.
        num_layers: how many to keep; default half (at least 1). Spread evenly from the
            bottom: layer floor(j·depth/num_layers) for j = 0 … num_layers−1 (6 of 12:
            0, 2, 4, 6, 8, 10 — every other layer, DistilBERT's rule; 3 of 6: 0, 2, 4).
        layers: explicit indexes instead (ascending, distinct, in range).

    Returns:
        A list of indexes.

    Example:
    >>> kept_layers(6, 3)
    [0, 2, 4]
    >>> kept_layers(12)
    [0, 2, 4, 6, 8, 10]
    """
    if layers is not None:
        if num_layers is not None and num_layers != len(layers):
            raise ValueError(f"num_layers={num_layers} but layers={list(layers)} holds {len(layers)} indexes; "
                             "give one of them.")
        idx = [int(i) for i in layers]
        if not idx:
            raise ValueError("layers is empty: a student needs at least one encoder layer.")
        bad = [i for i in idx if not 0 <= i < depth]
        if bad:
            raise ValueError(f"layers={list(layers)}: {bad} out of range; the teacher's encoder has {depth} layers "
                             f"(indexes 0 … {depth - 1}).")
        if sorted(set(idx)) != idx:
            raise ValueError(f"layers={list(layers)} must be distinct and ascending (the order they run in).")
        return idx
    if num_layers is None:
        num_layers = max(1, depth // 2)
    if isinstance(num_layers, bool) or not isinstance(num_layers, (int, np.integer)) or num_layers < 1:
        raise ValueError(f"num_layers must be a whole number of at least 1, got {num_layers!r}.")
    if num_layers > depth:
        raise ValueError(f"num_layers={num_layers} is more than the teacher's {depth} encoder layers: "
                         f"{STUDENT_NOTE} (at most {depth}).")
    return [j * depth // int(num_layers) for j in range(int(num_layers))]


def student(teacher_model, num_layers=None, layers=None):
    """A smaller task model started from a fine-tuned teacher (DistilBERT's initialisation).

    The student is the teacher's model (same task, head, encoder family, vocabulary, hidden
    size, precision) with `num_layers` encoder layers: its embeddings, head and every
    non-encoder layer are the teacher's weights, and its encoder layer j is a copy of the
    teacher's layer `layers[j]`. ALBERT shares one set of layer weights across its depth:
    its student keeps those shared weights and runs them fewer times (`layers` does not
    apply).

    Args:
        teacher_model: a kbert task model (text_classifier, sequence_tagger, qa_model, or a
            loaded predictor's `.model`), fine-tuned.
        num_layers: encoder layers of the student; default half the teacher's (see
            `kept_layers`: every other layer).
        layers: the teacher's layer indexes to keep instead, e.g. [0, 2, 5].

    Returns:
        A compiled (when the teacher is) keras.Model of the teacher's kind; train it with
        `kbert.get_learner(student, trn, val, teacher=teacher_model)`.

    Example:
    >>> # small = kbert.distill.student(predictor.model, num_layers=3)
    >>> # learner = kbert.get_learner(small, trn, val, teacher=predictor.model, temperature=2.0, alpha=0.5)
    >>> # learner.fit_onecycle(5e-5, 2)
    """
    if not isinstance(teacher_model, keras.Model):
        raise TypeError(f"teacher_model must be a keras.Model (a kbert task model), got {type(teacher_model).__name__}.")
    index, encoder = find_encoder(teacher_model)
    config = json.loads(teacher_model.to_json())
    compile_config = config.pop("compile_config", None)
    enc_config = config["config"]["layers"][index]["config"]
    if config["config"]["layers"][index]["name"] != encoder.name:
        raise ValueError(f"{teacher_model.name}'s architecture does not list its encoder {encoder.name!r} at "
                         f"position {index}; is it a kbert task model?")
    depth = int(enc_config["num_layers"])
    albert = "num_groups" in enc_config
    if albert:
        if layers is not None:
            raise ValueError("ALBERT shares its layer weights across the whole depth, so there are no separate "
                             "layers to pick: give num_layers (the shared layers run num_layers times).")
        keep = kept_layers(depth, num_layers)
        if len(keep) % int(enc_config["num_groups"]):
            raise ValueError(f"num_layers={len(keep)}: ALBERT runs its {enc_config['num_groups']} layer groups an "
                             "equal number of times, so num_layers must be a multiple of num_groups.")
    else:
        keep = kept_layers(depth, num_layers, layers)
    enc_config["num_layers"] = len(keep)
    with teacher_model.distribute_strategy.scope():
        model = keras.models.model_from_json(json.dumps(config))
        copy_weights(teacher_model, model, keep, albert)
        first_token.same_as(teacher_model, model)  # a classifier's student reads [CLS] alone too
        if compile_config is not None and getattr(teacher_model, "compiled", False):
            try:
                model.compile_from_config(compile_config)
            except Exception:  # an optimizer or loss keras can not rebuild: the Learner compiles its own
                pass
    return model


def copy_weights(teacher, model, keep, shared=False):
    """Copies every layer's weights from teacher to model by name, except the encoder's
    transformer layers: model's layer j gets teacher's layer keep[j] (all of them, as they
    are, when the layers are shared: ALBERT)."""
    _, t_enc = find_encoder(teacher)
    _, s_enc = find_encoder(model)
    for layer in teacher.layers:
        model.get_layer(layer.name).trainable = layer.trainable  # (a frozen encoder, an unused pooler)
        if layer is not t_enc and layer.weights:
            model.get_layer(layer.name).set_weights(layer.get_weights())
    t_blocks, s_blocks = encoder_blocks(t_enc), encoder_blocks(s_enc)
    block_names = {b.name for b in t_blocks}
    for layer in t_enc.layers:  # embeddings, their norm and projection, the pooler
        if layer.name in {b.name for b in s_blocks}:
            s_enc.get_layer(layer.name).trainable = layer.trainable
        if layer.name not in block_names and layer.weights:
            s_enc.get_layer(layer.name).trainable = layer.trainable
            s_enc.get_layer(layer.name).set_weights(layer.get_weights())
    pairs = zip(t_blocks, s_blocks) if shared else ((t_blocks[i], s) for i, s in zip(keep, s_blocks))
    for t, s in pairs:
        s.set_weights(t.get_weights())


def encoder_blocks(encoder):
    """The encoder's transformer layers in order (ALBERT's groups flattened: its shared layers)."""
    out = []
    for item in encoder.transformer_layers:
        out.extend(item if isinstance(item, (list, tuple)) else [item])
    return out
