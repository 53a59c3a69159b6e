"""kbert: a Keras 3 trainer for BERT in the style of ktrain.

    trn, val, preproc = kbert.text.texts_from_df(train_df, "text", "label", val_df=val_df)
    learner = kbert.get_learner(kbert.text.text_classifier(preproc), trn, val, batch_size=32)
    learner.fit_onecycle(1e-4, 3)
    kbert.get_predictor(learner.model, preproc).save("my-predictor")

The package face is lazy: `import kbert` imports neither TensorFlow nor Keras. The names
below (kbert.text, kbert.get_learner, …) load on first use (PEP 562), so that
`import kbert.onnx` -- the TensorFlow-free runtime of exported predictors -- runs where only
onnxruntime, numpy and tokenizers are installed.
"""

import importlib
import importlib.abc
import importlib.util
import logging
import os
import re
import sys
import tempfile

from kbert.version import __version__

# kbert runs on Keras' TensorFlow backend (tf.data, tf-text and tf.distribute); the
# backend must be chosen before Keras is first imported.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

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
_QUIET = "TF_CPP_MIN_LOG_LEVEL" not in os.environ
_importing = False  # TensorFlow's import is under way (_TensorFlowFirst stays out of it)
if _QUIET:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

# the modules that import neither TensorFlow nor Keras (kbert.onnx.export does, through the
# predictors it exports)
_TF_FREE = {"kbert.version", "kbert.errors", "kbert.integrity", "kbert.onnx", "kbert.onnx.predictor",
            "kbert.onnx.tokenizer"}


def _import_tensorflow_quietly():
    global _importing
    _importing = True  # the finder below stays out of this import
    try:
        _capture_import()
    finally:
        _importing = False


def _capture_import():
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


class _RetracingNotice:
    """kbert pads each batch to its longest row, so predictions meet a few batch widths and
    Keras' predict function is traced once per width, on purpose: TensorFlow's "triggered
    tf.function retracing" warning says nothing the user can act on."""

    @staticmethod
    def filter(record):
        return "triggered tf.function retracing" not in record.getMessage()


_tensorflow_ready = False  # the backend checked and TensorFlow imported, for kbert's modules


logging.getLogger("tensorflow").addFilter(_RetracingNotice())  # a logger needs no TensorFlow yet


def _import_tensorflow():
    if "tensorflow" in sys.modules or _importing:
        return
    if _QUIET:
        _import_tensorflow_quietly()
    else:  # the user chose a level: every line TensorFlow prints is theirs
        import tensorflow  # noqa: F401


def _prepare_tensorflow():
    """Checks the Keras backend and imports TensorFlow quietly, once, before the first kbert
    module that needs it."""
    global _tensorflow_ready
    if _tensorflow_ready:
        return
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend != "tensorflow":
        raise ImportError(
            f"kbert needs Keras' TensorFlow backend, but KERAS_BACKEND={backend!r}. "
            "Unset it or set KERAS_BACKEND=tensorflow before importing kbert."
        )
    _import_tensorflow()
    _tensorflow_ready = True


class _Imported(importlib.abc.Loader):
    """Hands the import system a module that is already loaded, and gives it its own spec back."""

    def __init__(self, module):
        self.module = module
        self.spec = module.__spec__

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        module.__spec__ = self.spec  # the import system set ours: restore TensorFlow's own


class _TensorFlowFirst(importlib.abc.MetaPathFinder):
    """Runs _prepare_tensorflow before any kbert module that needs TensorFlow is loaded, however
    it is reached (`kbert.text`, `import kbert.text`, `from kbert.learner import …`), and when
    the user imports TensorFlow after kbert (`import kbert; import tensorflow as tf`), so that
    its load-time lines stay quiet as when `import kbert` loaded it."""

    def find_spec(self, name, path=None, target=None):
        if name.startswith("kbert.") and name not in _TF_FREE and not _tensorflow_ready:
            _prepare_tensorflow()  # the normal finders then load the kbert module
        elif name == "tensorflow" and _QUIET and not _importing and "tensorflow" not in sys.modules:
            _import_tensorflow()
            return importlib.util.spec_from_loader(name, _Imported(sys.modules["tensorflow"]), is_package=True)
        return None


if not any(isinstance(f, _TensorFlowFirst) for f in sys.meta_path):
    sys.meta_path.insert(0, _TensorFlowFirst())

# name → (module, attribute or None for the module itself), loaded on first use
_LAZY = {
    "AnswerExtractor": ("kbert.predictors", "AnswerExtractor"),
    "Learner": ("kbert.learner", "Learner"),
    "distribute": ("kbert.distribute", None),
    "get_learner": ("kbert.learner", "get_learner"),
    "get_predictor": ("kbert.predictors", "get_predictor"),
    "load_encoder": ("kbert.encoders", "load_encoder"),
    "load_predictor": ("kbert.predictors", "load_predictor"),
    "optimizers": ("kbert.optimizers", None),
    "pretraining": ("kbert.pretraining", None),
    "text": ("kbert.text", None),
}


def __getattr__(name):
    if name not in _LAZY:
        # kbert.predictors, kbert.families, …: the submodules that `import kbert` used to load
        if name.startswith("_") or importlib.util.find_spec(f"kbert.{name}") is None:
            raise AttributeError(f"module 'kbert' has no attribute {name!r}")
        return importlib.import_module(f"kbert.{name}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


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
