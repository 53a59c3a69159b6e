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


# ------------------------------------------------------------------ the values' type decides


def test_whole_float_targets_are_regression_and_is_regression_false_makes_classes(toy_df):
    toy_df = toy_df.iloc[:40]
    df = toy_df.assign(stars=[float(1 + i % 5) for i in range(len(toy_df))])[["text", "stars"]]
    trn, val, pre = load(df, "stars")
    assert pre.mode == "regression" and pre.get_classes() == [] and trn.targets.dtype == np.float32
    trn, val, pre = load(df, "stars", is_regression=False)
    assert pre.mode == "multiclass" and pre.get_classes() == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(trn.targets, trn.source["stars"].to_numpy() - 1)
    # integers stay classes; is_regression=True makes them targets
    ints = df.assign(stars=df["stars"].astype(int))
    assert load(ints, "stars")[2].mode == "multiclass"
    assert load(ints, "stars", is_regression=True)[2].mode == "regression"


def test_class_names_empty_list_finds_the_classes(toy_df):
    trn, val, pre = load(toy_df, class_names=[])
    assert pre.get_classes() == ["neg", "pos"]


# ------------------------------------------------------------------ bad input (issue 14)


def test_val_df_multilabel_values_must_be_0_or_1(toy_df):
    df = pd.DataFrame({"text": toy_df["text"], "a": [1, 0] * 120, "b": [1, 1, 0, 1] * 60})
    val = df.iloc[:6].astype({"a": float})
    val.loc[[1, 4], "a"] = [0.5, 2.0]
    with pytest.raises(DataError, match=r"val_df label columns \['a', 'b'\] must hold 0/1 values; index \[1, 4\]"):
        load(df, ["a", "b"], val_df=val)


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_infinite_regression_targets_are_named(toy_df, bad):
    df = toy_df.assign(score=np.linspace(0, 1, len(toy_df)))[["text", "score"]]
    df.loc[[3, 8], "score"] = bad
    with pytest.raises(DataError, match=r"train_df regression target column 'score' holds infinite values at "
                                        r"index \[3, 8\]"):
        load(df, "score")
    good = toy_df.assign(score=np.linspace(0, 1, len(toy_df)))[["text", "score"]]
    val = good.iloc[:5].copy()
    val.loc[[2], "score"] = bad
    with pytest.raises(DataError, match=r"val_df regression target column 'score' holds infinite values at index \[2\]"):
        load(good, "score", val_df=val)
    val.loc[[2], "score"] = np.nan
    with pytest.raises(DataError, match=r"val_df label column 'score' has missing values \(NaN\) at index \[2\]"):
        load(good, "score", val_df=val)


def test_duplicated_column_names_are_named(toy_df):
    df = pd.concat([toy_df, toy_df[["label"]]], axis=1)
    with pytest.raises(DataError, match=r"train_df has 2 columns named 'label' \(at positions \[1, 2\]\)"):
        load(df)
    df = pd.concat([toy_df, toy_df[["text"]]], axis=1)
    with pytest.raises(DataError, match=r"train_df has 2 columns named 'text'"):
        load(df)
    val = pd.concat([toy_df.iloc[:5], toy_df.iloc[:5][["label"]]], axis=1)
    with pytest.raises(DataError, match=r"val_df has 2 columns named 'label'"):
        load(toy_df, val_df=val)


def test_fractional_class_ids_are_refused(toy_df):
    df = toy_df.assign(label=(toy_df["label"] == "pos").astype(float))
    df.loc[[6], "label"] = 0.5
    with pytest.raises(DataError, match=r"not whole numbers at index \[6\]"):
        load(df, class_names=["neg", "pos"])
    with pytest.raises(DataError, match=r"not whole numbers at index \[6\]"):
        load(df, is_regression=False)
