"""The numpy per-example losses equal the Keras losses the models train with."""

import keras
import numpy as np

from kbert import metrics as M

rng = np.random.default_rng(0)


def test_softmax_cross_entropy_equals_keras():
    logits = rng.normal(size=(7, 5)).astype("float32")
    labels = rng.integers(0, 5, size=7)
    expected = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    np.testing.assert_allclose(M.softmax_cross_entropy(logits, labels), np.asarray(expected), atol=1e-5)
    np.testing.assert_allclose(M.softmax(logits).sum(-1), 1.0, atol=1e-6)


def test_sigmoid_cross_entropy_and_squared_error_equal_keras():
    logits = rng.normal(size=(6, 3)).astype("float32")
    y = rng.integers(0, 2, size=(6, 3)).astype("float32")
    expected = keras.losses.binary_crossentropy(y, logits, from_logits=True)
    np.testing.assert_allclose(M.sigmoid_cross_entropy(logits, y), np.asarray(expected), atol=1e-5)
    np.testing.assert_allclose(M.squared_error(logits, y), np.asarray(keras.losses.mean_squared_error(y, logits)),
                               atol=1e-6)


def test_masked_cross_entropy_ignores_positions_and_equals_keras_on_the_rest():
    logits = rng.normal(size=(2, 4, 3)).astype("float32")
    targets = np.array([[M.IGNORE_INDEX, 1, M.IGNORE_INDEX, 2], [M.IGNORE_INDEX] * 4])
    losses = M.masked_cross_entropy(list(logits), list(targets))
    keep = targets[0] != M.IGNORE_INDEX
    expected = keras.losses.sparse_categorical_crossentropy(targets[0][keep], logits[0][keep], from_logits=True)
    np.testing.assert_allclose(losses[0], float(np.mean(expected)), atol=1e-5)
    assert losses[1] == 0.0  # nothing to score
    acc = M.MaskedAccuracy()
    acc.update_state(targets, np.eye(3)[np.array([[0, 1, 0, 0], [1, 1, 1, 1]])])
    assert float(acc.result()) == 0.5  # 1 of the 2 scored positions


def test_span_cross_entropy_equals_the_span_loss():
    logits = rng.normal(size=(3, 6, 2)).astype("float32")
    targets = np.array([[1, 2], [0, 0], [5, 3]])
    expected = np.asarray(M.span_loss(targets, logits))
    np.testing.assert_allclose(M.span_cross_entropy(list(logits), list(targets)), expected, atol=1e-5)
    acc = M.SpanAccuracy()
    acc.update_state(targets, np.stack([np.eye(6)[targets[:, 0]], np.eye(6)[[2, 1, 3]]], axis=-1))
    assert abs(float(acc.result()) - 2 / 3) < 1e-6


def test_span_loss_is_the_marginal_over_gold_spans():
    logits = rng.normal(size=(2, 5, 2)).astype("float32")
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    targets = np.array([[1, 3, 2, 2, 1, 3], [4, 4, -1, -1, -1, -1]])  # pairs as given, -1 padded
    got = np.asarray(M.span_loss(targets, logits))
    pairs0 = [(1, 3), (2, 2), (1, 3)]
    expected0 = -0.5 * np.log(sum(np.exp(log_p[0, s, 0] + log_p[0, e, 1]) for s, e in pairs0))
    expected1 = -0.5 * (log_p[1, 4, 0] + log_p[1, 4, 1])  # padding (-1) left out: plain cross-entropy
    np.testing.assert_allclose(got, [expected0, expected1], rtol=1e-5)
    np.testing.assert_allclose(M.span_cross_entropy(list(logits), list(targets)), got, rtol=1e-5)
    # a second gold span can only lower the loss
    assert got[0] < np.asarray(M.span_loss(targets[:1, :2], logits[:1]))[0]
    acc = M.SpanAccuracy()  # predicted (2, 2) is the first window's second gold span; (4, 0) is no span
    acc.update_state(targets, np.stack([np.eye(5)[[2, 4]], np.eye(5)[[2, 0]]], axis=-1))
    assert float(acc.result()) == 0.5
