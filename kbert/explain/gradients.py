"""Integrated gradients (Sundararajan et al. 2017) on the token embeddings of a kbert model.

The exact route that changes nothing in the model: while explaining, the encoder's token
embedding layer returns b + α·(e − b) instead of e (b: the baseline, the zero vector or the
[PAD] embedding), with one factor α per piece. Then ∂F/∂α_i = Σ_d (e_id − b_d)·∂F/∂x_id, so
the mean of ∂F/∂α_i over α_i = (k + ½)/m, k < m, is the integrated gradient of piece i
summed over its embedding dimensions (midpoint rule). Completeness: the attributions add up
to F(x) − F(baseline), up to the m-step quadrature error (reported as `completeness_gap`;
m doubles until it is under 5 %, up to 800 steps).
Special pieces ([CLS], [SEP], a pair's second text) keep α = 1: only the explained words move.

The layer's `call` is swapped on the instance and restored in `finally`, so the model is the
same before and after; do not predict with it from another thread while it is explained.
"""

import contextlib

import numpy as np
import tensorflow as tf

from kbert import models


def find_backbone(model):
    """The keras-hub backbone inside a kbert task model."""
    backbone = models.find_backbone(model)
    if backbone is not None:
        return backbone
    raise ValueError(f"Model {model.name!r} has no keras-hub backbone; gradients explain kbert's encoder models.")


@contextlib.contextmanager
def scaled_embeddings(layer, scale):
    """Within the block, `layer`'s forward output e becomes scale(e) (reverse calls untouched)."""
    original = layer.call

    def call(inputs, *args, **kwargs):
        out = original(inputs, *args, **kwargs)
        if args or kwargs.get("reverse"):
            return out
        return scale(out)

    layer.__dict__["call"] = call
    try:
        yield
    finally:
        layer.__dict__.pop("call", None)


def integrated_gradients(model, inputs, moving, score, steps=50, baseline="zero", pad_id=0, batch_size=32,
                         tolerance=0.05, max_steps=800):
    """Integrated gradients of score(model outputs) per piece of one input row.

    Args:
        model: a kbert task model (a keras-hub backbone inside).
        inputs: the model's inputs for one row: {"token_ids", "segment_ids", "padding_mask", …},
            arrays of shape [1, pieces].
        moving: a bool array [pieces]: the pieces whose embeddings go from the baseline to their own.
        score: a function model outputs (batch of the row repeated) → a [batch] float tensor.
        steps: interpolation steps m (midpoint rule), doubled while the completeness gap
            exceeds `tolerance` and 2m ≤ `max_steps`.
        baseline: "zero" (the zero vector) or "pad" (the [PAD] piece's embedding).
        pad_id: the [PAD] piece id, for baseline="pad".
        batch_size: interpolated rows per model call.

    Returns:
        (attributions [pieces] float64, score at the input, score at the baseline, steps used).
    """
    if baseline not in ("zero", "pad"):
        raise ValueError(f"baseline must be 'zero' or 'pad', got {baseline!r}.")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a whole number ≥ 1, got {steps!r}.")
    layer = find_backbone(model).token_embedding
    moving = np.asarray(moving, dtype=bool)
    base = None if baseline == "zero" else layer(tf.constant([[pad_id]], dtype="int32"))
    state = {}

    def scale(e):
        alpha = tf.cast(state["alpha"], e.dtype)[..., None]
        if base is None:
            return alpha * e
        b = tf.cast(base, e.dtype)
        return b + alpha * (e - b)

    def run(alpha):
        """score and ∂score/∂alpha for rows alpha [b, pieces]."""
        alpha = tf.constant(alpha, dtype="float32")
        feed = {k: tf.repeat(tf.constant(v), alpha.shape[0], axis=0) for k, v in inputs.items()}
        with tf.GradientTape() as tape:
            tape.watch(alpha)
            state["alpha"] = alpha
            out = score(model(feed, training=False))
        return out.numpy().astype("float64"), tape.gradient(out, alpha).numpy().astype("float64")

    fixed = (~moving).astype("float32")
    with scaled_embeddings(layer, scale):
        ends, _ = run(np.stack([np.ones_like(fixed), fixed]))
        n = steps
        while True:
            total = np.zeros(len(moving))
            alphas = (np.arange(n, dtype="float32") + 0.5) / n
            for start in range(0, n, batch_size):
                rows = fixed[None] + alphas[start:start + batch_size, None] * moving[None].astype("float32")
                total += run(rows)[1].sum(axis=0)
            attributions = np.where(moving, total / n, 0.0)
            # the path can bend sharply (near the baseline the LayerNorm after the embeddings
            # rescales fast): more steps until the attributions add up to F(x) − F(baseline)
            if n * 2 > max_steps or completeness(attributions, ends[0], ends[1]) <= tolerance:
                break
            n *= 2
    return attributions, float(ends[0]), float(ends[1]), n


def word_attributions(piece_attributions, piece_words, n_words):
    """Sums the attributions of each word's pieces (piece_words: the word index per piece, -1 for none)."""
    out = np.zeros(n_words)
    for a, w in zip(piece_attributions, piece_words):
        if w >= 0:
            out[w] += a
    return out


def completeness(attributions, at_input, at_baseline):
    """|Σ attributions − (F(x) − F(b))| relative to |F(x) − F(b)| (0 = exact)."""
    delta = at_input - at_baseline
    return float(abs(np.sum(attributions) - delta) / max(abs(delta), 1e-12))


