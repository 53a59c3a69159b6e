"""Plain arrays for the Learner (ktrain's ArrayLearner): `(x, y)` tuples become `ArrayData`,
a TaskData whose rows are numpy arrays instead of word pieces.

    x: a numpy array [rows, ...], a dict name → array, or a list of arrays (several inputs)
    y: class ids [rows] (or [rows, 1]), one-hot or multi-hot rows [rows, classes], or floats

The model is one the user compiled with a loss (as ktrain requires); its loss and metrics
are reused (`kbert.learner.array_task.ArrayPreprocessor`).
"""

import numpy as np
import tensorflow as tf

from kbert.data import TaskData
from kbert.errors import DataError, format_rows


def check_arrays(data, name):
    """(x, y) → (x as arrays, y as an array), or an error naming what is wrong.

    Args:
        data: a tuple `(x, y)` (`y` may be None for prediction).
        name: the argument's name for messages ("train_data", "val_data").
    """
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{name} must come from a kbert loader (texts_from_df, …) or be a tuple (x, y) of "
                        f"numpy arrays, got {type(data).__name__}"
                        + (f" of length {len(data)}" if isinstance(data, (tuple, list)) else "") + ".")
    x, y = data
    parts = _parts(x, name)
    if any(v.ndim == 0 for v in parts.values()):
        raise DataError(f"{name}: x must hold one row per example, got a single value.")
    rows = {k: len(v) for k, v in parts.items()}
    if len(set(rows.values())) > 1:
        raise DataError(f"{name}: the inputs have different numbers of rows: {rows}; every input needs one "
                        "row per example.")
    n = next(iter(rows.values()))
    if n == 0:
        raise DataError(f"{name} has no rows.")
    for k, v in parts.items():
        if v.dtype.kind not in "biuf":
            hint = (" Texts need a kbert loader: kbert.text.texts_from_array(x_train, y_train, …)."
                    if v.dtype.kind in "OSU" else "")
            raise DataError(f"{name}: input {k} holds {v.dtype} values; the array Learner takes numbers.{hint}")
        _check_finite(v, f"{name}: input {k}")
    if y is None:
        return map_arrays(_floatx, _unparts(parts, x)), None
    if isinstance(y, dict) or isinstance(y, (list, tuple)) and y and all(isinstance(v, np.ndarray) for v in y):
        raise TypeError(f"{name}: y must be one array (the model's single output); models with several "
                        "outputs are not supported by the array Learner: train them with model.fit.")
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise DataError(f"{name}: y holds {y.dtype} values; give class ids (0 … classes-1), one-hot rows or "
                        "float targets (string labels: np.unique(y, return_inverse=True)[1]).")
    if len(y) != n:
        raise DataError(f"{name}: x has {n} rows but y has {len(y)}; give one target per row.")
    _check_finite(y, f"{name}: y")
    return map_arrays(_floatx, _unparts(parts, x)), _floatx(y)


def _parts(x, name):
    if isinstance(x, dict):
        if not x:
            raise DataError(f"{name}: x is an empty dict.")
        return {f"{k!r}": np.asarray(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)) and x and all(isinstance(v, np.ndarray) for v in x):
        return {f"{i}": v for i, v in enumerate(x)}
    return {"x": np.asarray(x)}


def _unparts(parts, x):
    if isinstance(x, dict):
        return {k: np.asarray(v) for k, v in x.items()}
    if len(parts) > 1 or isinstance(x, (list, tuple)) and x and all(isinstance(v, np.ndarray) for v in x):
        return list(parts.values())
    return parts["x"]


def _floatx(v):
    """float64 → float32, as Keras' array adapter does (models compute in float32)."""
    return v.astype(np.float32) if v.dtype == np.float64 else v


def _check_finite(v, what):
    if v.dtype.kind != "f":
        return
    bad = ~np.isfinite(v.reshape(len(v), -1)).all(axis=1)
    if bad.any():
        raise DataError(f"{what} has NaN or infinite values at rows {format_rows(np.flatnonzero(bad))}; "
                        "fill or drop those rows.")


