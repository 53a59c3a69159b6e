"""Character offsets of word pieces: the BERT pre-tokenization with offsets, a word → pieces
cache, and each context piece's character span (so answers are cut from the original text).
"""

import numpy as np
import regex
import tensorflow as tf


def _split_pattern():
    from keras_hub.src.tokenizers import word_piece_tokenizer as wp

    return regex.compile("|".join([wp.PY_WHITESPACE_REGEX, wp.PY_PUNCTUATION_REGEX, wp.PY_CJK_REGEX])), \
        regex.compile("|".join([wp.PY_PUNCTUATION_REGEX, wp.PY_CJK_REGEX]))


_DELIM, _KEEP = None, None


def split_with_offsets(text):
    """keras-hub's BERT pre-tokenization (whitespace, punctuation, CJK) with character
    offsets: [(word, start, end), ...]."""
    global _DELIM, _KEEP
    if _DELIM is None:
        _DELIM, _KEEP = _split_pattern()
    words, pos = [], 0
    for m in _DELIM.finditer(text):
        if m.start() > pos:
            words.append((text[pos:m.start()], pos, m.start()))
        if _KEEP.fullmatch(m.group()):
            words.append((m.group(), m.start(), m.end()))
        pos = m.end()
    if pos < len(text):
        words.append((text[pos:], pos, len(text)))
    return words


class PieceCache:
    """Word → word-piece ids, tokenized in batches in the graph and cached."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.cache = {}
        self.unk = tokenizer.token_to_id(tokenizer.oov_token)

    def fill(self, words):
        todo = sorted({w for w in words if w not in self.cache})
        if not todo:
            return
        ds = tf.data.Dataset.from_tensor_slices(tf.constant(todo, tf.string)).batch(4096).map(self.tokenizer)
        i = 0
        for batch in ds:
            for ids in batch.to_list():
                self.cache[todo[i]] = ids or [self.unk]
                i += 1

    def __getitem__(self, word):
        return self.cache[word]


def context_pieces(text, cache, vocab):
    """Context → (piece ids, char start per piece, char end per piece)."""
    words = split_with_offsets(text)
    ids, starts, ends = [], [], []
    for word, s, e in words:
        pieces = cache[word]
        lengths = [len(vocab[p].removeprefix("##")) if vocab[p] != "[UNK]" else 0 for p in pieces]
        if sum(lengths) != e - s or len(pieces) == 1:
            # normalisation changed the length (or one piece): first piece from the word's start,
            # last to its end, inner pieces split evenly
            bounds = np.linspace(s, e, len(pieces) + 1).round().astype(int)
        else:
            bounds = s + np.concatenate([[0], np.cumsum(lengths)])
        for k, p in enumerate(pieces):
            ids.append(p)
            starts.append(int(bounds[k]))
            ends.append(int(bounds[k + 1]))
    return ids, starts, ends
