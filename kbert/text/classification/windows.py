"""Long documents: a text's word pieces split into overlapping windows of `maxlen` pieces.

Each window holds up to `maxlen - 2` of the text's pieces between the family's start and
end pieces (`[CLS] … [SEP]`, `<s> … </s>`); consecutive windows share `stride` pieces, so
every piece is read, and a piece near a window's edge is also read with context in the
next window. The windows of a document are pooled into one prediction by the document
model (kbert.text.classification.pooling).

    starts(10, content=4, stride=1) → [0, 3, 6]   (pieces 0-3, 3-6, 6-9)
"""

import numpy as np

LONG_DOCUMENT_MODES = ("truncate", "windows")
POOLING_MODES = ("mean", "max", "attention")
DEFAULT_MAX_WINDOWS = 8


def default_stride(maxlen):
    """maxlen // 4: a quarter of each window is shared with the next (HF's QA recipes share
    128 of 384; a fixed 128 would not fit a small maxlen)."""
    return maxlen // 4


def check_options(long_document, maxlen, stride, max_windows, pooling):
    """Checks the long-document options; returns the stride (its default filled in)."""
    if long_document not in LONG_DOCUMENT_MODES:
        raise ValueError(f"long_document must be one of {LONG_DOCUMENT_MODES}, got {long_document!r}.")
    if pooling not in POOLING_MODES:
        raise ValueError(f"pooling must be one of {POOLING_MODES}, got {pooling!r}.")
    stride = default_stride(maxlen) if stride is None else stride
    content = maxlen - 2
    if not isinstance(stride, (int, np.integer)) or not 0 <= stride < content:
        raise ValueError(f"stride (pieces shared by consecutive windows) must be an integer in [0, {content}) "
                         f"for maxlen={maxlen} (a window holds maxlen - 2 = {content} of the text's pieces), "
                         f"got {stride!r}.")
    if max_windows is not None and (not isinstance(max_windows, (int, np.integer)) or max_windows < 1):
        raise ValueError(f"max_windows must be a positive integer or None (no cap), got {max_windows!r}.")
    return int(stride)


def starts(n, content, stride):
    """Where each window of a text of `n` pieces starts (windows of `content` pieces, each
    sharing `stride` pieces with the next). One window for a text that fits (or is empty)."""
    step = content - stride
    return list(range(0, max(n - stride, 1), step))


def split_windows(pieces, maxlen, stride, max_windows, start_id, end_id):
    """Texts' word pieces → packed windows.

    Args:
        pieces: one sequence of piece ids per text.
        maxlen: pieces per window, start and end pieces included.
        stride: pieces shared by consecutive windows.
        max_windows: the most windows kept per text (its first ones); None: all.
        start_id, end_id: the family's start and end piece ids.

    Returns:
        (flat ids np.int32, windows per text, pieces per window, windows before the cap per text).

    Example:
    >>> ids, per_text, lengths, full = split_windows([[7, 8, 9, 10, 11]], 5, 1, None, 1, 2)
    >>> ids.tolist(), per_text.tolist(), lengths.tolist()
    ([1, 7, 8, 9, 2, 1, 9, 10, 11, 2], [2], [5, 5])
    """
    content = maxlen - 2
    chunks, per_text, full = [], [], []
    start, end = np.array([start_id], np.int32), np.array([end_id], np.int32)
    for text in pieces:
        text = np.asarray(text, np.int32)
        at = starts(len(text), content, stride)
        full.append(len(at))
        if max_windows is not None:
            at = at[:max_windows]
        per_text.append(len(at))
        for s in at:
            chunks.append(np.concatenate([start, text[s:s + content], end]))
    lengths = np.array([len(c) for c in chunks], np.int64)
    ids = np.concatenate(chunks) if chunks else np.zeros([0], np.int32)
    return ids, np.array(per_text, np.int64), lengths, np.array(full, np.int64)


def window_stats(per_text, full):
    """Windows per text: min / mean / max, texts read in more than one window, texts cut by max_windows."""
    if len(per_text) == 0:
        return {"windows_min": 0, "windows_mean": 0.0, "windows_max": 0, "windowed": 0, "capped": 0,
                "windows_dropped": 0}
    return {"windows_min": int(per_text.min()), "windows_mean": float(per_text.mean()),
            "windows_max": int(per_text.max()), "windowed": int((per_text > 1).sum()),
            "capped": int((full > per_text).sum()), "windows_dropped": int((full - per_text).sum())}


def merge_windows(windows, stride):
    """The pieces of a text's windows (start/end pieces already removed) read once: each
    window after the first repeats the previous one's last `stride` pieces."""
    merged = []
    for i, w in enumerate(windows):
        merged.extend(list(w) if i == 0 else list(w)[stride:])
    return merged


class WindowBatches:
    """Mixin for a TaskData whose features are [texts, (windows), (pieces)]: each batch is
    padded to its longest window (pieces, rounded up to the model's multiple) and to its
    document with the most windows; the padding mask is 0 on padded pieces and on padded
    windows. Fixed shapes (TPUs): maxlen pieces, windows from a few buckets."""

    def bucket_lengths(self):
        """Window counts a fixed-shape batch may take: powers of two, then the most windows."""
        most = int(self.lengths.max()) if len(self) else 1
        sizes, n = [], 1
        while n < most:
            sizes.append(n)
            n *= 2
        return sizes + [most]

    def _pad(self, el, fixed_length=None, pad_multiple=8, buckets=None):
        import tensorflow as tf

        ids = el["token_ids"]
        windows = ids.row_lengths()
        pieces = ids.values.row_lengths()
        if buckets is not None:
            sizes = tf.constant(buckets, dtype=windows.dtype)
            n_windows = tf.gather(sizes, tf.argmax(tf.cast(sizes >= tf.reduce_max(windows), tf.int32)))
            width = tf.constant(self.preprocessor.maxlen, dtype=windows.dtype)
        else:
            n_windows = tf.reduce_max(windows)
            width = (tf.constant(fixed_length, dtype=windows.dtype) if fixed_length is not None
                     else (tf.reduce_max(pieces) + pad_multiple - 1) // pad_multiple * pad_multiple)
        shape = tf.stack([tf.shape(windows, out_type=windows.dtype)[0], n_windows, width])
        x = {name: value.to_tensor(default_value=self.pad_values.get(name, 0), shape=shape)
             for name, value in el.items() if name != "__target__"}
        x["padding_mask"] = ids.with_flat_values(tf.ones_like(ids.flat_values, tf.int32)).to_tensor(0, shape=shape)
        return x if "__target__" not in el else (x, el["__target__"])
