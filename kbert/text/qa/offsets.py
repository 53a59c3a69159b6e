"""Character offsets of word pieces, for every piece style: the words of a text with their
offsets, a word → pieces cache, and each context piece's character span (so answers are
cut from the original text).

WordPiece texts are split as keras-hub's BERT tokenizer splits them (whitespace, punctuation,
CJK); SentencePiece and byte-level BPE texts at whitespace, each word tokenized on its own
(BPE with the space before it, as Hugging Face's `add_prefix_space=True`). A piece's span
comes from the length of the text it stands for (`kbert.pieces.piece_bytes`): characters for
WordPiece and SentencePiece, bytes mapped back to characters for byte-level BPE. Where the
pieces do not add up to the word (normalisation changed its length, an unknown piece), the
word's pieces share its characters evenly.
"""

import unicodedata

import numpy as np
import regex
import tensorflow as tf

from kbert.families import BYTE_BPE, WORDPIECE, special_ids
from kbert.pieces import piece_bytes, style_of, vocabulary_list, word_input

WHITESPACE_WORD = regex.compile(r"\S+")
TOKENIZE_BATCH = 4096
BYTE_FALLBACK = regex.compile(r"<0x[0-9A-Fa-f]{2}>")  # SentencePiece's byte pieces


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


def word_spans(text, style):
    """The words of a text with character offsets, [(word, start, end), ...]: keras-hub's BERT
    pre-tokenization for WordPiece, whitespace-separated words for the other styles (their
    tokenizers split punctuation themselves, and their pieces never cross whitespace)."""
    if style == WORDPIECE:
        return split_with_offsets(text)
    return [(m.group(), m.start(), m.end()) for m in WHITESPACE_WORD.finditer(text)]


def piece_units(piece, style):
    """The length of the text a piece stands for, in characters (WordPiece, SentencePiece)
    or bytes (byte-level BPE); None when unknown (a SentencePiece byte piece)."""
    if style == BYTE_BPE:
        return len(piece_bytes(piece, style))
    if BYTE_FALLBACK.fullmatch(piece):
        return None
    return len(piece_bytes(piece, style).decode("utf-8", errors="replace"))


def piece_spans(word, pieces, style, unknown=()):
    """Character spans of a word's pieces, relative to the word.

    Args:
        word: the word as it is in the text.
        pieces: its pieces (strings), tokenized from `word_input(word, style)`.
        style: the piece style.
        unknown: the positions of pieces whose text is unknown ([UNK], <unk>).

    Returns:
        [(start, end)] per piece: piece k stands for word[start:end] (a SentencePiece "▁"
        alone spans no character; byte-level pieces that split a character each cover it).
        Pieces that do not add up to the word share it evenly.

    Example:
    >>> piece_spans("Café", ["ĠCaf", "Ã", "©"], "byte_bpe")
    [(0, 3), (3, 4), (3, 4)]
    """
    n = len(pieces)
    lengths = [None if k in unknown else piece_units(p, style) for k, p in enumerate(pieces)]
    if style != WORDPIECE and n and lengths[0] and piece_bytes(pieces[0], style)[:1] == b" ":
        lengths[0] -= 1  # the space before the word (SentencePiece's "▁", BPE's "Ġ")
    if style == BYTE_BPE:
        char_start = np.concatenate([[0], np.cumsum([len(c.encode("utf-8")) for c in word])])  # byte offsets
        total = int(char_start[-1])
    else:
        total = len(word)
    if style != BYTE_BPE and n > 1 and unknown and all(lengths[k] is not None for k in range(n) if k not in unknown):
        matched = match_unknown(word, pieces, style, lengths, unknown)
        if matched is not None:
            return matched
    if n <= 1 or None in lengths or sum(lengths) != total:
        bounds = np.linspace(0, len(word), n + 1).round().astype(int)
        return [(int(bounds[k]), int(bounds[k + 1])) for k in range(n)]
    bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(int)
    if style != BYTE_BPE:
        return [(int(bounds[k]), int(bounds[k + 1])) for k in range(n)]
    # byte offsets → characters: a piece's start rounds down, its end up
    lo = np.searchsorted(char_start, bounds, side="right") - 1
    hi = np.searchsorted(char_start, bounds, side="left")
    return [(int(lo[k]), int(hi[k + 1])) for k in range(n)]


