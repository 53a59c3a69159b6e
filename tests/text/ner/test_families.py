"""NER on every encoder family: first-piece alignment with each piece style (a BPE word's
first piece is its "Ġ" piece), the family's start/end/unknown pieces, and a tiny tagger that
trains a few steps and tags every word of raw text, offsets exact."""

import numpy as np
import pandas as pd
import pytest

import kbert
from kbert.families import family_of, special_ids
from kbert.pieces import starts_word, style_of, vocabulary_list
from conftest import FAMILIES, tiny_family_spec

from .helpers import toy_sentences


def toy_df(n=16):
    x, y = toy_sentences(n)
    rows = [{"SentenceID": i, "Word": w, "Tag": t} for i, (ws, ts) in enumerate(zip(x, y)) for w, t in zip(ws, ts)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("family", FAMILIES)
def test_tagger_end_to_end(family):
    spec = tiny_family_spec(family, max_sequence_length=48, num_layers=1)
    trn, val, pre = kbert.text.entities_from_df(toy_df(), maxlen=48, preset=spec, verbose=0)
    tok = pre.tokenizer
    ids = special_ids(tok)
    # windows: the family's start and end pieces; each word's tag on its first piece
    words = ["Café", "", "george", "naïve,", "paris"]
    data = pre.encode([words], [["O", "O", "B-PER", "O", "B-LOC"]], verbose=0)
    seq = data.features["token_ids"].to_list()[0]
    tgt = data.targets.to_list()[0]
    assert seq[0] == ids["start"] and seq[-1] == ids["end"]
    word_ids = data.source["word_ids"][0]
    firsts = [p for p, w in enumerate(word_ids) if w >= 0]
    assert [int(word_ids[p]) for p in firsts] == list(range(len(words)))
    assert seq[firsts[1]] == ids["unk"] and data.stats["empty_words"] == 1
    assert [pre.tags[tgt[p]] for p in firsts] == ["O", "O", "B-PER", "O", "B-LOC"]
    vocab, style = vocabulary_list(tok), style_of(tok)
    for p in firsts[2:]:  # a word's first piece is a word start in every style ("Ġ", "▁" or no "##")
        assert starts_word(vocab[seq[p]], style)
    assert sum(t != kbert.metrics.IGNORE_INDEX for t in tgt) == len(words)
    # two steps of a tiny tagger (one batch: one trace), then one tag per word of raw text
    model = kbert.text.sequence_tagger(pre, seed=0)
    learner = kbert.get_learner(model, trn, None, batch_size=32, seed=0)
    hist = learner.fit(1e-3, 2, verbose=0)
    assert len(hist.history["loss"]) == 2 and np.isfinite(hist.history["loss"]).all()
    p = kbert.get_predictor(learner.model, pre)
    text = "Today  George Mary is in Paris, naïve  café."
    out = p.predict(text, return_offsets=True)
    assert [w for w, _, _ in out] == ["Today", "George", "Mary", "is", "in", "Paris", ",", "naïve", "café", "."]
    assert all(text[s:e] == w and t in pre.tags for w, t, (s, e) in out)
    given = ["george", "", "in", "rome"]
    assert [w for w, _ in p.predict(given, is_split_into_words=True)] == given
    assert family_of(tok).name == family
