"""LIME for texts (Ribeiro et al. 2016), compact: leave out random subsets of words, ask the
model, and fit a weighted linear model of its output on which words were kept.

As lime's LimeTextExplainer: the first sample is the text itself; each other sample leaves out
k random words, k uniform in 1..d-1 (d words); a sample's weight is the exponential kernel
exp(-D²/σ²) of its cosine distance D = 100·(1 − cos(kept, all)), σ = 25; the surrogate is
scikit-learn's Ridge(alpha=1). Unlike lime's default (bow=True) each occurrence of a word is
its own feature, so repeated words get weights of their own.
"""

import numpy as np

from kbert.explain.words import without_words

KERNEL_WIDTH = 25.0


def sample_masks(n_words, n_samples, rng):
    """[n_samples, n_words] 0/1 rows: the first all ones, each other leaving out k ≥ 1 words."""
    masks = np.ones((n_samples, n_words), dtype="int8")
    if n_words == 0:
        return masks
    for row in masks[1:]:
        k = rng.integers(1, n_words) if n_words > 1 else 1
        row[rng.choice(n_words, size=k, replace=False)] = 0
    return masks


def kernel_weights(masks):
    """exp(-D²/σ²), D the cosine distance (×100) of each row from the all-ones row."""
    kept = masks.sum(axis=1).astype("float64")
    cosine = kept / np.sqrt(np.maximum(kept, 1e-12) * masks.shape[1])
    distance = 100.0 * (1.0 - np.where(kept > 0, cosine, 0.0))
    return np.exp(-(distance ** 2) / KERNEL_WIDTH ** 2)


def lime_weights(score_texts, text, spans, n_samples=500, seed=0, keep=None, render=None):
    """LIME weights of the words of `text`.

    Args:
        score_texts: a function list of texts → a float array, the explained output per text
            (a class's probability, or a regression value).
        text: the text.
        spans: its words, [(word, start, end), ...].
        n_samples: perturbed texts, the text itself included (each distinct one is scored once).
        seed: the sampling's seed.
        keep: optional bool per word: words never left out (an explained entity or answer);
            their weight is 0.
        render: optional function (0/1 mask over all words) → the hashable input score_texts
            takes; default the text without the left-out words.

    Returns:
        (weights [n_words], info {"score": the surrogate's weighted R², "intercept",
        "n_samples", "distinct_texts"}).
    """
    from sklearn.linear_model import Ridge

    if int(n_samples) < 2:
        raise ValueError(f"n_samples must be at least 2 (the text and one perturbation), got {n_samples!r}.")
    if not spans:
        return np.zeros(0), {"score": 1.0, "intercept": float(np.asarray(score_texts([text])).reshape(-1)[0]),
                             "n_samples": 1, "distinct_texts": 1}
    rng = np.random.default_rng(seed)
    free = np.ones(len(spans), bool) if keep is None else ~np.asarray(keep, bool)
    if not free.any():
        return np.zeros(len(spans)), {"score": 1.0, "intercept": float(np.asarray(score_texts(
            [text if render is None else render(np.ones(len(spans), "int8"))])).reshape(-1)[0]),
            "n_samples": 1, "distinct_texts": 1}
    masks = np.ones((int(n_samples), len(spans)), dtype="int8")
    masks[:, free] = sample_masks(int(free.sum()), int(n_samples), rng)
    render = render or (lambda m: without_words(text, spans, m))
    texts = [render(m) for m in masks]
    distinct = list(dict.fromkeys(texts))
    scores = np.asarray(score_texts(distinct), dtype="float64").reshape(-1)
    lookup = dict(zip(distinct, scores))
    y = np.array([lookup[t] for t in texts])
    weights = kernel_weights(masks[:, free])
    ridge = Ridge(alpha=1.0, fit_intercept=True, random_state=seed)
    x = masks[:, free]
    ridge.fit(x, y, sample_weight=weights)
    info = {"score": float(ridge.score(x, y, sample_weight=weights)), "intercept": float(ridge.intercept_),
            "n_samples": int(n_samples), "distinct_texts": len(distinct)}
    coef = np.zeros(len(spans))
    coef[free] = ridge.coef_
    return coef, info
