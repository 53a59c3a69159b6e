"""Numeric precision of models: "float32", "mixed_bfloat16", "mixed_float16" or "auto".

"auto" picks mixed_bfloat16 where the hardware runs bfloat16 matrix products fast
(CPUs with AVX512-BF16 or AMX, GPUs of compute capability 8.0 or newer), else float32.
Under a mixed policy, weights stay float32 and the head's logits are computed in float32.
"""

import functools

import tensorflow as tf

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")


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


def dtype_policy(precision="float32"):
    """The Keras dtype policy name for a precision setting."""
    if precision is None:
        precision = "float32"
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    if precision == "auto":
        return "mixed_bfloat16" if fast_bfloat16() else "float32"
    return precision
