"""Layers of the document model (long documents read in windows): the windows of a batch of
documents flattened for the encoder, and the windows' pooled vectors pooled per document.

    token_ids [docs, windows, pieces] ─ FlattenWindows ─► [docs·windows, pieces] ─ encoder ─►
    pooled [docs·windows, hidden] ─ UnflattenWindows ─► [docs, windows, hidden] ─ WindowPooling ─►
    [docs, hidden] ─ dense head ─► logits [docs, outputs]

Empty windows (a batch pads every document to its longest one's windows) have an all-zero
padding mask and are left out of the pooling.
"""

import keras
from keras import ops

NEG = -1e9


@keras.saving.register_keras_serializable(package="kbert")
class FlattenWindows(keras.layers.Layer):
    """[docs, windows, pieces] → [docs·windows, pieces]."""

    def call(self, x):
        return ops.reshape(x, (-1, ops.shape(x)[-1]))

    def compute_output_shape(self, shape):
        return (None, shape[-1])


@keras.saving.register_keras_serializable(package="kbert")
class UnflattenWindows(keras.layers.Layer):
    """([docs·windows, hidden] vectors, [docs, windows, pieces] ids) → [docs, windows, hidden]."""

    def call(self, vectors, reference):
        shape = ops.shape(reference)
        return ops.reshape(vectors, (shape[0], shape[1], ops.shape(vectors)[-1]))

    def compute_output_shape(self, vectors_shape, reference_shape):
        return (reference_shape[0], reference_shape[1], vectors_shape[-1])


@keras.saving.register_keras_serializable(package="kbert")
class WindowPooling(keras.layers.Layer):
    """Pools a document's window vectors into one vector, empty windows left out.

    Args:
        mode: "mean" (the average of the windows' vectors), "max" (per feature, the largest
            over the windows) or "attention" (a learned weighting: score_w = v·tanh(W x_w),
            softmax over the document's windows, the weighted sum of the windows' vectors).

    Call args:
        vectors: [docs, windows, hidden]; padding_mask: [docs, windows, pieces].

    Example:
    >>> # WindowPooling("attention")(window_vectors, padding_mask) → [docs, hidden]
    """

    def __init__(self, mode="mean", **kwargs):
        kwargs.setdefault("dtype", "float32")  # a stable softmax under mixed precision
        super().__init__(**kwargs)
        if mode not in ("mean", "max", "attention"):
            raise ValueError(f"WindowPooling mode must be 'mean', 'max' or 'attention', got {mode!r}.")
        self.mode = mode

    def build(self, vectors_shape, padding_mask_shape=None):
        if self.mode == "attention":
            hidden = vectors_shape[-1]
            self.projection = keras.layers.Dense(hidden, activation="tanh", name="projection", dtype=self.dtype_policy)
            self.projection.build(vectors_shape)
            self.score = keras.layers.Dense(1, use_bias=False, name="score", dtype=self.dtype_policy)
            self.score.build(tuple(vectors_shape[:-1]) + (hidden,))
        self.built = True

    def window_mask(self, padding_mask):
        """[docs, windows] float: 1 for a window with pieces, 0 for a padded one."""
        return ops.cast(ops.max(ops.cast(padding_mask, "int32"), axis=-1) > 0, self.compute_dtype)

    def weights_of(self, vectors, padding_mask):
        """Each window's weight in its document's vector: [docs, windows] (rows sum to 1;
        for "max" the share of features each window supplied)."""
        mask = self.window_mask(padding_mask)
        if self.mode == "attention":
            scores = ops.squeeze(self.score(self.projection(vectors)), -1)
            return ops.softmax(ops.where(mask > 0, scores, NEG), axis=-1) * mask
        return mask / ops.maximum(ops.sum(mask, axis=-1, keepdims=True), 1.0)

    def call(self, vectors, padding_mask):
        mask = self.window_mask(padding_mask)
        if self.mode == "max":
            return ops.max(ops.where(mask[..., None] > 0, vectors, NEG), axis=1)
        weights = self.weights_of(vectors, padding_mask)
        return ops.sum(vectors * weights[..., None], axis=1)

    def compute_output_shape(self, vectors_shape, padding_mask_shape=None):
        return (vectors_shape[0], vectors_shape[-1])

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