def fold(text):
    """Lowercase without accents, character by character (the length is kept): "Éte" → "ete"."""
    out = []
    for c in text:
        base = "".join(b for b in unicodedata.normalize("NFKD", c) if not unicodedata.combining(b)).lower()
        out.append(base if len(base) == 1 else c)
    return "".join(out)


def match_unknown(word, pieces, style, lengths, unknown):
    """Spans of a word's pieces when some are unknown ("«naïve»" → <unk> n a ï ve <unk>): the
    known pieces are found in the word in order (ignoring case and accents, which ALBERT's and
    uncased tokenizers drop), each unknown piece takes the characters up to the next known one.
    None when the known pieces are not found in order."""
    lowered, pos, spans = fold(word), 0, []
    texts = [fold(piece_bytes(p, style).decode("utf-8", errors="replace")) for p in pieces]
    for k, text in enumerate(texts):
        if k in unknown:
            nxt = next((j for j in range(k + 1, len(pieces)) if j not in unknown), None)
            if nxt is None:
                end = len(word)
            else:
                target = texts[nxt][len(texts[nxt]) - lengths[nxt]:]
                end = lowered.find(target, pos + 1) if target else pos + 1
            if end <= pos:
                return None
            spans.append((pos, end))
            pos = end
            continue
        text = text[len(text) - lengths[k]:]  # without the space before the word
        if lowered[pos:pos + len(text)] != text:
            return None
        spans.append((pos, pos + len(text)))
        pos += len(text)
    return spans if pos == len(word) else None


def id_pieces(tokenizer):
    """The pieces in id order; a BPE tokenizer's from its token → id dict (keras-hub's BPE
    id_to_token scans the whole vocabulary per id without the `tokenizers` package)."""
    mapping = getattr(tokenizer, "vocabulary", None)
    if style_of(tokenizer) == BYTE_BPE and hasattr(mapping, "items"):
        pieces = [""] * tokenizer.vocabulary_size()
        for piece, i in mapping.items():
            pieces[int(i)] = piece
        return pieces
    return vocabulary_list(tokenizer)


class PieceCache:
    """Word → (piece ids, piece spans relative to the word), tokenized in batches in the graph
    and cached; a word without pieces is the family's unknown piece."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.style = style_of(tokenizer)
        self.unk = special_ids(tokenizer)["unk"]
        self.vocab = id_pieces(tokenizer)
        self.cache = {}

    def fill(self, words):
        todo = sorted({w for w in words if w not in self.cache})
        if not todo:
            return
        inputs = [word_input(w, self.style) for w in todo]
        i = 0
        for chunk in range(0, len(inputs), TOKENIZE_BATCH):
            # eagerly, not in a tf.data map: a SentencePiece tokenizer first called inside a
            # dataset's graph keeps a resource that dies with that dataset
            batch = self.tokenizer(tf.constant(inputs[chunk:chunk + TOKENIZE_BATCH], tf.string))
            for ids in (batch.to_list() if hasattr(batch, "to_list") else batch):
                ids = [int(p) for p in ids]
                word = todo[i]
                ids = ids or [self.unk]
                unknown = {k for k, p in enumerate(ids) if p == self.unk}
                self.cache[word] = (ids, piece_spans(word, [self.vocab[p] for p in ids], self.style, unknown))
                i += 1

    def __getitem__(self, word):
        return self.cache[word][0]

    def spans(self, word):
        return self.cache[word][1]


def context_pieces(text, cache):
    """Context → (piece ids, char start per piece, char end per piece), for any piece style.

    Example:
    >>> # ids, starts, ends = context_pieces("Café au lait.", cache)
    >>> # every text[starts[i]:ends[i]] is the text piece i stands for
    """
    words = word_spans(text, cache.style)
    cache.fill([w for w, _, _ in words])
    ids, starts, ends = [], [], []
    for word, s, _ in words:
        ids.extend(cache[word])
        for a, b in cache.spans(word):
            starts.append(s + a)
            ends.append(s + b)
    return ids, starts, ends
