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
    """Span cross-entropy, marginal over the window's gold spans.

    y_true [batch, 2 * spans]: (start, end) piece pairs, [s0, e0, s1, e1, ...], -1 past a
    window's last span; y_pred [batch, pieces, 2] start/end logits. The loss is
    −½·log Σ_k p(start = s_k)·p(end = e_k): with one span, the mean of the start and end
    cross-entropies; with several (SQuAD's annotators often mark "the Broncos" and "Broncos"),
    the model is rewarded for any gold span, which is what SQuAD's max-over-answers F1 scores.

    Example:
    >>> logits = np.log([[[0.5, 0.25], [0.5, 0.75]]])   # two pieces; start and end columns
    >>> round(float(span_loss([[1, 1]], logits)[0]), 4)  # −½·log(0.5 · 0.75)
    0.4904
    >>> round(float(span_loss([[1, 1, 0, 0]], logits)[0]), 4)  # −½·log(0.5·0.75 + 0.5·0.25)
    0.3466
    """
    y_true = keras.ops.cast(y_true, "int32")
    y_pred = keras.ops.cast(y_pred, "float32")
    starts, ends = y_true[:, 0::2], y_true[:, 1::2]  # [batch, spans]
    valid = keras.ops.greater_equal(starts, 0)
    log_p = y_pred - keras.ops.logsumexp(y_pred, axis=1, keepdims=True)  # [batch, pieces, 2]
    pick_s = keras.ops.take_along_axis(log_p[:, :, 0], keras.ops.maximum(starts, 0), axis=1)
    pick_e = keras.ops.take_along_axis(log_p[:, :, 1], keras.ops.maximum(ends, 0), axis=1)
    joint = keras.ops.where(valid, pick_s + pick_e, -1e9)
    return -0.5 * keras.ops.logsumexp(joint, axis=1)


@keras.saving.register_keras_serializable(package="kbert")
class SpanAccuracy(keras.metrics.Mean):
    """Share of windows whose predicted start and end pieces are both those of a gold span
    (targets as span_loss's: [s0, e0, s1, e1, ...], -1 padded)."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = keras.ops.cast(y_true, "int32")
        pred = keras.ops.cast(keras.ops.argmax(y_pred, axis=1), "int32")  # [batch, 2]
        hit = keras.ops.logical_and(keras.ops.equal(y_true[:, 0::2], pred[:, :1]),
                                    keras.ops.equal(y_true[:, 1::2], pred[:, 1:]))
        return super().update_state(keras.ops.cast(keras.ops.any(hit, axis=-1), "float32"),
                                    sample_weight=sample_weight)


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
    """Per-window span_loss in numpy: logits [pieces, 2], targets (s0, e0[, s1, e1, ...], -1 padded)."""
    out = []
    for logits, t in zip(logits_rows, target_rows):
        z = np.asarray(logits, "float64")  # [pieces, 2]
        log_p = z - _logsumexp(z.T)[None, :]
        t = np.asarray(t).astype(int)
        keep = t[0::2] >= 0
        joint = log_p[t[0::2][keep], 0] + log_p[t[1::2][keep], 1]
        out.append(float(-0.5 * _logsumexp(joint[None, :])[0]))
    return np.asarray(out)
