"""Predictors: a trained model + its preprocessor, saved to and loaded from a folder.

The folder holds plain files only, so that loading runs no code from it and survives
kbert upgrades:

    kbert_predictor.json   format version, kbert version, task, preprocessor config
    vocab.txt              the tokenizer's vocabulary
    model.json             the Keras model's architecture (keras.Model.to_json)
    model.weights.h5       the weights

Saving is atomic: everything is written to a temporary folder beside the target, which
then replaces the target by renames; an existing folder is only replaced once the new
one is complete.
"""

import json
import os
import shutil
import tempfile
import time

import keras
import numpy as np

from kbert.data import TaskData

FORMAT_VERSION = 1
META_FILE = "kbert_predictor.json"
VOCAB_FILE = "vocab.txt"
MODEL_FILE = "model.json"
WEIGHTS_FILE = "model.weights.h5"


class PredictorLoadError(RuntimeError):
    """A predictor folder can not be loaded: the message names the folder and the problem."""


class Predictor:
    """Base class: batching over TaskData, and the versioned, atomic folder format."""

    task = None
    registry = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.task:
            Predictor.registry[cls.task] = cls

    def __init__(self, model, preproc, batch_size=32):
        if not isinstance(model, keras.Model):
            raise TypeError(f"model must be a keras.Model, got {type(model).__name__}.")
        self.model = model
        self.preproc = preproc
        self.batch_size = int(batch_size)

    def get_classes(self):
        return self.preproc.get_classes()

    def _outputs(self, data: TaskData, per_piece=False):
        from kbert import data as D

        return D.predict(self.model, data, self.batch_size, per_piece=per_piece)

    # ----------------------------------------------------------------- saving
    def save(self, folder):
        """Writes the predictor to `folder` atomically (see module docs)."""
        from kbert import __version__

        folder = os.path.abspath(os.fspath(folder))
        parent = os.path.dirname(folder)
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(folder)}.tmp-", dir=parent)
        try:
            with open(os.path.join(tmp, VOCAB_FILE), "w", encoding="utf-8") as f:
                f.write("\n".join(self.preproc.tokenizer.get_vocabulary()) + "\n")
            with open(os.path.join(tmp, MODEL_FILE), "w", encoding="utf-8") as f:
                f.write(self.model.to_json())
            self.model.save_weights(os.path.join(tmp, WEIGHTS_FILE))
            meta = {
                "format_version": FORMAT_VERSION,
                "kbert_version": __version__,
                "keras_version": keras.__version__,
                "task": self.task,
                "batch_size": self.batch_size,
                "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "preprocessor": self.preproc.get_config(),
            }
            # the metadata file is written last: its presence marks a complete folder
            with open(os.path.join(tmp, META_FILE), "w", encoding="utf-8") as f:
                json.dump(meta, f, indent=2, default=_json_default)
            _replace(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return folder

    @classmethod
    def _from_parts(cls, model, preproc, meta):
        return cls(model, preproc, batch_size=meta.get("batch_size", 32))


def _json_default(v):
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"{type(v).__name__} is not JSON serialisable")


def _replace(tmp, folder):
    """Rename tmp → folder; an existing folder is moved aside first and removed after."""
    old = None
    if os.path.exists(folder):
        if not os.path.isdir(folder):
            raise FileExistsError(f"{folder!r} exists and is not a folder.")
        old = tempfile.mkdtemp(prefix=f".{os.path.basename(folder)}.old-", dir=os.path.dirname(folder))
        os.rmdir(old)
        os.rename(folder, old)
    try:
        os.rename(tmp, folder)
    except BaseException:
        if old is not None:
            os.rename(old, folder)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def load_predictor(folder, batch_size=None):
    """Loads a predictor saved with `predictor.save(folder)`."""
    folder = os.fspath(folder)
    meta_path = os.path.join(folder, META_FILE)
    if not os.path.isdir(folder):
        raise PredictorLoadError(f"Predictor folder {folder!r} does not exist.")
    if not os.path.exists(meta_path):
        raise PredictorLoadError(f"{folder!r} is not a kbert predictor folder: {META_FILE} is missing.")
    try:
        with open(meta_path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        raise PredictorLoadError(f"{meta_path!r} is not readable JSON: {e}") from e
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise PredictorLoadError(
            f"{folder!r} has predictor format version {version!r} (written by kbert "
            f"{meta.get('kbert_version', '?')}); this kbert reads format {FORMAT_VERSION}. "
            "Load it with a matching kbert version, or save the predictor again."
        )
    task = meta.get("task")
    if task not in Predictor.registry:
        raise PredictorLoadError(f"{folder!r} holds a predictor for task {task!r}, which this kbert "
                                 f"does not know (known: {sorted(Predictor.registry)}).")
    for name in (VOCAB_FILE, MODEL_FILE, WEIGHTS_FILE):
        if not os.path.exists(os.path.join(folder, name)):
            raise PredictorLoadError(f"{folder!r} is incomplete: {name} is missing.")
    with open(os.path.join(folder, VOCAB_FILE), encoding="utf-8") as f:
        vocabulary = f.read().split("\n")
    if vocabulary and vocabulary[-1] == "":
        vocabulary = vocabulary[:-1]
    cls = Predictor.registry[task]
    preproc = cls.preprocessor_from_config(meta["preprocessor"], vocabulary)
    import keras_hub  # noqa: F401  (registers BertBackbone for deserialisation)

    with open(os.path.join(folder, MODEL_FILE), encoding="utf-8") as f:
        model = keras.models.model_from_json(f.read())
    try:
        model.load_weights(os.path.join(folder, WEIGHTS_FILE))
    except Exception as e:
        raise PredictorLoadError(f"Could not load {WEIGHTS_FILE} of {folder!r}: {e}") from e
    predictor = cls._from_parts(model, preproc, meta)
    if batch_size is not None:
        predictor.batch_size = int(batch_size)
    return predictor
