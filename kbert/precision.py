"""Numeric precision of models: "float32", "mixed_bfloat16", "mixed_float16" or "auto".

"auto" picks mixed_bfloat16 where the hardware runs bfloat16 matrix products fast
(CPUs with AVX512-BF16 or AMX, GPUs of compute capability 8.0 or newer), else float32.
Under a mixed policy, weights stay float32 and the head's logits are computed in float32.

"auto" is the task builders' default (`precision=None`: `default_precision()`), measured on
this project's 2-core AVX512-BF16 CPUs with minilm, same rows, epochs and seed, bfloat16
against float32 (benchmarks/quality.py): emotion accuracy +0.65 points, CoNLL eng.testa entity
F1 −0.60 and +0.35 (two seeds), SQuAD F1 +1.9, at 1.2–1.7× the training speed.
`set_default_precision("float32")` changes it for the process (as Keras' set_dtype_policy).
Pretraining keeps float32 (its recipe was measured in float32).
"""

import functools
import json

import keras
import tensorflow as tf

from kbert import first_token

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")
_DEFAULT = ["auto"]


def default_precision():
    """The precision of builders given `precision=None` ("auto" unless set)."""
    return _DEFAULT[0]


def set_default_precision(precision):
    """Sets the precision that builders use when given `precision=None`, for this process.

    Example:
    >>> # kbert.precision.set_default_precision("float32")   # every later model in float32
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    _DEFAULT[0] = precision


@functools.lru_cache(maxsize=None)
def fast_bfloat16():
    for gpu in tf.config.list_physical_devices("GPU"):
        cc = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        if cc and cc >= (8, 0):
            return True
    if tf.config.list_physical_devices("GPU"):
        return False
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        return False
    return any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))


def dtype_policy(precision=None):
    """The Keras dtype policy name for a precision setting (None: `default_precision()`)."""
    if precision is None:
        precision = default_precision()
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    if precision == "auto":
        return "mixed_bfloat16" if fast_bfloat16() else "float32"
    return precision


MIXED = ("mixed_bfloat16", "mixed_float16")


def _policies(node):
    """Every DTypePolicy config dict in a model's JSON config."""
    if isinstance(node, dict):
        if node.get("class_name") == "DTypePolicy" and isinstance(node.get("config"), dict):
            yield node["config"]
        for value in node.values():
            yield from _policies(value)
    elif isinstance(node, list):
        for value in node:
            yield from _policies(value)


def is_mixed(model):
    """Whether any layer of `model` computes under a mixed policy."""
    return any(policy.get("name") in MIXED for policy in _policies(json.loads(model.to_json())))


def float32_copy(model):
    """An uncompiled float32 copy of a mixed-precision model, with the same weights (a mixed
    policy keeps its variables in float32, so nothing is rounded); the model itself when it
    computes in float32 already. Exports use it: ONNX has no kernels for the bfloat16 and
    float16 mixes a mixed graph holds, and serving graphs should not depend on the CPU's
    bfloat16 support.

    Example:
    >>> # exported = float32_copy(learner.model)   # learner trained with precision="auto"
    """
    config = json.loads(model.to_json())
    config.pop("compile_config", None)
    policies = [p for p in _policies(config) if p.get("name") in MIXED]
    if not policies:
        return model
    for policy in policies:
        policy["name"] = "float32"
    copy = keras.models.model_from_json(json.dumps(config))
    copy.set_weights(model.get_weights())
    return first_token.same_as(model, copy)
