"""Hugging Face DeBERTa-v3 checkpoints (`model_type` "deberta-v2") → keras-hub's `DebertaV3Backbone`.

keras-hub 0.32 ships DeBERTa-v3 presets but no converter for `transformers` folders; this
module is one, with the interface of keras-hub's `convert_bert.py` (`backbone_cls`,
`convert_backbone_config`, `convert_weights`, `convert_tokenizer`). The weight mapping follows
keras-hub's tools/checkpoint_conversion/convert_deberta_v3_checkpoints.py.

`DebertaV3Backbone` is DeBERTa-v3's shape only: relative attention with log-bucketed
positions, c2p + p2c scores, position projections shared with the content query/key
(`share_att_key`), layer-normed relative embeddings, no absolute positions, no token types,
no convolution layer. Hugging Face's "deberta-v2" model type also covers DeBERTa-v2
checkpoints outside that shape; `convert_backbone_config` refuses those, naming the key.
"""

import json
import math

import numpy as np
from keras_hub.models import DebertaV3Backbone
from keras_hub.src.utils.preset_utils import HF_TOKENIZER_CONFIG_FILE
from keras_hub.src.utils.preset_utils import check_file_exists
from keras_hub.src.utils.preset_utils import get_file

backbone_cls = DebertaV3Backbone

PREFIX = "deberta."
LAYER_NORM_EPSILON = 1e-7  # what DebertaV3Backbone builds with


def _unsupported(key, value, why):
    return ValueError(f"DeBERTa config.json has {key}={value!r}, which keras-hub's DebertaV3Backbone cannot "
                      f"represent ({why}); kbert cannot convert this checkpoint.")


def _names(value):
    # Hugging Face accepts "p2c|c2p" as well as ["p2c", "c2p"]
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split("|")
    return sorted(str(v).strip().lower() for v in value)


def check_config(transformers_config):
    """Raises ValueError naming the config.json key the backbone cannot represent.

    Absent keys take Hugging Face's DebertaV2Config defaults (which are DeBERTa-v1/v2's, not v3's).
    """
    cfg = transformers_config
    if not cfg.get("relative_attention", False):
        raise _unsupported("relative_attention", cfg.get("relative_attention", False),
                           "its attention is always relative")
    if _names(cfg.get("pos_att_type")) != ["c2p", "p2c"]:
        raise _unsupported("pos_att_type", cfg.get("pos_att_type"), 'it computes exactly "p2c" and "c2p" scores')
    if cfg.get("position_biased_input", True):
        raise _unsupported("position_biased_input", cfg.get("position_biased_input", True),
                           "it has no absolute position embeddings")
    if not cfg.get("share_att_key", False):
        raise _unsupported("share_att_key", cfg.get("share_att_key", False),
                           "it projects relative positions with the content query/key layers")
    if "layer_norm" not in _names(cfg.get("norm_rel_ebd", "none")):
        raise _unsupported("norm_rel_ebd", cfg.get("norm_rel_ebd", "none"),
                           "it always layer-normalises the relative embeddings")
    if cfg.get("position_buckets", -1) <= 0:
        raise _unsupported("position_buckets", cfg.get("position_buckets", -1),
                           "it always log-buckets relative positions")
    if cfg.get("type_vocab_size", 0) > 0:
        raise _unsupported("type_vocab_size", cfg["type_vocab_size"], "it has no token type embeddings")
    if cfg.get("conv_kernel_size", 0) > 0:
        raise _unsupported("conv_kernel_size", cfg["conv_kernel_size"], "it has no convolution layer")
    embedding_size = cfg.get("embedding_size", cfg["hidden_size"])
    if embedding_size != cfg["hidden_size"]:
        raise _unsupported("embedding_size", embedding_size,
                           f"its token embeddings have hidden_size ({cfg['hidden_size']}) dimensions")
    if cfg.get("hidden_act", "gelu") != "gelu":
        raise _unsupported("hidden_act", cfg["hidden_act"], 'its feed-forward activation is the exact "gelu"')
    eps = cfg.get("layer_norm_eps", LAYER_NORM_EPSILON)
    if not math.isclose(eps, LAYER_NORM_EPSILON, rel_tol=1e-3):
        raise _unsupported("layer_norm_eps", eps, f"its layer norms use epsilon {LAYER_NORM_EPSILON}")


def convert_backbone_config(transformers_config):
    """`DebertaV3Backbone` arguments of a Hugging Face DeBERTa-v3 config.json (a dict).

    `max_sequence_length` is the span the relative-position log buckets are scaled to:
    `max_relative_positions`, or `max_position_embeddings` when that is below 1 (as in
    Hugging Face). `bucket_size` is `position_buckets`.

    Args:
        transformers_config: dict, the checkpoint's config.json.

    Returns:
        dict of `DebertaV3Backbone` keyword arguments.

    Raises:
        ValueError: naming the config.json key of a setting the backbone cannot represent.
    """
    check_config(transformers_config)
    cfg = transformers_config
    max_positions = cfg.get("max_position_embeddings", 512)
    max_relative = cfg.get("max_relative_positions", -1)
    return {
        "vocabulary_size": cfg["vocab_size"],
        "num_layers": cfg["num_hidden_layers"],
        "num_heads": cfg["num_attention_heads"],
        "hidden_dim": cfg["hidden_size"],
        "intermediate_dim": cfg["intermediate_size"],
        "dropout": cfg.get("hidden_dropout_prob", 0.1),
        "max_sequence_length": max_relative if max_relative >= 1 else max_positions,
        "bucket_size": cfg["position_buckets"],
    }


