"""kbert.text.ner.alignment: each word's tag on its first piece and back, and the windows of
sentences longer than maxlen (every word gets exactly one tag)."""

import numpy as np
import pytest

import kbert
from kbert.encoders import load_tokenizer
from kbert.pieces import BPE_SPACE
from kbert.text import ner
from conftest import tiny_bpe, tiny_family_spec, tiny_spec

from .helpers import FILL, PEOPLE


@pytest.fixture(scope="module")
def pre():
    return ner.NERPreprocessor(kbert.encoders.load_tokenizer(tiny_spec()), ["O", "B-LOC", "B-PER", "I-PER"],
                               maxlen=32)


def test_first_piece_alignment_round_trips_random_words(pre):
    rng = np.random.default_rng(1)
    letters = list("abcdefghijklmnopqrstuvwxyz") + ["é", "\x00", "中", "'"]
    sentences = [["".join(rng.choice(letters, size=rng.integers(1, 9))) for _ in range(rng.integers(1, 12))]
                 for _ in range(50)]
    sentences.append(["\x00", "", "ok"])  # words with no pieces still get a tag
    tags = [[str(rng.choice(pre.tags)) for _ in s] for s in sentences]
    data = pre.encode(sentences, tags, verbose=0)
    targets = data.target_rows()
    # oracle logits: one-hot at each piece's target → every word gets exactly its tag back, in order
    outputs = [np.eye(len(pre.tags))[np.where(t == ner.IGNORE, 0, t)] * 10 for t in targets]
    assert pre.word_tags(outputs, data) == tags
    for (_, row), t, ids in zip(data.source.iterrows(), targets, data.features["token_ids"].to_list()):
        first = row["word_ids"] >= 0
        assert (t[first] != ner.IGNORE).all() and (t[~first] == ner.IGNORE).all()
        assert ids[0] == pre.tokenizer.cls_token_id and ids[-1] == pre.tokenizer.sep_token_id


def test_long_sentence_is_split_into_windows_and_every_word_gets_one_tag(pre, capsys):
    words = [PEOPLE[i % 4] if i % 7 == 0 else FILL[i % len(FILL)] for i in range(300)]
    tags = ["B-PER" if i % 7 == 0 else "O" for i in range(300)]
    data = pre.encode([words], [tags], verbose=0)
    assert "1 sentences longer than maxlen=32" in capsys.readouterr().out
    assert len(data) > 10 and data.lengths.max() <= 32
    owned = np.zeros(300, int)
    for _, row in data.source.iterrows():
        owned[row["own_start"]:row["own_end"]] += 1
        assert row["start"] <= row["own_start"] < row["own_end"] <= row["end"]
    assert (owned == 1).all()  # each word is owned by exactly one window
    outputs = [np.eye(4)[np.where(t == ner.IGNORE, 0, t)] for t in data.target_rows()]
    assert pre.word_tags(outputs, data) == [tags]


def test_words_without_pieces_get_unk_and_are_counted(pre):
    stats = {}
    pieces = ner.word_pieces(pre.tokenizer, ["happy", "", " ", "\x00"], stats)
    unk = pre.tokenizer.token_to_id("[UNK]")
    assert pieces[1:] == [[unk], [unk], [unk]] and pieces[0] != [unk]
    assert stats == {"empty_words": 3}


def test_bpe_word_pieces_are_hugging_faces_with_add_prefix_space():
    """RoBERTa's words are tokenized as Hugging Face tokenizes pre-split words with
    add_prefix_space=True: each word's first piece carries the "Ġ" of the space before it."""
    from tokenizers import ByteLevelBPETokenizer  # installed with the tests' tiny BPE (conftest)

    vocab, merges = tiny_bpe()
    hf = ByteLevelBPETokenizer(vocab, [tuple(m.split(" ")) for m in merges], add_prefix_space=True)
    tok = load_tokenizer(tiny_family_spec("roberta"))
    words = ["Café", "naïve,", "the", "dog's", "3.50", "東京", "end."]
    enc = hf.encode(words, is_pretokenized=True)
    expected = [[i for i, w in zip(enc.ids, enc.word_ids) if w == k] for k in range(len(words))]
    got = ner.word_pieces(tok, words)
    assert got == expected
    assert all(tok.id_to_token(p[0]).startswith(BPE_SPACE) for p in got)
