"""Prediction batches without a tf.data pipeline: what predictors call (`predict_rows`).

Rows are sorted by length and padded in NumPy (`padded_batches`), then run through one graph
per model (`kbert.data.predict_on_batch`, traced once with every dimension unknown, so no batch
size or width retraces it). Building kbert.data.predict's tf.data pipeline per call (tracing
its map functions, making its iterator) made a one-text call cost 4-9 times the per-text time
of a batched call (benchmarks/latency.py). A predictor's batches of short rows hold more than
`batch_size` rows (`batch_bounds`), up to the pieces of its widest batch and PACK_PIECES:
larger matrix products for the same peak memory.
"""

import keras
import numpy as np
import tensorflow as tf

from kbert.data import TaskData, gather_outputs, pad_multiple_for, predict_on_batch, round_up
from kbert.tasks import TaskPreprocessor

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