def _dense(hf_tensor, keras_shape):
    # torch Linear stores (out, in); Keras kernels are (in, ...) — transpose, then split heads
    return np.reshape(np.transpose(hf_tensor), keras_shape)


def _reshape(hf_tensor, keras_shape):
    return np.reshape(hf_tensor, keras_shape)


def convert_weights(backbone, loader, transformers_config):
    """Copies a Hugging Face DeBERTa-v3 encoder's weights into `backbone`.

    Args:
        backbone: a `DebertaV3Backbone` built from `convert_backbone_config`.
        loader: keras-hub's `SafetensorLoader` (or one with its `port_weight`).
        transformers_config: dict, the checkpoint's config.json.
    """
    p = PREFIX
    loader.port_weight(backbone.get_layer("token_embedding").embeddings, f"{p}embeddings.word_embeddings.weight")
    norm = backbone.get_layer("embeddings_layer_norm")
    loader.port_weight(norm.gamma, f"{p}embeddings.LayerNorm.weight")
    loader.port_weight(norm.beta, f"{p}embeddings.LayerNorm.bias")
    relative = backbone.get_layer("rel_embedding")
    loader.port_weight(relative.rel_embeddings, f"{p}encoder.rel_embeddings.weight")
    loader.port_weight(relative.layer_norm.gamma, f"{p}encoder.LayerNorm.weight")
    loader.port_weight(relative.layer_norm.beta, f"{p}encoder.LayerNorm.bias")

    for i, block in enumerate(backbone.transformer_layers):
        hf = f"{p}encoder.layer.{i}."
        attn = block._self_attention_layer
        # the same query/key layers also project the relative embeddings (share_att_key)
        for dense, name in ((attn._query_dense, "query_proj"), (attn._key_dense, "key_proj"),
                            (attn._value_dense, "value_proj")):
            loader.port_weight(dense.kernel, f"{hf}attention.self.{name}.weight", hook_fn=_dense)
            loader.port_weight(dense.bias, f"{hf}attention.self.{name}.bias", hook_fn=_reshape)
        loader.port_weight(attn._output_dense.kernel, f"{hf}attention.output.dense.weight", hook_fn=_dense)
        loader.port_weight(attn._output_dense.bias, f"{hf}attention.output.dense.bias")
        loader.port_weight(block._self_attention_layer_norm.gamma, f"{hf}attention.output.LayerNorm.weight")
        loader.port_weight(block._self_attention_layer_norm.beta, f"{hf}attention.output.LayerNorm.bias")
        loader.port_weight(block._feedforward_intermediate_dense.kernel, f"{hf}intermediate.dense.weight",
                           hook_fn=_dense)
        loader.port_weight(block._feedforward_intermediate_dense.bias, f"{hf}intermediate.dense.bias")
        loader.port_weight(block._feedforward_output_dense.kernel, f"{hf}output.dense.weight", hook_fn=_dense)
        loader.port_weight(block._feedforward_output_dense.bias, f"{hf}output.dense.bias")
        loader.port_weight(block._feedforward_layer_norm.gamma, f"{hf}output.LayerNorm.weight")
        loader.port_weight(block._feedforward_layer_norm.beta, f"{hf}output.LayerNorm.bias")


def convert_tokenizer(cls, preset, **kwargs):
    """The checkpoint's SentencePiece tokenizer (spm.model) as `cls` (keras-hub's DebertaV3Tokenizer).

    Args:
        cls: the tokenizer class, e.g. `keras_hub.models.DebertaV3Tokenizer`.
        preset: the checkpoint folder.
        **kwargs: passed on to `cls`.

    Returns:
        a `cls` instance.

    Raises:
        ValueError: spm.model is missing, or tokenizer_config.json asks for text handling
            (`do_lower_case`, `split_by_punct`) that keras-hub's SentencePiece tokenizer lacks.
    """
    config = {}
    if check_file_exists(preset, HF_TOKENIZER_CONFIG_FILE):
        with open(get_file(preset, HF_TOKENIZER_CONFIG_FILE), encoding="utf-8") as f:
            config = json.load(f)
    for key in ("do_lower_case", "split_by_punct"):
        if config.get(key):
            raise ValueError(f"DeBERTa tokenizer_config.json has {key}=true, which keras-hub's DebertaV3Tokenizer "
                             f"cannot reproduce (it runs spm.model on the raw text); kbert cannot convert it.")
    if not check_file_exists(preset, "spm.model"):
        raise ValueError(f"DeBERTa checkpoint {preset!r} has no spm.model for its SentencePiece tokenizer.")
    return cls(proto=get_file(preset, "spm.model"), **kwargs)
