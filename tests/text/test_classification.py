import numpy as np
import pandas as pd
import pytest

import kbert
from kbert.text import DataError
from conftest import sentiment_df, tiny_spec


def load(df, label_columns="label", **kw):
    kw.setdefault("preset", tiny_spec())
    kw.setdefault("maxlen", 32)
    kw.setdefault("verbose", 0)
    return kbert.text.texts_from_df(df, "text", label_columns, **kw)


def test_string_labels_sorted_and_split(toy_df):
    trn, val, pre = load(toy_df, val_pct=0.25)
    assert pre.get_classes() == ["neg", "pos"]
    assert len(trn) == 180 and len(val) == 60
    assert set(np.unique(val.targets)) == {0, 1}  # stratified
    # targets match the source rows
    expected = (trn.source["label"] == "pos").astype(int).to_numpy()
    np.testing.assert_array_equal(trn.targets, expected)


def test_val_df_and_integer_labels_with_class_names(toy_df):
    df = toy_df.assign(label=(toy_df["label"] == "pos").astype(int))
    trn, val, pre = load(df.iloc[:200], val_df=df.iloc[200:], class_names=["negative", "positive"])
    assert pre.get_classes() == ["negative", "positive"]
    np.testing.assert_array_equal(val.targets, df["label"].iloc[200:].to_numpy())


def test_one_hot_columns_give_multiclass_and_several_ones_multilabel(toy_df):
    df = pd.DataFrame({"text": toy_df["text"], "neg": (toy_df["label"] == "neg").astype(int),
                       "pos": (toy_df["label"] == "pos").astype(int)})
    trn, _, pre = load(df, ["neg", "pos"])
    assert pre.mode == "multiclass" and pre.get_classes() == ["neg", "pos"]
    df["extra"] = 1
    trn, _, pre = load(df, ["neg", "pos", "extra"])
    assert pre.mode == "multilabel" and trn.targets.shape == (len(trn), 3)


def test_float_labels_give_regression(toy_df):
    df = toy_df.assign(score=np.linspace(0, 1, len(toy_df)))
    trn, _, pre = load(df[["text", "score"]], "score")
    assert pre.mode == "regression" and pre.num_outputs == 1 and trn.targets.dtype == np.float32


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


def test_texts_from_csv_sniffs_separator(tmp_path, toy_df):
    path = tmp_path / "train.txt"
    toy_df.to_csv(path, sep=";", index=False)
    trn, val, pre = kbert.text.texts_from_csv(str(path), "text", "label", preset=tiny_spec(), maxlen=32,
                                              verbose=0)
    assert len(trn) + len(val) == len(toy_df) and pre.get_classes() == ["neg", "pos"]
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        kbert.text.texts_from_csv(str(tmp_path / "missing.csv"), "text", "label", preset=tiny_spec())


def test_texts_from_array(toy_df):
    x, y = toy_df["text"].tolist(), (toy_df["label"] == "pos").astype(int).tolist()
    trn, val, pre = kbert.text.texts_from_array(x[:200], y[:200], x[200:], y[200:], class_names=["n", "p"],
                                                preset=tiny_spec(), maxlen=32, verbose=0)
    assert pre.get_classes() == ["n", "p"] and len(val) == 40
    np.testing.assert_array_equal(val.targets, y[200:])


# ------------------------------------------------------------------ bad input


def test_missing_column_is_named(toy_df):
    with pytest.raises(DataError, match="Column 'txt' not found in train_df"):
        kbert.text.texts_from_df(toy_df, "txt", "label", preset=tiny_spec())
    with pytest.raises(DataError, match="Column 'lbl' not found in train_df"):
        load(toy_df, "lbl")


def test_nan_texts_name_their_rows_and_empty_texts_are_fine(toy_df):
    df = toy_df.copy()
    df.loc[[3, 17], "text"] = np.nan
    with pytest.raises(DataError, match=r"column 'text' has missing texts .* index \[3, 17\]"):
        load(df)
    df.loc[[3, 17], "text"] = ""
    trn, val, _ = load(df)
    assert len(trn) + len(val) == len(df)  # nothing dropped


def test_unseen_validation_labels_are_named(toy_df):
    val = toy_df.iloc[:10].copy()
    val.loc[[2, 5], "label"] = "meh"
    with pytest.raises(DataError, match=r"val_df label column 'label' has labels not seen .*\['meh'\] at index \[2, 5\]"):
        load(toy_df, val_df=val)


def test_too_few_rows_and_empty_frames(toy_df):
    with pytest.raises(DataError, match="too few"):
        load(toy_df.iloc[:3], val_pct=0.9)
    with pytest.raises(DataError, match="train_df has no rows"):
        load(toy_df.iloc[:0])
    with pytest.raises(DataError, match="val_df has no rows"):
        load(toy_df, val_df=toy_df.iloc[:0])


def test_mixed_label_types_are_named(toy_df):
    df = toy_df.copy().astype({"label": object})
    df.loc[[4, 9], "label"] = 1
    with pytest.raises(DataError, match=r"mixes types: .*numbers at index \[4, 9\]"):
        load(df)


def test_missing_labels_are_named(toy_df):
    df = toy_df.copy()
    df.loc[[7], "label"] = None
    with pytest.raises(DataError, match=r"label column 'label' has missing values .*\[7\]"):
        load(df)


def test_single_class_is_refused(toy_df):
    with pytest.raises(DataError, match="single class"):
        load(toy_df.assign(label="pos"))
