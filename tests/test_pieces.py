"""Piece styles: word starts and the text each piece stands for."""

import numpy as np

from conftest import tiny_family_spec
import kbert
from kbert.families import BYTE_BPE, SENTENCEPIECE, WORDPIECE
from kbert.pieces import piece_bytes, piece_text, starts_word, style_of, vocabulary_list, word_input, word_start_table


def test_piece_text_and_word_starts():
    assert piece_text("##ing", WORDPIECE) == "ing" and not starts_word("##ing", WORDPIECE)
    assert piece_text("\u2581the", SENTENCEPIECE) == " the" and starts_word("\u2581the", SENTENCEPIECE)
    assert piece_text("\u0120caf\u00c3\u00a9", BYTE_BPE) == " café" and starts_word("\u0120x", BYTE_BPE)
    assert piece_bytes("\u00c3", BYTE_BPE) == b"\xc3"  # half of "é": one byte
    assert word_input("cat", BYTE_BPE) == " cat" and word_input("cat", WORDPIECE) == "cat"


def test_byte_bpe_pieces_spell_the_text():
    _, tok = kbert.load_encoder(tiny_family_spec("roberta"))
    assert style_of(tok) == BYTE_BPE
    text = " the café is happy"
    ids = np.asarray(tok(text)).tolist()
    vocab = vocabulary_list(tok)
    assert b"".join(piece_bytes(vocab[i], BYTE_BPE) for i in ids).decode() == text
    table = word_start_table(tok)
    assert sum(table[i] for i in ids) == 4  # one start per word


def test_sentencepiece_word_starts():
    _, tok = kbert.load_encoder(tiny_family_spec("albert"))
    ids = np.asarray(tok("the happy cat")).tolist()
    table = word_start_table(tok)
    assert sum(table[i] for i in ids) == 3
