"""kbert.text.classification.loaders: texts_from_df / _csv / _array end to end, the
validation split, and the errors of missing columns and empty or too small frames."""

import numpy as np
import pytest

import kbert
from kbert.text import DataError
from conftest import tiny_spec

from .helpers import load


def test_string_labels_sorted_and_split(toy_df):
    trn, val, pre = load(toy_df, val_pct=0.25)
    assert pre.get_classes() == ["neg", "pos"]
    assert len(trn) == 180 and len(val) == 60
    assert set(np.unique(val.targets)) == {0, 1}  # stratified
    # targets match the source rows
    expected = (trn.source["label"] == "pos").astype(int).to_numpy()
    np.testing.assert_array_equal(trn.targets, expected)


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


def test_too_few_rows_and_empty_frames(toy_df):
    with pytest.raises(DataError, match="too few"):
        load(toy_df.iloc[:3], val_pct=0.9)
    with pytest.raises(DataError, match="train_df has no rows"):
        load(toy_df.iloc[:0])
    with pytest.raises(DataError, match="val_df has no rows"):
        load(toy_df, val_df=toy_df.iloc[:0])
