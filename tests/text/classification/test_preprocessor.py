"""kbert.text.classification.preprocessor: tokenization (truncation counted and reported,
text pairs packed with segments) and the checks of text columns."""

import numpy as np
import pytest

from kbert.text import DataError
from conftest import sentiment_df

from .helpers import load


def test_truncation_is_counted_and_reported(capsys):
    df = sentiment_df(n=40, min_len=2, max_len=40)
    trn, val, pre = load(df, maxlen=16, verbose=1, val_pct=0.25)
    expected = 0
    for t in trn.source["text"]:
        expected += len(pre.tokenizer(t)) + 2 > 16
    assert trn.stats["truncated"] == expected > 0
    assert trn.lengths.max() == 16
    out = capsys.readouterr().out
    assert f"{expected} of {len(trn)} texts" in out and "maxlen=16" in out


def test_text_pairs_are_packed_with_segments(toy_df):
    df = toy_df.assign(other="the cat")
    trn, _, pre = load(df, text_pair_column="other")
    row = trn.features["segment_ids"][0].numpy()
    ids = trn.features["token_ids"][0].numpy()
    assert ids[0] == pre.tokenizer.cls_token_id and (ids == pre.tokenizer.sep_token_id).sum() == 2
    assert row[-1] == 1 and row[0] == 0 and row.sum() == 3  # "the cat [SEP]"


# ------------------------------------------------------------------ bad input


def test_nan_texts_name_their_rows_and_empty_texts_are_fine(toy_df):
    df = toy_df.copy()
    df.loc[[3, 17], "text"] = np.nan
    with pytest.raises(DataError, match=r"column 'text' has missing texts .* index \[3, 17\]"):
        load(df)
    df.loc[[3, 17], "text"] = ""
    trn, val, _ = load(df)
    assert len(trn) + len(val) == len(df)  # nothing dropped
