"""kbert: a Keras 3 trainer for BERT in the style of ktrain.

    trn, val, preproc = kbert.text.texts_from_df(train_df, "text", "label", val_df=val_df)
    learner = kbert.get_learner(kbert.text.text_classifier(preproc), trn, val, batch_size=32)
    learner.fit_onecycle(1e-4, 3)
    kbert.get_predictor(learner.model, preproc).save("my-predictor")
"""

import os
import re
import sys
import tempfile

# kbert runs on Keras' TensorFlow backend (tf.data, tf-text and tf.distribute); the
# backend must be chosen before Keras is first imported.
_backend = os.environ.setdefault("KERAS_BACKEND", "tensorflow")
if _backend != "tensorflow":
    raise ImportError(
        f"kbert needs Keras' TensorFlow backend, but KERAS_BACKEND={_backend!r}. "
        "Unset it or set KERAS_BACKEND=tensorflow before importing kbert."
    )


# Quiet TensorFlow's C++ logs below FATAL, as ktrain does (TF_CPP_MIN_LOG_LEVEL=3) -- unless the
# user chose a level. On a CPU machine even the ERROR lines are noise ("failed call to cuInit",
# "oneDNN supports DT_INT64 only on platforms with AVX-512"); real failures still arrive as
# Python exceptions. The variable covers what TensorFlow logs at run time, but not the lines
# its shared libraries log while they load (oneDNN notice, "Could not find cuda drivers", the
# absl "InitializeLog" banner, once per library that carries its own copy of absl): absl logs
# them before TensorFlow reads the variable, and no setting reaches them. So the import runs
# with file descriptor 2 captured, and everything except such log lines is written back.
_NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$"
    r"|[IWE]\d{4} [\d:.]+ +\d+ [\w.-]+:\d+\] "  # absl: I0000 00:00:1796052119.677366 20581 port.cc:153]
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] "  # older TensorFlow: 2025-09-17 14:44:05.1: I
)


def _import_tensorflow_quietly():
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable descriptor 2 (e.g. pythonw)
        import tensorflow  # noqa: F401

        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode("utf-8", "replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not _NOISE.match(line))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


if "TF_CPP_MIN_LOG_LEVEL" not in os.environ:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if "tensorflow" not in sys.modules:  # else its load-time lines are already printed
        _import_tensorflow_quietly()



class _RetracingNotice:
    """kbert pads each batch to its longest row, so predictions meet a few batch widths and
    Keras' predict function is traced once per width, on purpose: TensorFlow's "triggered
    tf.function retracing" warning says nothing the user can act on."""

    @staticmethod
    def filter(record):
        return "triggered tf.function retracing" not in record.getMessage()


import logging  # noqa: E402

logging.getLogger("tensorflow").addFilter(_RetracingNotice())

from kbert.version import __version__  # noqa: E402
from kbert import distribute  # noqa: E402
from kbert import optimizers  # noqa: E402
from kbert import pretraining  # noqa: E402
from kbert import text  # noqa: E402
from kbert.encoders import load_encoder  # noqa: E402
from kbert.learner import Learner, get_learner  # noqa: E402
from kbert.predictors import AnswerExtractor, get_predictor, load_predictor  # noqa: E402

__all__ = [
    "AnswerExtractor",
    "Learner",
    "__version__",
    "distribute",
    "get_learner",
    "get_predictor",
    "load_encoder",
    "load_predictor",
    "optimizers",
    "pretraining",
    "text",
]
