"""kbert.text.classification.labels: label columns → mode, classes and targets, and the errors
that name bad labels."""

import numpy as np
import pandas as pd
import pytest

from kbert.text import DataError

from .helpers import load


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


# ------------------------------------------------------------------ bad input


def test_unseen_validation_labels_are_named(toy_df):
    val = toy_df.iloc[:10].copy()
    val.loc[[2, 5], "label"] = "meh"
    with pytest.raises(DataError, match=r"val_df label column 'label' has labels not seen .*\['meh'\] at index \[2, 5\]"):
        load(toy_df, val_df=val)


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
