"""Hugging Face ELECTRA checkpoints (`model_type` "electra") → keras-hub's `ElectraBackbone`.

keras-hub 0.32 ships ELECTRA presets but no converter for `transformers` folders; this module
is one, with the interface of keras-hub's `convert_bert.py` (`backbone_cls`,
`convert_backbone_config`, `convert_weights`, `convert_tokenizer`). The weight mapping follows
keras-hub's tools/checkpoint_conversion/convert_electra_checkpoints.py. Only the discriminator
encoder is read (ElectraModel / ElectraForPreTraining weights); heads are ignored.

One difference needs a fix after building: Hugging Face's "gelu" is the exact GELU, while
`ElectraBackbone` builds its feed-forward layers with the tanh approximation.
`convert_weights` sets the exact GELU on those layers (`set_feedforward_activation`); the
backbone's config does not record it, so a backbone rebuilt with `from_config` must have
`set_feedforward_activation(backbone, "gelu")` applied again.
"""

import json
import math

import keras
import numpy as np
from keras_hub.models import ElectraBackbone
from keras_hub.src.utils.preset_utils import HF_TOKENIZER_CONFIG_FILE
from keras_hub.src.utils.preset_utils import check_file_exists
from keras_hub.src.utils.preset_utils import get_file

backbone_cls = ElectraBackbone

PREFIX = "electra."
LAYER_NORM_EPSILON = 1e-12  # what ElectraBackbone builds with



def in_float32(fn):
    """`fn` computed in float32 on bfloat16/float16 inputs, its result cast back.

    Under mixed_bfloat16, TensorFlow's CPU kernels for GELU's erfc/tanh have no bfloat16
    vector path: the exact GELU took 15.2 ms on a [32, 32, 1536] bfloat16 tensor against 5.2 ms
    cast to float32 and back (benchmarks/op_profile.py: 13 % of a bfloat16 training step, 31 % of
    a prediction batch). float32 is also the more accurate of the two."""
    def activation(x):
        dtype = keras.backend.standardize_dtype(x.dtype)
        if dtype in ("bfloat16", "float16"):
            return keras.ops.cast(fn(keras.ops.cast(x, "float32")), dtype)
        return fn(x)

    return activation


# Hugging Face's `hidden_act` names → the Keras activation that computes the same function
ACTIVATIONS = {
    "gelu": in_float32(lambda x: keras.activations.gelu(x, approximate=False)),
    "gelu_new": in_float32(lambda x: keras.activations.gelu(x, approximate=True)),
    "gelu_pytorch_tanh": in_float32(lambda x: keras.activations.gelu(x, approximate=True)),
    "relu": keras.activations.relu,
}


def _unsupported(key, value, why):
    return ValueError(f"ELECTRA config.json has {key}={value!r}, which keras-hub's ElectraBackbone cannot "
                      f"represent ({why}); kbert cannot convert this checkpoint.")


def check_config(transformers_config):
    """Raises ValueError naming the config.json key the backbone cannot represent."""
    cfg = transformers_config
    act = cfg.get("hidden_act", "gelu")
    if act not in ACTIVATIONS:
        raise _unsupported("hidden_act", act, f"kbert maps only {sorted(ACTIVATIONS)}")
    pos = cfg.get("position_embedding_type", "absolute")
    if pos != "absolute":
        raise _unsupported("position_embedding_type", pos, "it has absolute position embeddings only")
    eps = cfg.get("layer_norm_eps", LAYER_NORM_EPSILON)
    if not math.isclose(eps, LAYER_NORM_EPSILON, rel_tol=1e-3):
        raise _unsupported("layer_norm_eps", eps, f"its layer norms use epsilon {LAYER_NORM_EPSILON}")
    if cfg.get("is_decoder") or cfg.get("add_cross_attention"):
        raise _unsupported("is_decoder", True, "it is a bidirectional encoder")


def convert_backbone_config(transformers_config):
    """`ElectraBackbone` arguments of a Hugging Face ELECTRA config.json (a dict).

    Args:
        transformers_config: dict, the checkpoint's config.json.

    Returns:
        dict of `ElectraBackbone` keyword arguments.

    Example:
    >>> convert_backbone_config({"vocab_size": 100, "embedding_size": 16, "hidden_size": 32,
    ...     "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
    ...     "max_position_embeddings": 64})["embedding_dim"]
    16
    """
    check_config(transformers_config)
    cfg = transformers_config
    return {
        "vocab_size": cfg["vocab_size"],
        "num_layers": cfg["num_hidden_layers"],
        "num_heads": cfg["num_attention_heads"],
        "hidden_dim": cfg["hidden_size"],
        # Hugging Face's ElectraConfig defaults embedding_size to 128
        "embedding_dim": cfg.get("embedding_size", 128),
        "intermediate_dim": cfg["intermediate_size"],
        "dropout": cfg.get("hidden_dropout_prob", 0.1),
        "max_sequence_length": cfg.get("max_position_embeddings", 512),
        "num_segments": cfg.get("type_vocab_size", 2),
    }


