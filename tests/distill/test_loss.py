"""The distillation loss equals a numpy computation on fixed logits: KL at temperature T,
the T² scale, and the alpha mix with the task's loss, for every kind of output."""

import numpy as np
import pytest

from kbert import distill
from kbert.metrics import IGNORE_INDEX

RNG = np.random.default_rng(0)
T = 2.0


def np_softmax(z, axis=-1):
    z = np.exp(z - z.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)


def np_kl(t, s, axis=-1):
    p, q = np_softmax(t / T, axis), np_softmax(s / T, axis)
    return (p * (np.log(p) - np.log(q))).sum(axis=axis)


def logits(*shape):
    return RNG.normal(size=shape) * 3


def test_multiclass_is_t_squared_kl():
    t, s = logits(5, 4), logits(5, 4)
    want = T * T * np_kl(t, s).mean()
    assert float(distill.soft_loss("classes", t, s, T)) == pytest.approx(want, rel=1e-5)
    assert float(distill.soft_loss("classes", t, t, T)) == pytest.approx(0.0, abs=1e-6)


def test_multilabel_is_bernoulli_kl_of_sigmoids():
    t, s = logits(5, 3), logits(5, 3)
    p, q = 1 / (1 + np.exp(-t / T)), 1 / (1 + np.exp(-s / T))
    want = T * T * (p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))).mean()
    assert float(distill.soft_loss("labels", t, s, T)) == pytest.approx(want, rel=1e-5)


def test_regression_is_mse_to_the_teacher():
    t, s = logits(6, 1), logits(6, 1)
    assert float(distill.soft_loss("values", t, s, T)) == pytest.approx(((t - s) ** 2).mean(), rel=1e-5)


def test_ner_averages_over_the_positions_the_task_keeps():
    t, s = logits(2, 5, 3), logits(2, 5, 3)
    y = np.array([[IGNORE_INDEX, 1, IGNORE_INDEX, 0, IGNORE_INDEX], [IGNORE_INDEX, 2, IGNORE_INDEX, -100, -100]])
    keep = y != IGNORE_INDEX
    want = T * T * np_kl(t, s)[keep].mean()
    assert float(distill.soft_loss("tokens", t, s, T, y)) == pytest.approx(want, rel=1e-5)
    # ignored positions do not count, whatever their logits
    s2 = s.copy()
    s2[~keep] = 50.0
    assert float(distill.soft_loss("tokens", t, s2, T, y)) == pytest.approx(want, rel=1e-5)


def test_qa_is_the_mean_of_start_and_end_kl_over_pieces():
    t, s = logits(3, 7, 2), logits(3, 7, 2)
    t[:, 5:] = s[:, 5:] = -1e9  # padding, as SpanLogits gives it
    want = T * T * np_kl(t[:, :5], s[:, :5], axis=1).mean()  # padding has no probability
    assert float(distill.soft_loss("spans", t, s, T)) == pytest.approx(want, rel=1e-5)


def test_hidden_distance_is_masked_cosine_distance():
    t, s = logits(2, 4, 6), logits(2, 4, 6)
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]])
    cos = (t * s).sum(-1) / np.linalg.norm(t, axis=-1) / np.linalg.norm(s, axis=-1)
    want = (1 - cos)[mask == 1].mean()
    assert float(distill.hidden_distance(t, s, mask)) == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("kwargs, message", [({"temperature": 0}, "temperature"), ({"alpha": 1.5}, "alpha"),
                                             ({"hidden_loss": -1}, "hidden_loss"), ({"alpha": float("nan")}, "alpha")])
def test_bad_mix_is_refused(kwargs, message):
    from kbert.distill.loss import check_mix

    args = {"temperature": 2.0, "alpha": 0.5, "hidden_loss": 0.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        check_mix(**args)
