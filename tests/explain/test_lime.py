import numpy as np
import pytest

from kbert.explain.lime import kernel_weights, lime_weights, sample_masks
from kbert.explain.words import split_words


def test_masks_keep_the_text_first_and_leave_out_at_least_one_word():
    masks = sample_masks(5, 200, np.random.default_rng(0))
    assert masks[0].tolist() == [1] * 5
    assert (masks[1:].sum(axis=1) <= 4).all() and (masks[1:].sum(axis=1) >= 1).all()
    w = kernel_weights(masks)
    assert w[0] == pytest.approx(1.0) and (w[1:] < 1).all()


def test_a_linear_scorer_is_recovered_and_seeded():
    text = "alpha beta gamma delta"
    spans = split_words(text)
    value = {"alpha": 0.5, "beta": -0.3, "gamma": 0.0, "delta": 0.1}

    def score(texts):
        return np.array([sum(value[w] for w in t.split()) for t in texts])

    w, info = lime_weights(score, text, spans, n_samples=300, seed=3)
    np.testing.assert_allclose(w, [0.5, -0.3, 0.0, 0.1], atol=0.03)  # ridge shrinks a little
    assert info["score"] > 0.95 and info["distinct_texts"] <= 16
    np.testing.assert_array_equal(lime_weights(score, text, spans, n_samples=300, seed=3)[0], w)
    with pytest.raises(ValueError, match="n_samples"):
        lime_weights(score, text, spans, n_samples=1)