def set_feedforward_activation(backbone, hidden_act):
    """Makes the feed-forward layers of `backbone` compute Hugging Face's `hidden_act`.

    Takes effect on the next call (Keras 3 functional models run their layers' `call` each
    time). Not recorded in `backbone.get_config()`: re-apply after `from_config`.

    Args:
        backbone: an `ElectraBackbone` (or any backbone of keras-hub `TransformerEncoder`s).
        hidden_act: str, a key of `ACTIVATIONS` ("gelu" is the exact GELU).
    """
    if hidden_act not in ACTIVATIONS:
        raise _unsupported("hidden_act", hidden_act, f"kbert maps only {sorted(ACTIVATIONS)}")
    fn = ACTIVATIONS[hidden_act]
    for layer in backbone.transformer_layers:
        layer.activation = fn
        layer._feedforward_intermediate_dense.activation = fn


def _dense(hf_tensor, keras_shape):
    # torch Linear stores (out, in); Keras kernels are (in, ...) — transpose, then split heads
    return np.reshape(np.transpose(hf_tensor), keras_shape)


def _reshape(hf_tensor, keras_shape):
    return np.reshape(hf_tensor, keras_shape)


def convert_weights(backbone, loader, transformers_config):
    """Copies a Hugging Face ELECTRA discriminator's weights into `backbone`.

    Args:
        backbone: an `ElectraBackbone` built from `convert_backbone_config`.
        loader: keras-hub's `SafetensorLoader` (or one with its `port_weight`).
        transformers_config: dict, the checkpoint's config.json.
    """
    p = PREFIX
    loader.port_weight(backbone.get_layer("token_embedding").embeddings, f"{p}embeddings.word_embeddings.weight")
    loader.port_weight(backbone.get_layer("position_embedding").position_embeddings,
                       f"{p}embeddings.position_embeddings.weight")
    loader.port_weight(backbone.get_layer("segment_embedding").embeddings,
                       f"{p}embeddings.token_type_embeddings.weight")
    norm = backbone.get_layer("embeddings_layer_norm")
    loader.port_weight(norm.gamma, f"{p}embeddings.LayerNorm.weight")
    loader.port_weight(norm.beta, f"{p}embeddings.LayerNorm.bias")
    if backbone.hidden_dim != backbone.embedding_dim:
        projection = backbone.get_layer("embeddings_projection")
        loader.port_weight(projection.kernel, f"{p}embeddings_project.weight", hook_fn=_dense)
        loader.port_weight(projection.bias, f"{p}embeddings_project.bias")

    for i, block in enumerate(backbone.transformer_layers):
        hf = f"{p}encoder.layer.{i}."
        attn = block._self_attention_layer
        for dense, name in ((attn.query_dense, "query"), (attn.key_dense, "key"), (attn.value_dense, "value")):
            loader.port_weight(dense.kernel, f"{hf}attention.self.{name}.weight", hook_fn=_dense)
            loader.port_weight(dense.bias, f"{hf}attention.self.{name}.bias", hook_fn=_reshape)
        loader.port_weight(attn.output_dense.kernel, f"{hf}attention.output.dense.weight", hook_fn=_dense)
        loader.port_weight(attn.output_dense.bias, f"{hf}attention.output.dense.bias")
        loader.port_weight(block._self_attention_layer_norm.gamma, f"{hf}attention.output.LayerNorm.weight")
        loader.port_weight(block._self_attention_layer_norm.beta, f"{hf}attention.output.LayerNorm.bias")
        loader.port_weight(block._feedforward_intermediate_dense.kernel, f"{hf}intermediate.dense.weight",
                           hook_fn=_dense)
        loader.port_weight(block._feedforward_intermediate_dense.bias, f"{hf}intermediate.dense.bias")
        loader.port_weight(block._feedforward_output_dense.kernel, f"{hf}output.dense.weight", hook_fn=_dense)
        loader.port_weight(block._feedforward_output_dense.bias, f"{hf}output.dense.bias")
        loader.port_weight(block._feedforward_layer_norm.gamma, f"{hf}output.LayerNorm.weight")
        loader.port_weight(block._feedforward_layer_norm.beta, f"{hf}output.LayerNorm.bias")
    # ElectraModel has no pooler: `pooled_dense` keeps its random initialisation.
    set_feedforward_activation(backbone, transformers_config.get("hidden_act", "gelu"))


def _tokenizer_config(preset):
    if not check_file_exists(preset, HF_TOKENIZER_CONFIG_FILE):
        return {}
    with open(get_file(preset, HF_TOKENIZER_CONFIG_FILE), encoding="utf-8") as f:
        return json.load(f)


def convert_tokenizer(cls, preset, **kwargs):
    """The checkpoint's WordPiece tokenizer (vocab.txt) as `cls` (keras-hub's ElectraTokenizer).

    Lowercases (and strips accents) as tokenizer_config.json says; without one, as Hugging
    Face's ElectraTokenizer does by default (lowercase, strip accents).

    Args:
        cls: the tokenizer class, e.g. `keras_hub.models.ElectraTokenizer`.
        preset: the checkpoint folder.
        **kwargs: passed on to `cls`.

    Returns:
        a `cls` instance.
    """
    config = _tokenizer_config(preset)
    lowercase = bool(config.get("do_lower_case", True))
    strip = config.get("strip_accents")
    kwargs.setdefault("strip_accents", lowercase if strip is None else bool(strip))
    if not check_file_exists(preset, "vocab.txt"):
        raise ValueError(f"ELECTRA checkpoint {preset!r} has no vocab.txt for its WordPiece tokenizer.")
    return cls(get_file(preset, "vocab.txt"), lowercase=lowercase, **kwargs)
