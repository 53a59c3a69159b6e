"""Word ↔ piece alignment for token classification: each word's pieces, and the windows a
sentence longer than maxlen is read in.

Every word is tagged from the window where it has the most context on both sides, so
every word gets exactly one tag back.
"""

import tensorflow as tf

from kbert.families import special_ids
from kbert.pieces import style_of, word_input

TOKENIZE_BATCH = 4096


def word_pieces(tokenizer, words, stats=None):
    """Word pieces of each word (a flat list of words → list of id lists), for any piece style.

    Each word is tokenized on its own (`kbert.pieces.word_input`: byte-level BPE gets the space
    before the word, as Hugging Face's `add_prefix_space=True`, so its first piece is the
    "Ġ" piece it has inside a sentence). A word with no pieces (empty, spaces or control
    characters only) gets the family's unknown piece ([UNK], <unk>), so every word can be
    tagged; such words are counted in stats["empty_words"] when `stats` is given.

    Example:
    >>> # word_pieces(bert_tokenizer, ["George", "Washington"]) → [[...], [...]]
    """
    if not words:
        return []
    style = style_of(tokenizer)
    unk = special_ids(tokenizer)["unk"]
    inputs = [word_input(w, style) if w.strip() else "" for w in words]
    out = []
    for i in range(0, len(inputs), TOKENIZE_BATCH):
        # eagerly, not in a tf.data map: a SentencePiece tokenizer first called inside a
        # dataset's graph keeps a resource that dies with that dataset
        batch = tokenizer(tf.constant(inputs[i:i + TOKENIZE_BATCH], dtype=tf.string))
        out.extend(batch.to_list() if hasattr(batch, "to_list") else [[int(x) for x in p] for p in batch])
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
