"""`predictor.export(folder, format="tflite")`: the model on token ids as a TFLite (LiteRT)
flatbuffer, for phones and edge devices.

Unlike the SavedModel export, the tokenizer stays outside: TFLite has no WordPiece,
SentencePiece or byte-level BPE kernels, so the app tokenizes (with the same vocabulary) and
feeds token ids. The folder holds:

    model.tflite        inputs token_ids, segment_ids, padding_mask: int32 [batch, length]
                        (any batch shape through the signature runner); outputs "logits":
                        [batch, classes] (classification), [batch, pieces, tags] (NER),
                        [batch, pieces, 2] start/end logits (QA)
    kbert_export.json   format version, task, classes, maxlen, the special token ids and
                        the input/output names

The converter first tries TFLite's builtin ops only (runs on any LiteRT runtime); if the
model needs an op without a builtin kernel it converts with SELECT_TF_OPS (as ktrain's
export_model_to_tflite does), lists those ops in kbert_export.json ("flex_ops") and warns:
the runtime then needs the Flex delegate (Android: tensorflow-lite-select-tf-ops). DeBERTa-v3
is the one family that needs it (FlexAbs in its relative-position buckets); the interpreter
of the `tensorflow` 2.21 pip package does not include the Flex delegate.
"""

import os
import re
import tempfile
import warnings

import keras
import tensorflow as tf

from kbert import io
from kbert.families import family_of, special_ids
from kbert.models import INPUT_NAMES
from kbert.version import __version__

TASKS = ("text_classification", "ner", "qa")
FORMAT_VERSION = 1
META_FILE = "kbert_export.json"
MODEL_FILE = "model.tflite"


class ConversionError(RuntimeError):
    """The TFLite converter refused the model."""


def convert(model):
    """The model on token ids → TFLite flatbuffer bytes (builtin ops + SELECT_TF_OPS).

    Raises:
        ConversionError: naming the converter's reason, when it refuses the model.
    """
    signature = [tf.TensorSpec([None, None], tf.int32, name=name) for name in INPUT_NAMES]

    def logits(token_ids, segment_ids, padding_mask):
        out = model({"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask},
                    training=False)
        # a single output gets the name "logits" in the signature (not TF's "output_0")
        out = out if isinstance(out, dict) else {"logits": out}
        return {name: tf.cast(t, tf.float32) for name, t in out.items()}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", tf.function(logits, input_signature=signature), input_signature=signature)
    with tempfile.TemporaryDirectory(prefix="kbert-tflite-") as tmp:
        archive.write_out(tmp, verbose=False)
        try:  # builtin ops only: runs on any LiteRT runtime
            return _convert(tmp, [tf.lite.OpsSet.TFLITE_BUILTINS])
        except Exception:  # noqa: BLE001  (the converter raises ConverterError, ValueError, …)
            pass
        try:  # some ops need TensorFlow's kernels: the Flex delegate
            return _convert(tmp, [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS])
        except Exception as e:  # noqa: BLE001
            raise ConversionError(f"The TFLite converter (TensorFlow {tf.__version__}) refused the model, even "
                                  f"with SELECT_TF_OPS: {str(e).strip()[:2000]}") from e


def _convert(saved_model, ops):
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
    converter.target_spec.supported_ops = ops
    return converter.convert()


def flex_ops(flatbuffer):
    """The TensorFlow ops a flatbuffer runs through the Flex delegate ("FlexAbs", …), sorted;
    their names are stored as custom op codes."""
    return sorted({m.decode() for m in re.findall(rb"Flex[A-Z][A-Za-z0-9]*", flatbuffer)})


def export_file(predictor, fpath, verbose=1):
    """ktrain's `predictor.export_model_to_tflite(fpath)`: the flatbuffer alone, written to the
    file `fpath` (atomically: a temporary file beside it, then renamed). Returns fpath."""
    flatbuffer = convert(predictor.model)
    fpath = os.fspath(fpath)
    parent = os.path.dirname(os.path.abspath(fpath))
    os.makedirs(parent, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tflite-", dir=parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(flatbuffer)
        os.replace(tmp, fpath)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    if verbose:
        print(f"kbert: wrote the TFLite model ({len(flatbuffer) / 2**20:.1f} MiB; token ids in, logits out) to {fpath}")
    return fpath


def export(predictor, folder):
    """Writes the predictor's model (token ids in, logits out) as model.tflite.

    Args:
        predictor: a classification, NER or QA predictor.
        folder: the folder to write (replaced if it exists, only once the new one is complete).

    Returns:
        The folder's absolute path.

    Example:
    >>> # predictor.export("emotion-tflite", format="tflite")
    >>> # interpreter = tf.lite.Interpreter("emotion-tflite/model.tflite")
    """
    preproc = predictor.preproc
    flatbuffer = convert(predictor.model)
    flex = flex_ops(flatbuffer)
    if flex:
        warnings.warn(f"The TFLite model needs the Flex delegate (TensorFlow kernels) for {', '.join(flex)}: "
                      "a LiteRT runtime without it (the tensorflow pip package's tf.lite.Interpreter, a plain "
                      "Android LiteRT) cannot run it; link tensorflow-lite-select-tf-ops.", stacklevel=3)
    outputs = sorted(predictor.model.output) if isinstance(predictor.model.output, dict) else ["logits"]
    with io.atomic_folder(folder) as tmp:
        with open(os.path.join(tmp, MODEL_FILE), "wb") as f:
            f.write(flatbuffer)
        io.write_json(os.path.join(tmp, META_FILE), {
            "format_version": FORMAT_VERSION,
            "format": "tflite",
            "kbert_version": __version__,
            "tensorflow_version": tf.__version__,
            "task": predictor.task,
            "mode": getattr(preproc, "mode", None),
            "family": family_of(preproc.tokenizer).name,
            "maxlen": preproc.maxlen,
            "classes": [str(c) for c in preproc.get_classes()],
            "special_ids": special_ids(preproc.tokenizer),
            "inputs": list(INPUT_NAMES),
            "outputs": list(outputs),
            # empty: any LiteRT runtime; else the runtime needs the Flex delegate
            "flex_ops": flex,
        })
    return os.path.abspath(os.fspath(folder))
