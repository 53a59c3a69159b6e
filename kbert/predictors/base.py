"""Predictors: a trained model + its preprocessor, saved to a folder (kbert.predictors.load
reads it back).

The folder holds plain files only, so that loading runs no code from it and survives
kbert upgrades:

    kbert_predictor.json   format version, kbert version, task, encoder family,
                           preprocessor config, vocabulary size, embedding rows,
                           SHA-256 of every other file
    tokenizer/             the tokenizer as keras-hub saves it (`save_to_preset`):
                           tokenizer.json (its Keras config: class, lowercase,
                           strip_accents, …) and its files under assets/tokenizer/
                           (vocabulary.txt | vocabulary.json + merges.txt | vocabulary.spm)
    model.json             the Keras model's architecture (keras.Model.to_json)
    model.weights.h5       the weights (no optimizer state: a predictor never trains)

Saving is atomic (kbert.io.atomic_folder): everything is written to a temporary folder
beside the target, which then replaces the target by renames.

Each task's predictor class registers itself under its task's name (`task`), so that
`get_predictor` and `load_predictor` find it without the tasks knowing the predictors.

Predictions go through `kbert.predictors.batches.predict_rows`: rows sorted by length, padded
in NumPy, batches of short rows packed, one predict graph per model.
"""

import copy
import importlib
import json
import os
import time

import keras

from kbert import integrity, io
from kbert.families import family_of
from kbert.models import find_backbone, vocabulary_rows  # noqa: F401 (find_backbone: kbert.predictors.base's name too)
from kbert.precision import float32_copy
from kbert.version import __version__
from kbert.tasks import TaskPreprocessor
# the batching of predictions; their names are kbert.predictors.base's too
from kbert.predictors.batches import (  # noqa: F401
    PACK_PIECES, batch_bounds, fast_path_supported, padded_batches, predict_rows)

# 2: the metadata records a SHA-256 per file (verified on load), the vocabulary size and
# the embedding rows. Format 1 folders (no checksums) still load, unverified, with a warning.
# 3: the tokenizer of any family in tokenizer/ (keras-hub's own files) instead of vocab.txt
# (WordPiece only), and the encoder family in the metadata. Format 2 folders still load.
FORMAT_VERSION = 3
READABLE_FORMATS = (1, 2, 3)
# predictor.export(folder, format=…): format → the module that writes it. Each module has
# `TASKS` (the predictor tasks it can export) and `export(predictor, folder, **kwargs)`;
# they are imported only when used (TFLite's converter, tf2onnx, … load nothing until then).
EXPORTERS = {
    "saved_model": "kbert.predictors.export_saved_model",
    "tflite": "kbert.predictors.export_tflite",
    "onnx": "kbert.onnx.export",
}
META_FILE = "kbert_predictor.json"
VOCAB_FILE = "vocab.txt"  # formats 1 and 2
TOKENIZER_DIR = "tokenizer"
TOKENIZER_CONFIG = TOKENIZER_DIR + "/tokenizer.json"
MODEL_FILE = "model.json"
WEIGHTS_FILE = "model.weights.h5"


def embedding_rows(model):
    """Rows of the token embedding of the encoder inside a kbert task model (None if it has
    none), whatever the family calls its size (ELECTRA: vocab_size)."""
    backbone = find_backbone(model)
    return None if backbone is None else vocabulary_rows(backbone)


def architecture_json(model):
    """model.to_json() without its compile settings: a predictor never trains, and a compiled
    copy would build the optimizer (and write its slots, twice the weights, into the weights
    file) and need the optimizer's and schedule's classes to load."""
    config = json.loads(model.to_json())
    config.pop("compile_config", None)
    return json.dumps(config)


