"""kbert.text.classification.preprocessor: tokenization (truncation counted and reported,
text pairs packed with segments, in each family's own form), decoding, saving, and the checks
of text columns."""

import os

import numpy as np
import pytest

from kbert.encoders import load_tokenizer
from kbert.families import family_by_name, special_ids
from kbert.text import DataError, TextClassificationPreprocessor
from conftest import FAMILIES, ROOT, sentiment_df, tiny_family_spec

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
    special = special_ids(pre.tokenizer)
    assert ids[0] == special["start"] and (ids == special["end"]).sum() == 2
    assert row[-1] == 1 and row[0] == 0 and row.sum() == 3  # "the cat [SEP]"


@pytest.mark.parametrize("family, separators", [("bert", 1), ("roberta", 2), ("deberta_v3", 1)])
def test_pairs_are_packed_in_the_family_form_and_decoded(family, separators):
    tokenizer = load_tokenizer(tiny_family_spec(family))
    s = special_ids(tokenizer)
    a, b = "i feel happy", "the cat is blue"
    pa, pb = [int(i) for i in tokenizer(a)], [int(i) for i in tokenizer(b)]
    pre = TextClassificationPreprocessor(tokenizer, maxlen=64, preset=None)
    data = pre.transform([a, a], [b, b + " " + b * 30], verbose=0)
    ids, segs = data.features["token_ids"][0].numpy(), data.features["segment_ids"][0].numpy()
    # BERT: [CLS] a [SEP] b [SEP]; RoBERTa: <s> a </s></s> b </s>
    expected = [s["start"]] + pa + [s["end"]] * separators + pb + [s["end"]]
    np.testing.assert_array_equal(ids, expected)
    np.testing.assert_array_equal(segs, [0] * (len(pa) + 1 + separators) + [1] * (len(pb) + 1))
    assert data.stats["truncated"] == 1 and data.lengths.max() == 64
    assert pre.source_text(data, 0) == f"{a}  {tokenizer.id_to_token(s['end']) * separators}  {b}"
    # a text that fits exactly is not counted as truncated: the separators are counted right
    fits = TextClassificationPreprocessor(tokenizer, maxlen=len(expected), preset=None)
    assert fits.transform([a], [b], verbose=0).stats["truncated"] == 0
    assert TextClassificationPreprocessor(tokenizer, maxlen=len(expected) - 1,
                                          preset=None).transform([a], [b], verbose=0).stats["truncated"] == 1


@pytest.mark.parametrize("family", FAMILIES)
def test_pairs_are_packed_as_hugging_face_packs_them(family):
    folder = os.path.join(ROOT, "tests", "fixtures", "hf", family)
    if not os.path.exists(os.path.join(folder, "tokenizer.json")):
        pytest.skip(f"no Hugging Face reference folder {folder}")
    from tokenizers import Tokenizer

    a, b = "I feel happy today.", "The cat is blue, isn't it?"
    expected = Tokenizer.from_file(os.path.join(folder, "tokenizer.json")).encode(a, b)
    pre = TextClassificationPreprocessor(load_tokenizer(folder), maxlen=64, preset=None)
    features = pre.transform([a], [b], verbose=0).features
    assert features["token_ids"][0].numpy().tolist() == expected.ids
    if family_by_name(family).segments:  # the others do not read them (Hugging Face gives RoBERTa zeros)
        assert features["segment_ids"][0].numpy().tolist() == expected.type_ids


def test_config_round_trip_keeps_lowercase_only_as_the_tokenizer_has_it(toy_df):
    _, _, pre = load(toy_df.head(20), preset=tiny_family_spec("roberta"), text_pair_column=None)
    config = pre.get_config()
    assert config["lowercase"] is False and config["maxlen"] == 32
    again = TextClassificationPreprocessor.from_config(config, pre.tokenizer)
    assert again.get_config() == config and again.special == special_ids(pre.tokenizer) and again.separators == 2


# ------------------------------------------------------------------ bad input


def test_nan_texts_name_their_rows_and_empty_texts_are_fine(toy_df):
    df = toy_df.copy()
    df.loc[[3, 17], "text"] = np.nan
    with pytest.raises(DataError, match=r"column 'text' has missing texts .* index \[3, 17\]"):
        load(df)
    df.loc[[3, 17], "text"] = ""
    trn, val, _ = load(df)
    assert len(trn) + len(val) == len(df)  # nothing dropped
