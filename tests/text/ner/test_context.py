"""kbert.text.ner.context: windows filled with a sentence's document neighbours (BERT's "maximal
document context"), tags on the centre sentence only, documents never crossed."""

import numpy as np
import pandas as pd
import pytest

import kbert
from conftest import tiny_spec
from kbert.errors import DataError
from kbert.metrics import IGNORE_INDEX
from kbert.text.ner.context import context_words, document_ids, document_spans
from kbert.text.ner.loaders import split_sentences

# three sentences of one document, then a document of one sentence
DOC = [["i", "feel", "happy"], ["actor", "is", "sad"], ["the", "cat"], ["red", "sky"]]
TAGS = [["O", "O", "O"], ["B-PER", "O", "O"], ["O", "O"], ["B-LOC", "O"]]


def preproc(maxlen=32, **kwargs):
    _, _, pre = kbert.text.entities_from_array(DOC, TAGS, DOC, TAGS, preset=tiny_spec(), maxlen=maxlen, verbose=0,
                                               **kwargs)
    return pre


def window_words(pre, data, row):
    """The words of a window, decoded from its pieces (the tiny vocabulary has these words whole)."""
    vocab = pre.tokenizer.get_vocabulary()
    return [vocab[i] for i in data.features["token_ids"][row].numpy()[1:-1]]


def test_context_words_balances_and_keeps_whole_words():
    assert context_words([1] * 6, 2, 4, budget=4) == (1, 5)
    assert context_words([1] * 6, 2, 4, budget=100) == (0, 6)
    assert context_words([1] * 6, 2, 4, budget=2) == (2, 4)  # the centre alone fills it
    # a 3-piece word on the left does not fit 5 pieces: the right side takes what is left
    assert context_words([3, 1, 1, 1, 1, 1], 2, 4, budget=5) == (1, 6)
    # balanced: 4 words on each side of a centre in the middle of a long document
    assert context_words([1] * 40, 20, 22, budget=10) == (16, 26)


def test_document_ids_are_runs_and_empty_ids_are_errors():
    assert document_ids(["a", "a", "b", "b", "a"]) == [0, 0, 1, 1, 2]
    assert document_spans([0, 0, 1], [0, 3, 5, 7]) == [(0, 5), (0, 5), (5, 7)]
    with pytest.raises(DataError, match=r"docs\[1\] is empty"):
        document_ids(["a", float("nan")], "docs")


def test_windows_hold_neighbours_but_tags_only_the_centre():
    pre = preproc()
    data = pre.encode(DOC, TAGS, documents=[0, 0, 0, 1], verbose=0)
    assert len(data) == 4 and data.stats["with_context"] == 3
    # sentence 1's window: the whole first document, never the second one's "red sky"
    assert window_words(pre, data, 1) == ["i", "feel", "happy", "actor", "is", "sad", "the", "cat"]
    assert window_words(pre, data, 3) == ["red", "sky"]
    targets = data.targets[1].numpy()
    tagged = np.flatnonzero(targets != IGNORE_INDEX)
    assert tagged.tolist() == [4, 5, 6]  # actor is sad, after [CLS] i feel happy
    assert [pre.tags[t] for t in targets[tagged]] == ["B-PER", "O", "O"]
    row = data.source.iloc[1]
    assert row["word_ids"].tolist() == [-1, -1, -1, -1, 0, 1, 2, -1, -1, -1]
    assert row["context_words"] == 5 and (row["own_start"], row["own_end"]) == (0, 3)
    # predictions come back per sentence, for the centre words only
    logits = [np.eye(len(pre.tags))[np.where(t == IGNORE_INDEX, 0, t)] for t in data.targets.numpy()]
    assert pre.word_tags(logits, data) == TAGS


