"""kbert.text.qa.offsets: pre-tokenization with character offsets, and each piece's character
span for every piece style (WordPiece, SentencePiece, byte-level BPE)."""

import os

import pytest

from kbert.encoders import load_tokenizer
from kbert.families import special_ids
from kbert.pieces import piece_text
from kbert.text import qa
from kbert.text.qa.offsets import PieceCache, context_pieces, fold, piece_spans, word_spans
from conftest import FAMILIES, ROOT, tiny_family_spec

HF = os.path.join(ROOT, "tests", "fixtures", "hf")

TEXT = "  Café «naïve»,  the   dog's résumé—3.50 km!  東京 end."


def test_split_with_offsets_keeps_exact_substrings():
    text = "  Café «naïve» Zürich—1,000 km 東京 don't\tend."
    for word, s, e in qa.split_with_offsets(text):
        assert text[s:e] == word and word.strip() == word
    assert [w for w, _, _ in qa.split_with_offsets("a,b c")] == ["a", ",", "b", "c"]
    assert word_spans(" a,b  c", "sentencepiece") == [("a,b", 1, 4), ("c", 6, 7)]


def test_piece_spans_of_each_style():
    # WordPiece: "##" is no character; a lowercased, accent-stripped piece keeps its length
    assert piece_spans("Café", ["caf", "##e"], "wordpiece") == [(0, 3), (3, 4)]
    # SentencePiece: "▁" is the space before the word, a "▁" alone spans nothing
    assert piece_spans("Café", ["▁Ca", "fé"], "sentencepiece") == [(0, 2), (2, 4)]
    assert piece_spans("Café", ["▁", "C", "afé"], "sentencepiece") == [(0, 0), (0, 1), (1, 4)]
    # unknown pieces take the characters between the known ones
    assert piece_spans("«naïve»", ["▁", "<unk>", "na", "ïve", "<unk>"], "sentencepiece", unknown={1, 4}) == \
        [(0, 0), (0, 1), (1, 3), (3, 6), (6, 7)]
    # byte-level BPE: bytes → characters; pieces that split "é" (2 bytes) each cover it
    assert piece_spans("Café", ["ĠCaf", "Ã", "©"], "byte_bpe") == [(0, 3), (3, 4), (3, 4)]
    assert piece_spans("東京", ["Ġæ", "Ŀ±", "äº¬"], "byte_bpe") == [(0, 1), (0, 1), (1, 2)]
    # ALBERT and uncased tokenizers drop accents: matched without them
    assert piece_spans("«naïve»", ["▁", "<unk>", "na", "ive", "<unk>"], "sentencepiece", unknown={1, 4}) == \
        [(0, 0), (0, 1), (1, 3), (3, 6), (6, 7)]
    assert fold("Ésumé—") == "esume—"
    # normalisation changed the length (NFKC "ﬁ" → "fi"): the pieces share the word evenly
    assert piece_spans("ﬁne", ["▁f", "i", "ne"], "sentencepiece") == [(0, 1), (1, 2), (2, 3)]


def check_spans(tok, text=TEXT):
    cache = PieceCache(tok)
    ids, starts, ends = context_pieces(text, cache)
    assert len(ids) == len(starts) == len(ends) > 10
    assert all(0 <= s <= e <= len(text) for s, e in zip(starts, ends))
    assert all(a <= b for a, b in zip(starts, starts[1:]))
    covered = {i for s, e in zip(starts, ends) for i in range(s, e)}
    assert covered == {i for i, c in enumerate(text) if not c.isspace()}  # every character, no space
    return cache, ids, starts, ends


@pytest.mark.parametrize("family", FAMILIES)
def test_context_pieces_are_in_order_and_cover_the_text(family):
    _, _, starts, ends = check_spans(load_tokenizer(tiny_family_spec(family)))
    got = "".join(TEXT[s:e] for s, e, prev in zip(starts, ends, [-1] + ends) if e > max(s, prev))
    assert got == "".join(TEXT.split())


@pytest.mark.parametrize("family", FAMILIES)
def test_spans_hold_each_piece_text_with_hugging_face_tokenizers(family):
    """The tokenizers of the Hugging Face fixtures (real tokenizer configs: ALBERT lowercases and
    strips accents, BERT's vocabulary is uncased): each known piece spans its own text."""
    folder = os.path.join(HF, family)
    if not os.path.isdir(folder):
        pytest.skip(f"no Hugging Face fixture {folder}")
    tok = load_tokenizer(folder)
    cache, ids, starts, ends = check_spans(tok)
    unk, checked = special_ids(tok)["unk"], 0
    for i, s, e in zip(ids, starts, ends):
        text = piece_text(cache.vocab[i], cache.style).lstrip(" ").removeprefix("##")
        if i == unk or "\ufffd" in text or e - s != len(text):
            continue  # unknown pieces, BPE pieces inside a character, NFKC-changed words
        assert fold(TEXT[s:e]) == fold(text), (cache.vocab[i], TEXT[s:e])
        checked += 1
    assert checked > 0.7 * len(ids)