class ArrayData(TaskData):
    """One split of numpy arrays, served as tf.data batches at the Learner's batch size.

    Training epochs are a function of (seed, epoch) (stateless shuffles), as for text data,
    so resumed runs replay them; evaluation keeps the row order.

    Args:
        x: an array [rows, ...], a dict of arrays or a list of arrays (checked by `check_arrays`).
        y: the targets [rows, ...] or None.
        preprocessor: the `ArrayPreprocessor` of the model.
    """

    x = None  # the arrays themselves (replaces TaskData's word-piece `x`)

    def __init__(self, x, y, preprocessor):
        # TaskData's constructor reads word-piece lengths; rows of arrays set its attributes here
        self.x, self.targets, self.preprocessor = x, y, preprocessor
        self.source, self.pad_values, self.target_pad, self.fixed_shapes = None, {}, None, False
        first = next(iter(x.values())) if isinstance(x, dict) else x[0] if isinstance(x, list) else x
        n = len(first)
        self.stats = {"rows": n}
        self.lengths = np.ones(n, dtype=np.int64)
        self.eval_order = np.arange(n)  # row order: restore_order is the identity

    @property
    def features(self):
        return self.x if isinstance(self.x, dict) else {"x": self.x}

    def subset(self, indices):
        indices = np.asarray(indices, dtype=np.int64)
        x = map_arrays(lambda v: v[indices], self.x)
        return ArrayData(x, None if self.targets is None else self.targets[indices], self.preprocessor)

    def x_row(self, row):
        """The inputs of one row, each with a batch dimension of 1."""
        return map_arrays(lambda v: v[row: row + 1], self.x)

    def padded_share(self, batch_size, training=True, seed=0, pad_multiple=1):
        return 0.0

    def _tensors(self, with_targets):
        x = map_arrays(tf.constant, self.x)
        return (x, tf.constant(self.targets)) if with_targets else x

    def dataset(self, batch_size, training=False, seed=None, with_targets=True, chunk_batches=None,
                fixed_length=None, pad_multiple=None):
        """(x, y) batches (x only without targets): shuffled anew at every pass when
        training (seed fixes the draws), in row order otherwise."""
        self._check_batch_size(batch_size)
        with_targets = with_targets and self.has_targets
        if training:
            draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
            ds = draws.flat_map(lambda r: self._epoch(batch_size, r, with_targets))
        else:
            ds = tf.data.Dataset.from_tensor_slices(self._tensors(with_targets)).batch(batch_size)
        ds = ds.apply(tf.data.experimental.assert_cardinality(self.steps(batch_size, training)))
        return ds.prefetch(tf.data.AUTOTUNE)

    def epochs_dataset(self, batch_size, epochs, initial_epoch=0, seed=0, chunk_batches=None, pad_multiple=None):
        """Training batches for epochs initial_epoch … epochs-1; epoch e depends only on (seed, e)."""
        self._check_batch_size(batch_size)
        if not 0 <= initial_epoch < epochs:
            raise ValueError(f"initial_epoch={initial_epoch} must be in [0, {epochs}).")
        base = tf.constant(int(seed or 0), tf.int64)
        ds = tf.data.Dataset.range(initial_epoch, epochs).flat_map(
            lambda e: self._epoch(batch_size, base * 1_000_003 + e, self.has_targets))
        total = (epochs - initial_epoch) * self.steps(batch_size, training=True)
        return ds.apply(tf.data.experimental.assert_cardinality(total)).prefetch(tf.data.AUTOTUNE)

    def _epoch(self, batch_size, epoch_seed, with_targets):
        columns = self._tensors(with_targets)
        seed = tf.stack([tf.cast(epoch_seed, tf.int64), tf.constant(0, tf.int64)])
        rows = tf.argsort(tf.random.stateless_uniform([len(self)], seed))
        batches = tf.data.Dataset.from_tensor_slices(rows).batch(batch_size)
        return batches.map(lambda idx: map_arrays(lambda t: tf.gather(t, idx), columns))


def map_arrays(fn, structure):
    """fn over each array of x (an array, a dict or a list of arrays), or of (x, y)."""
    return tf.nest.map_structure(fn, structure)
