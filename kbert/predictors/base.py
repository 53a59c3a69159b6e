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

Predictions (`predict_rows`) pad the rows in NumPy and call `kbert.data.predict_on_batch` (one
graph per model, traced once with every dimension unknown, so no batch size or width retraces it)
on batches of rows sorted by length, without building a tf.data pipeline per call:
building that pipeline (tracing its map functions, making its iterator) made a one-text
call cost 4-9 times the per-text time of a batched call (benchmarks/latency.py). A
predictor's batches of short rows hold more than `batch_size` rows, up to the pieces of its
widest batch and PACK_PIECES (`padded_batches`' max_pieces): larger matrix products for the same
peak memory.
"""

import copy
import importlib
import json
import os
import time

import keras
import numpy as np
import tensorflow as tf

from kbert import integrity, io
from kbert.data import TaskData, gather_outputs, pad_multiple_for, predict_on_batch, round_up
from kbert.families import family_of
from kbert.models import find_backbone, vocabulary_rows  # noqa: F401 (find_backbone: kbert.predictors.base's name too)
from kbert.precision import float32_copy
from kbert.version import __version__
from kbert.tasks import TaskPreprocessor

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


# A packed batch grows up to this many pieces: at ~2 thousand rows the encoder's matrix
# products keep 2 cores busy; beyond, larger batches of longer rows span a wider range of
# lengths and pad more (SQuAD windows of ~150 pieces packed up to 4,096 or 12,288 pieces a
# batch ran 0.94-0.97x: benchmarks/predict_batches.py).
PACK_PIECES = 2048


def padded_batches(data, batch_size, pad_multiple=1, max_pieces=None):
    """The inference batches of `data` as NumPy arrays, without a tf.data pipeline.

    Without max_pieces, the same batches as `data.dataset(batch_size, training=False,
    with_targets=False, pad_multiple=...)`: rows in `data.eval_order` (sorted by length),
    `batch_size` per batch, each padded with the feature's pad value to its longest row rounded
    up to `pad_multiple`, plus an int32 "padding_mask".

    With max_pieces, a batch of short rows takes more than `batch_size` of them: as many as
    keep rows × its longest row within max_pieces (never fewer than batch_size, but at the
    end). Small matrix products leave the cores idle: at emotion's ~20 pieces a row, 32 rows
    are a product of 640 rows; packed to 2,048 pieces, prediction ran 1.20-1.24x faster in
    bfloat16 and 1.11-1.12x in float32 on emotion and CoNLL (benchmarks/README.md,
    "Prediction batches packed by length").

    Args:
        data: a TaskData whose features are ragged [rows, (pieces)] (see `fast_path_supported`).
        batch_size: rows per batch (the least, with max_pieces).
        pad_multiple: each batch's width is rounded up to a multiple of this.
        max_pieces: rows × longest row that a batch may hold, or None (batch_size rows each).

    Returns:
        A generator of (row indices into data, dict of name → array [rows, width]).

    Example:
    >>> # for rows, x in padded_batches(data, 32): predict_on_batch(model, x)
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    # flat values and row splits once per call: slicing NumPy is far cheaper than ragged ops
    columns = {name: (value.flat_values.numpy(), value.row_splits.numpy(), value.dtype.as_numpy_dtype,
                      data.pad_values.get(name, 0)) for name, value in data.features.items()}
    lengths, order = data.lengths, data.eval_order
    for start, end in batch_bounds(lengths[order], batch_size, max_pieces):
        rows = order[start:end]
        own = lengths[rows]
        width = round_up(int(own.max()), pad_multiple)
        x = {}
        for name, (values, splits, dtype, pad) in columns.items():
            array = np.full((len(rows), width), pad, dtype=dtype)
            for i, row in enumerate(rows):
                array[i, :own[i]] = values[splits[row]:splits[row + 1]]
            x[name] = array
        x["padding_mask"] = (np.arange(width)[None, :] < own[:, None]).astype(np.int32)
        yield rows, x


def batch_bounds(sorted_lengths, batch_size, max_pieces=None):
    """(start, end) of each batch over rows sorted by length: `batch_size` rows each, or with
    max_pieces as many more as keep rows × the batch's longest row within it."""
    n, start, bounds = len(sorted_lengths), 0, []
    while start < n:
        end = min(n, start + batch_size)
        if max_pieces is not None:
            # rows × longest row of [start, e) is (e - start) × sorted_lengths[e - 1], which
            # grows with e: the largest e within max_pieces by bisection
            lo, hi = end, n
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if (mid - start) * int(sorted_lengths[mid - 1]) <= max_pieces:
                    lo = mid
                else:
                    hi = mid - 1
            end = lo
        bounds.append((start, end))
        start = end
    return bounds


def fast_path_supported(data, preproc=None):
    """Whether `predict_rows` may pad `data` itself: a TaskData that keeps TaskData's own
    evaluation batches (no `_pad` / `map_batches` / `dataset` of its own, e.g. a windowed
    document's 3-D rows), no fixed shapes, every feature ragged [rows, (pieces)], and a
    preprocessor that keeps the default `predict_outputs`."""
    cls = type(data)
    if not isinstance(data, TaskData) or getattr(data, "fixed_shapes", False):
        return False
    if any(getattr(cls, name) is not getattr(TaskData, name)
           for name in ("dataset", "_eval_batches", "_pad", "map_batches", "restore_order")):
        return False
    if preproc is not None and getattr(type(preproc), "predict_outputs", None) is not TaskPreprocessor.predict_outputs:
        return False
    return all(isinstance(v, tf.RaggedTensor) and v.ragged_rank == 1 and v.flat_values.shape.rank == 1
               for v in data.features.values())


def predict_rows(model, data, batch_size, preproc, pack=False):
    """Model outputs for every row of `data`, in row order: what
    `preproc.predict_outputs(model, data, batch_size)` gives (the same batches through the same
    Keras predict function, so the same numbers; with pack, other batches, so the same numbers
    to rounding), with little overhead per call.

    Args:
        model: the keras.Model.
        data: the TaskData to predict (targets are ignored).
        batch_size: rows per model call (with pack: for the longest rows).
        preproc: the task's preprocessor; `per_piece` says whether outputs are per piece
            (a list of per-row arrays cut to each row's length) or per row (stacked).
        pack: batches of shorter rows take more rows, up to batch_size × the longest row's
            pieces (what the widest batch holds anyway: no batch needs more memory than it)
            and at most PACK_PIECES.

    Returns:
        As `kbert.data.predict`: an array (or structure of arrays) [rows, ...], or a list of
            per-row arrays [pieces, ...] when per_piece.

    Example:
    >>> # probs = predict_rows(model, preproc.transform(["so happy"], verbose=0), 32, preproc)
    """
    if not fast_path_supported(data, preproc):  # data that batches itself differently: its own pipeline
        return preproc.predict_outputs(model, data, batch_size)
    per_piece = preproc.per_piece
    max_pieces = min(int(batch_size) * int(data.lengths.max()), PACK_PIECES) if pack and len(data) else None
    outputs = []
    for rows, x in padded_batches(data, int(batch_size), pad_multiple_for(model), max_pieces):
        out = predict_on_batch(model, x)
        if per_piece:
            lengths = data.lengths[rows]
            outputs.extend(keras.tree.map_structure(lambda v, i=i: v[i, :lengths[i]], out)
                           for i in range(len(rows)))
        else:
            outputs.append(out)
    return gather_outputs(data, outputs, per_piece)


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
