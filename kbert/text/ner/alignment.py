"""Word ↔ piece alignment for token classification: each word's pieces, and the windows a
sentence longer than maxlen is read in.

Every word is tagged from the window where it has the most context on both sides, so
every word gets exactly one tag back.
"""

import tensorflow as tf

TOKENIZE_BATCH = 4096


def word_pieces(tokenizer, words, stats=None):
    """Word pieces of each word (a flat list of words → list of id lists); a word with no
    pieces (empty, spaces or control characters only) gets [UNK], so every word can be
    tagged; such words are counted in stats["empty_words"] when `stats` is given."""
    if not words:
        return []
    ds = tf.data.Dataset.from_tensor_slices(tf.constant(words, dtype=tf.string)).batch(TOKENIZE_BATCH)
    out = []
    for batch in ds.map(tokenizer):
        out.extend(batch.to_list())
    unk = tokenizer.token_to_id(tokenizer.oov_token) if hasattr(tokenizer, "oov_token") else 100
    if stats is not None:
        stats["empty_words"] = stats.get("empty_words", 0) + sum(not p for p in out)
    return [p if p else [unk] for p in out]


def windows(n_pieces, budget, stride):
    """Split a sentence's words into windows of at most `budget` pieces.

    Args:
        n_pieces: pieces per word.
        budget: pieces a window may hold (maxlen minus the special tokens).
        stride: words shared by consecutive windows.

    Returns:
        [(start, end, own_start, own_end)]: the window holds words start..end-1 and is the
        one that tags words own_start..own_end-1 (the words nearer its middle than any
        other window's).

    Example:
    >>> windows([1, 1, 1, 1], budget=8, stride=1)
    [(0, 4, 0, 4)]
    >>> windows([1, 1, 1, 1], budget=2, stride=1)
    [(0, 2, 0, 2), (1, 3, 2, 3), (2, 4, 3, 4)]
    """
    n = len(n_pieces)
    if sum(n_pieces) <= budget:
        return [(0, n, 0, n)]
    spans, start = [], 0
    while True:
        end, used = start, 0
        while end < n and used + n_pieces[end] <= budget:
            used += n_pieces[end]
            end += 1
        end = max(end, start + 1)  # a single over-long word still gets a window (its pieces cut)
        spans.append((start, end))
        if end >= n:
            break
        start = max(start + 1, end - stride)
    owned = []
    for i, (s, e) in enumerate(spans):
        own_s = s if i == 0 else (spans[i - 1][1] + s + 1) // 2
        own_e = e if i == len(spans) - 1 else (e + spans[i + 1][0] + 1) // 2
        owned.append((s, e, own_s, own_e))
    return owned


def word_outputs(outputs, rows, sentences):
    """Per-window piece outputs → one output row per word of each sentence.

    rows: one dict per window with "sentence", "word_ids" (the word of each piece, -1 for
    pieces that are not a word's first) and "own_start"/"own_end" (the words it tags).
    """
    result = [[None] * len(s) for s in sentences]
    for out, row in zip(outputs, rows):
        word_ids = row["word_ids"][: len(out)]
        for p, wi in enumerate(word_ids):
            if wi >= 0 and row["own_start"] <= wi < row["own_end"]:
                result[row["sentence"]][wi] = out[p]
    return result
