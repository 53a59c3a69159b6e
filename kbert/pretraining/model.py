"""The pretraining model (BertBackbone + masked-LM head tied to the token embedding +
next-sentence head) and the export of its encoder as a keras-hub preset folder."""

import json
import os
import shutil
import tempfile
import time

import keras
import keras_hub

from kbert import distribute, optimizers
from kbert.encoders import load_encoder
from kbert.precision import dtype_policy
from kbert.pretraining.data import PretrainingPreprocessor

ENCODER_META = "kbert_encoder.json"
ENCODER_FORMAT_VERSION = 1
_DEFAULT_SIZES = {"num_layers": 2, "hidden_dim": 128, "num_heads": 2, "intermediate_dim": 512}


def bert_pretrainer(preproc, encoder=None, precision="float32", strategy=None, seed=None, dropout=0.1):
    """A compiled keras.Model for masked-LM (+ NSP) pretraining.

    encoder: a dict of BertBackbone sizes for a fresh encoder on the preprocessor's
        vocabulary (num_layers, hidden_dim, num_heads, intermediate_dim, …), or a
        load_encoder spec ("minilm", a preset folder) to continue pretraining from that
        checkpoint; the data must then have been made with its vocabulary. Default: the
        preset the data was tokenized for, else a fresh 2-layer, 128-wide encoder.
    Inputs: token_ids, segment_ids, padding_mask, mask_positions. Outputs: {"mlm": logits
    [batch, predictions, vocabulary], "nsp": logits [batch, 2]} (no "nsp" when nsp=False).
    """
    if not isinstance(preproc, PretrainingPreprocessor):
        raise TypeError("bert_pretrainer needs the preprocessor returned by kbert.pretraining.pretraining_data.")
    policy = dtype_policy(precision)
    strategy = distribute.get_strategy(strategy)
    if encoder is None:
        encoder = preproc.preset if preproc.preset is not None else dict(_DEFAULT_SIZES)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    with strategy.scope():
        if isinstance(encoder, dict):
            spec = {**_DEFAULT_SIZES, "dropout": dropout, **encoder,
                    "vocabulary": preproc.tokenizer.get_vocabulary(), "lowercase": preproc.tokenizer.lowercase}
            spec.setdefault("max_sequence_length", max(512, preproc.maxlen))
            backbone, _ = load_encoder(spec, dtype=policy)
        else:
            backbone, tokenizer = load_encoder(encoder, dtype=policy)
            if tokenizer.get_vocabulary() != preproc.tokenizer.get_vocabulary():
                raise ValueError(
                    f"The data was tokenized with another vocabulary than encoder {encoder!r}'s. Continued "
                    f"pretraining keeps the checkpoint's vocabulary: make the data with "
                    f"pretraining_data(corpus, vocabulary={encoder!r}, …).")
        if preproc.maxlen > backbone.max_sequence_length:
            raise ValueError(f"maxlen={preproc.maxlen} exceeds the encoder's {backbone.max_sequence_length} positions.")
        model = build_pretrainer(backbone, nsp=preproc.nsp)
        model.compile(optimizer=optimizers.AdamW(1e-4), loss=preproc.loss(), metrics=preproc.metrics())
    # export_encoder needs the vocabulary; kept off Keras' attribute tracking
    object.__setattr__(model, "_kbert_tokenizer", preproc.tokenizer)
    return model


def build_pretrainer(backbone, nsp=True):
    inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name)
              for name in ("token_ids", "segment_ids", "padding_mask", "mask_positions")}
    out = backbone({k: inputs[k] for k in ("token_ids", "segment_ids", "padding_mask")})
    head = keras_hub.layers.MaskedLMHead(
        vocabulary_size=backbone.vocabulary_size, token_embedding=backbone.token_embedding,
        intermediate_activation="gelu", kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        dtype=backbone.dtype_policy, name="mlm_head",
    )
    # logits in float32 under mixed precision (a stable softmax over the vocabulary)
    outputs = {"mlm": keras.layers.Activation("linear", dtype="float32", name="mlm")(
        head(out["sequence_output"], mask_positions=inputs["mask_positions"]))}
    if not nsp:
        # without NSP the [CLS] pooler is unused: frozen, so no optimizer step asks for its gradients
        backbone.get_layer("pooled_dense").trainable = False
    else:
        # BERT's NSP classifier reads the pooled [CLS] output (dense + tanh)
        outputs["nsp"] = keras.layers.Dense(
            2, kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02), dtype="float32", name="nsp",
        )(out["pooled_output"])
    return keras.Model(inputs, outputs, name="kbert_bert_pretrainer")


def find_backbone(model):
    for layer in model.layers:
        if isinstance(layer, keras_hub.models.BertBackbone):
            return layer
    raise ValueError(f"Model {model.name!r} has no BertBackbone layer.")


def export_encoder(model, folder, tokenizer=None, preproc=None):
    """Writes the model's encoder as a keras-hub preset folder (backbone config and weights
    + tokenizer vocabulary) that kbert.load_encoder(folder) and every loader's `preset=`
    take. Written beside the target, then renamed into place."""
    from kbert import __version__
    from kbert.predictors.base import _replace

    backbone = find_backbone(model)
    if tokenizer is None:
        tokenizer = preproc.tokenizer if preproc is not None else getattr(model, "_kbert_tokenizer", None)
    if tokenizer is None:
        raise ValueError("This model does not carry its vocabulary: pass tokenizer=… or preproc=….")
    folder = os.path.abspath(os.fspath(folder))
    parent = os.path.dirname(folder)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(folder)}.tmp-", dir=parent)
    try:
        # a float32 copy: the exported preset loads under any precision policy
        config = backbone.get_config()
        config["dtype"] = "float32"
        export = keras_hub.models.BertBackbone.from_config(config)
        export.set_weights(backbone.get_weights())
        export.save_to_preset(tmp)
        keras_hub.models.BertTokenizer(
            vocabulary=tokenizer.get_vocabulary(), lowercase=tokenizer.lowercase).save_to_preset(tmp)
        with open(os.path.join(tmp, ENCODER_META), "w", encoding="utf-8") as f:
            json.dump({"format_version": ENCODER_FORMAT_VERSION, "kbert_version": __version__,
                       "keras_hub_version": keras_hub.__version__, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                       "num_layers": backbone.num_layers, "hidden_dim": backbone.hidden_dim,
                       "vocabulary_size": backbone.vocabulary_size}, f, indent=2)
        _replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder
