"""What a piece of each tokenizer style means: where words start, and which characters of
the text a piece stands for. WordPiece marks a word's inner pieces ("##ing"), SentencePiece
marks a word's first piece ("▁the"), byte-level BPE encodes a leading space as "Ġ" and every
byte as one printable character.

Example:
>>> piece_text("##ing", WORDPIECE), piece_text("▁the", SENTENCEPIECE), piece_text("Ġcaf\u00c3\u00a9", BYTE_BPE)
('ing', ' the', ' café')
"""

import functools

import numpy as np

from kbert.families import BYTE_BPE, SENTENCEPIECE, WORDPIECE, family_of

SP_SPACE = "\u2581"  # "▁"
BPE_SPACE = "\u0120"  # "Ġ"


@functools.lru_cache(maxsize=1)
def _byte_decoder():
    from keras_hub.src.tokenizers.byte_pair_tokenizer import bytes_to_unicode  # the mapping BPE vocabularies use

    bs, cs = bytes_to_unicode()
    return {c: b for b, c in zip(bs, cs)}


def style_of(tokenizer):
    """WORDPIECE, SENTENCEPIECE or BYTE_BPE: the piece style of a keras-hub tokenizer."""
    return family_of(tokenizer).pieces


def piece_bytes(piece, style):
    """The UTF-8 bytes of the text a piece stands for (markers removed, "▁"/"Ġ" as a space)."""
    if style == BYTE_BPE:
        decoder = _byte_decoder()
        return b"".join(decoder.get(c, c.encode("utf-8")) for c in piece)
    if style == SENTENCEPIECE:
        return piece.replace(SP_SPACE, " ").encode("utf-8")
    return piece.removeprefix("##").encode("utf-8")


def piece_text(piece, style):
    """The text a piece stands for (a BPE piece that ends inside a character decodes with
    replacement characters; use piece_bytes to count its bytes)."""
    return piece_bytes(piece, style).decode("utf-8", errors="replace")


def starts_word(piece, style):
    """True when the piece begins a word (WordPiece: no "##"; SentencePiece: "▁"; BPE: "Ġ")."""
    if style == WORDPIECE:
        return not piece.startswith("##")
    if style == SENTENCEPIECE:
        return piece.startswith(SP_SPACE)
    return piece.startswith(BPE_SPACE)


def vocabulary_list(tokenizer):
    """The pieces in id order (a BPE tokenizer's get_vocabulary() is its dict's keys, in no
    guaranteed order)."""
    if style_of(tokenizer) == BYTE_BPE:
        # invert the piece → id dict (id_to_token scans the whole vocabulary on each call)
        pieces = [None] * tokenizer.vocabulary_size()
        for piece, i in tokenizer.vocabulary.items():
            pieces[int(i)] = piece
        return pieces
    vocabulary = tokenizer.get_vocabulary()
    if isinstance(vocabulary, list):
        return vocabulary
    return [tokenizer.id_to_token(i) for i in range(tokenizer.vocabulary_size())]


def word_start_table(tokenizer):
    """A boolean array over the vocabulary: which piece ids begin a word (specials count as
    starts), for whole-word masking and first-piece alignment."""
    style = style_of(tokenizer)
    vocabulary = vocabulary_list(tokenizer)
    return np.array([starts_word(p, style) or (p.startswith(("[", "<")) and p.endswith(("]", ">")))
                     for p in vocabulary], dtype=bool)


def word_input(word, style):
    """The string to tokenize one word of a pre-split sentence on its own, so that its pieces
    are the ones it gets inside the sentence (byte-level BPE needs the space before the word,
    as Hugging Face's `add_prefix_space=True`)."""
    return " " + word if style == BYTE_BPE else word
