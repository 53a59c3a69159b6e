"""Metrics and losses shared by the tasks: Keras metrics for training, numpy per-example
losses for `Learner.top_losses`.

Bottom floor: imports no kbert module.
"""

import keras
import numpy as np

IGNORE_INDEX = -100
"""Target of positions left out of losses and metrics (sub-word pieces, specials, padding)."""


# ------------------------------------------------------------------ Keras metrics and losses


@keras.saving.register_keras_serializable(package="kbert")
class MaskedAccuracy(keras.metrics.Mean):
    """Accuracy over the positions whose target is not IGNORE_INDEX.

    Example:
    >>> m = MaskedAccuracy()
    >>> m.update_state([[1, -100]], [[[0.0, 1.0], [1.0, 0.0]]])
    >>> float(m.result())
    1.0
    """

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = keras.ops.cast(y_true, "int32")
        keep = keras.ops.cast(keras.ops.not_equal(y_true, IGNORE_INDEX), "float32")
        pred = keras.ops.cast(keras.ops.argmax(y_pred, axis=-1), "int32")
        correct = keras.ops.cast(keras.ops.equal(pred, y_true), "float32")
        return super().update_state(correct, sample_weight=keep)


@keras.saving.register_keras_serializable(package="kbert")
def span_loss(y_true, y_pred):
    """Mean of the start and end cross-entropies. y_true [batch, 2]; y_pred [batch, pieces, 2]."""
    y_true = keras.ops.cast(y_true, "int32")
    start = keras.losses.sparse_categorical_crossentropy(y_true[:, 0], y_pred[:, :, 0], from_logits=True)
    end = keras.losses.sparse_categorical_crossentropy(y_true[:, 1], y_pred[:, :, 1], from_logits=True)
    return 0.5 * (start + end)


@keras.saving.register_keras_serializable(package="kbert")
class SpanAccuracy(keras.metrics.Mean):
    """Share of windows whose start and end pieces are both predicted exactly."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = keras.ops.cast(y_true, "int32")
        pred = keras.ops.cast(keras.ops.argmax(y_pred, axis=1), "int32")  # [batch, 2]
        both = keras.ops.all(keras.ops.equal(pred, y_true), axis=-1)
        return super().update_state(keras.ops.cast(both, "float32"), sample_weight=sample_weight)


# ------------------------------------------------------------------ numpy, per example


def softmax(logits, axis=-1):
    """A numerically stable softmax in float64, returned as float32."""
    z = np.asarray(logits, dtype="float64")
    z = np.exp(z - z.max(axis=axis, keepdims=True))
    return (z / z.sum(axis=axis, keepdims=True)).astype("float32")


def sigmoid(logits):
    return (1.0 / (1.0 + np.exp(-np.asarray(logits, dtype="float64")))).astype("float32")


def _logsumexp(z, axis=-1):
    m = z.max(axis=axis, keepdims=True)
    return np.log(np.exp(z - m).sum(axis=axis)) + np.squeeze(m, axis)


def softmax_cross_entropy(logits, labels):
    """Per-row cross-entropy of integer labels: logits [rows, classes], labels [rows]."""
    z = np.asarray(logits, dtype="float64")
    labels = np.asarray(labels).astype(int)
    return _logsumexp(z) - z[np.arange(len(labels)), labels]


def sigmoid_cross_entropy(logits, targets):
    """Per-row mean binary cross-entropy (multi-label): logits and 0/1 targets [rows, labels]."""
    z, y = np.asarray(logits, dtype="float64"), np.asarray(targets, dtype="float64")
    return (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean(axis=-1)


def squared_error(outputs, targets):
    """Per-row mean squared error (regression)."""
    return ((np.asarray(outputs, dtype="float64") - np.asarray(targets, dtype="float64")) ** 2).mean(axis=-1)


def masked_cross_entropy(logits_rows, target_rows):
    """Per-example mean cross-entropy over the positions whose target is not IGNORE_INDEX
    (token classification); 0 for an example with no such position."""
    losses = []
    for logits, t in zip(logits_rows, target_rows):
        t = np.asarray(t)[: len(logits)]
        keep = t != IGNORE_INDEX
        losses.append(float(softmax_cross_entropy(np.asarray(logits)[keep], t[keep]).mean()) if keep.any() else 0.0)
    return np.asarray(losses)


def span_cross_entropy(logits_rows, target_rows):
    """Per-window mean of the start and end cross-entropies: logits [pieces, 2], targets (start, end)."""
    out = []
    for logits, t in zip(logits_rows, target_rows):
        z = np.asarray(logits, "float64").T  # [2, pieces]
        out.append(float(softmax_cross_entropy(z, [t[0], t[1]]).mean()))
    return np.asarray(out)