def as_list(value, argument, expected):
    """`value` as a list; TypeError naming `argument` and what it should be when it is not a
    list-like of items (None, a number, a string, a dict, bytes)."""
    if value is None or isinstance(value, (str, bytes, dict, int, float)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{argument} must be {expected}, got {_describe(value)}.")
    return list(value)


def check_strings(items, argument, expected):
    """TypeError naming the first item of `items` that is not a string."""
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise TypeError(f"{argument}[{i}] is {_describe(item)}, not a string; {argument} must be {expected}.")
    return items


def as_texts(value, argument="texts", expected="a string or a list of strings"):
    """(list of strings, single): a string is one text, a list-like of strings a batch."""
    if isinstance(value, str):
        return [value], True
    return check_strings(as_list(value, argument, expected), argument, expected), False


def _describe(value):
    if value is None:
        return "None"
    text = repr(value)
    name = type(value).__name__
    article = "an" if name[:1].lower() in "aeiou" else "a"
    return f"{article} {name} ({text[:40]}{'…' if len(text) > 40 else ''})"


class Predictor:
    """Base class: the model + preprocessor pair, batching, and the saved folder format.

    Args:
        model: the trained keras.Model.
        preproc: the task's preprocessor (from the loader that made the training data).
        batch_size: rows per model call for the longest texts of a call; shorter texts go
            more at a time, up to as many pieces (see `padded_batches`).

    Example:
    >>> # predictor = kbert.get_predictor(learner.model, preproc); predictor.save("my-predictor")
    >>> # kbert.load_predictor("my-predictor").predict("I feel great")
    """

    task = None
    preprocessor_class = TaskPreprocessor
    registry = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.task:
            Predictor.registry[cls.task] = cls

    def __init__(self, model, preproc, batch_size=32):
        if not isinstance(model, keras.Model):
            raise TypeError(f"model must be a keras.Model, got {type(model).__name__}.")
        if not isinstance(preproc, self.preprocessor_class):
            raise TypeError(f"{type(self).__name__} needs a {self.preprocessor_class.__name__}, "
                            f"got {type(preproc).__name__}.")
        self.model = model
        self.preproc = preproc
        self.batch_size = int(batch_size)

    def get_classes(self):
        return self.preproc.get_classes()

    def _outputs(self, data):
        """Model outputs for every row of `data` (see `predict_rows`)."""
        return predict_rows(self.model, data, self.batch_size, self.preproc, pack=True)

    # ----------------------------------------------------------------- saving
    def save(self, folder):
        """Writes the predictor to `folder` atomically (see the module's docs).

        Args:
            folder: the folder to write (replaced if it exists, only once the new one is complete).

        Returns:
            The folder's absolute path.

        Example:
        >>> # predictor.save("emotion-predictor"); kbert.load_predictor("emotion-predictor")
        """
        tokenizer = self.preproc.tokenizer
        family = family_of(tokenizer).name
        with io.atomic_folder(folder) as tmp:
            # keras-hub's own format: the tokenizer's config (lowercase, strip_accents, …)
            # and its vocabulary files, for every family
            tokenizer.save_to_preset(os.path.join(tmp, TOKENIZER_DIR))
            architecture = architecture_json(self.model)
            with open(os.path.join(tmp, MODEL_FILE), "w", encoding="utf-8") as f:
                f.write(architecture)
            # an uncompiled copy, so that the weights file carries no optimizer state
            bare = keras.models.model_from_json(architecture)
            bare.set_weights(self.model.get_weights())
            bare.save_weights(os.path.join(tmp, WEIGHTS_FILE))
            # the metadata file is written last: its presence marks a complete folder
            io.write_json(os.path.join(tmp, META_FILE), {
                "format_version": FORMAT_VERSION,
                "kbert_version": __version__,
                "keras_version": keras.__version__,
                "task": self.task,
                "family": family,
                "batch_size": self.batch_size,
                "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "vocabulary_size": int(tokenizer.vocabulary_size()),
                "embedding_rows": embedding_rows(self.model),
                "checksums": integrity.folder_checksums(tmp, exclude={META_FILE}),
                "preprocessor": self.preproc.get_config(),
            })
        return os.path.abspath(os.fspath(folder))

    def export(self, folder, format="saved_model", **kwargs):
        """Writes the model for serving outside kbert.

        Args:
            folder: the folder to write (replaced if it exists, only once the new one is complete).
            format: "saved_model" (a TensorFlow SavedModel that takes raw strings: tokenization
                runs inside its graph), "tflite" (a TFLite/LiteRT flatbuffer of the model on
                token ids), or another format in `kbert.predictors.base.EXPORTERS`.
            **kwargs: options of that format's exporter.

        Returns:
            The folder's absolute path.

        Example:
        >>> # predictor.export("emotion-savedmodel")
        >>> # predictor.export("emotion-tflite", format="tflite")
        """
        if format not in EXPORTERS:
            raise ValueError(f"Unknown export format {format!r}; kbert exports: {', '.join(sorted(EXPORTERS))}.")
        if getattr(self.preproc, "long_document", "truncate") == "windows":
            raise ValueError("A long_document='windows' model reads [documents, windows, pieces]; no export format "
                             "windows documents yet. predictor.save(folder) keeps it for kbert.")
        module = importlib.import_module(EXPORTERS[format])
        if self.task not in module.TASKS:
            formats = export_formats(self.task)
            raise ValueError(
                f"{type(self).__name__} ({self.task!r}) cannot be exported as {format!r} "
                f"(it takes: {', '.join(module.TASKS)}). Formats this predictor can take: "
                f"{', '.join(formats) if formats else 'none yet'}; predictor.save(folder) keeps it for kbert.")
        return module.export(self.in_float32(), folder, **kwargs)

    def in_float32(self):
        """This predictor, or a copy of it whose model computes in float32 (a mixed-precision
        model's float32 twin, same weights: `kbert.precision.float32_copy`). Exports write
        float32 graphs."""
        model = float32_copy(self.model)
        if model is self.model:
            return self
        twin = copy.copy(self)
        twin.model = model
        return twin

    def export_model_to_tflite(self, fpath, verbose=1):
        """ktrain's name: the model on token ids as one TFLite file at `fpath` (the flatbuffer
        of `export(folder, format="tflite")`, without its metadata). Returns fpath.

        Example:
        >>> # predictor.export_model_to_tflite("emotion.tflite")
        """
        formats = export_formats(self.task)
        if "tflite" not in formats:
            raise ValueError(f"{type(self).__name__} ({self.task!r}) cannot be exported as 'tflite'; formats this "
                             f"predictor can take: {', '.join(formats) if formats else 'none yet'}.")
        return importlib.import_module(EXPORTERS["tflite"]).export_file(self.in_float32(), fpath, verbose=verbose)

    @classmethod
    def from_parts(cls, model, preproc, meta):
        return cls(model, preproc, batch_size=meta.get("batch_size", 32))


def export_formats(task):
    """The export formats (keys of EXPORTERS) that take predictors of `task`, sorted."""
    formats = []
    for name, module in sorted(EXPORTERS.items()):
        try:
            if task in importlib.import_module(module).TASKS:
                formats.append(name)
        except ImportError:  # an exporter whose optional dependencies are not installed
            continue
    return formats


def get_predictor(model, preproc, batch_size=32):
    """A predictor for a trained model and the preprocessor its data came from.

    Args:
        model: the trained keras.Model (`learner.model`).
        preproc: the preprocessor returned by the loader (texts_from_df, entities_from_conll, …).
        batch_size: rows per model call when predicting (for the longest texts of a call;
            shorter ones go more at a time, up to as many pieces).

    Returns:
        The task's Predictor (TextClassificationPredictor, NERPredictor, QAPredictor, …).

    Example:
    >>> # predictor = kbert.get_predictor(learner.model, preproc)
    >>> # predictor.predict(["I feel wonderful today"])
    """
    task = getattr(preproc, "task", None)
    if not isinstance(preproc, TaskPreprocessor) or task not in Predictor.registry:
        raise TypeError(f"{type(preproc).__name__} is not a kbert preprocessor with a predictor "
                        f"(known tasks: {sorted(Predictor.registry)}).")
    return Predictor.registry[task](model, preproc, batch_size=batch_size)