def test_context_is_balanced_left_and_right_within_maxlen():
    doc = [[w] for w in "i feel so very happy today now the cat is blue".split()]
    tags = [["O"]] * len(doc)
    pre = preproc(maxlen=8)  # 6 pieces besides [CLS] and [SEP]
    data = pre.encode(doc, tags, documents=[0] * len(doc), verbose=0)
    assert window_words(pre, data, 5) == ["so", "very", "happy", "today", "now", "the"]
    assert window_words(pre, data, 0) == ["i", "feel", "so", "very", "happy", "today"]
    assert window_words(pre, data, 10) == ["today", "now", "the", "cat", "is", "blue"]
    assert all(len(t) <= 8 for t in data.features["token_ids"].to_list())


def test_a_sentence_longer_than_a_window_is_read_in_its_own_windows():
    long = ["i", "feel"] * 10
    pre = preproc(maxlen=12)
    data = pre.encode([["the"], long, ["cat"]], [["O"], ["O"] * 20, ["O"]], documents=[0, 0, 0], verbose=0)
    assert data.stats["windowed"] == 1
    rows = data.source
    assert (rows["sentence"] == 1).sum() > 1 and (rows[rows["sentence"] == 1]["context_words"] == 0).all()
    assert window_words(pre, data, 0) == ["the"] + long[:9]  # its neighbours still fill the short ones


def test_read_conll_document_ids(tmp_path):
    path = tmp_path / "d.conll"
    path.write_text("-DOCSTART- O\n\nEU B-ORG\nrejects O\n\nPeter B-PER\n\n-DOCSTART- O\n\nBonn B-LOC\n\n"
                    "-DOCSTART- O\nParis B-LOC\n")
    x, _, docs = kbert.text.ner.read_conll(str(path), documents=True)
    assert x == [["EU", "rejects"], ["Peter"], ["Bonn"], ["Paris"]] and docs == [0, 0, 1, 2]
    trn, val, pre = kbert.text.entities_from_conll(str(path), str(path), preset=tiny_spec(), maxlen=32, verbose=0,
                                                   document_context=True)
    assert pre.document_context and trn.stats["with_context"] == 2 and val.stats["with_context"] == 2
    assert trn.source["context_words"].tolist() == [1, 2, 0, 0]
    again = type(pre).from_config(pre.get_config(), pre.tokenizer)
    assert again.document_context and again.get_config() == pre.get_config()
    _, _, plain = kbert.text.entities_from_conll(str(path), str(path), preset=tiny_spec(), maxlen=32, verbose=0)
    assert not plain.document_context and not plain.get_config()["document_context"]


def test_entities_from_df_document_column():
    rows = []
    for d, (sent, tags) in enumerate(zip(DOC, TAGS)):
        for w, t in zip(sent, tags):
            rows.append({"Doc": "a" if d < 3 else "b", "SentenceID": d, "Word": w, "Tag": t})
    df = pd.DataFrame(rows)
    trn, val, pre = kbert.text.entities_from_df(df, df, document_column="Doc", preset=tiny_spec(), maxlen=32,
                                                verbose=0)
    assert pre.document_context and trn.source["context_words"].tolist() == [5, 5, 6, 0]
    with pytest.raises(DataError, match="Document"):
        kbert.text.entities_from_df(df, df, document_column="Document", preset=tiny_spec(), verbose=0)


def test_held_out_validation_is_whole_documents_in_order():
    x = [[f"w{i}"] for i in range(20)]
    y = [["O"]] * 20
    docs = [i // 4 for i in range(20)]
    xt, _, xv, _, dt, dv = split_sentences(x, y, 0.2, 0, docs)
    assert len(xv) == 4 and len(set(dv)) == 1 and len(set(dt)) == 4
    assert xv == sorted(xv, key=lambda s: int(s[0][1:])) and xt == sorted(xt, key=lambda s: int(s[0][1:]))
    with pytest.raises(DataError, match="test_documents"):
        kbert.text.entities_from_array(DOC, TAGS, preset=tiny_spec(), test_documents=[0], verbose=0,
                                       document_context=True)
