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


# ------------------------------------------------------------------ ktrain's arguments


def test_preprocess_mode_picks_the_encoder(toy_df, monkeypatch):
    from kbert.errors import EncoderNotAvailable
    from kbert.text.classification import loaders

    assert loaders.encoder_for("bert", None) == "minilm" and loaders.encoder_for(None, None) == "minilm"
    assert loaders.encoder_for("distilbert", None) == "distil_bert_base_en_uncased"
    assert loaders.encoder_for("distilbert", "x") == "x"
    with pytest.raises(EncoderNotAvailable):
        kbert.text.texts_from_df(toy_df, "text", "label", preprocess_mode="distilbert", verbose=0)
    with pytest.raises(ValueError, match="'standard' mode feeds word ids"):
        load(toy_df, preprocess_mode="standard")
    with pytest.raises(ValueError, match="preprocess_mode='gpt' is not one of"):
        load(toy_df, preprocess_mode="gpt")


def test_ktrain_word_id_options_are_noted_once(toy_df, capsys):
    trn, val, pre = load(toy_df, preprocess_mode="bert", max_features=20000, ngram_range=3, lang="en")
    out = capsys.readouterr().out
    assert out.count("kbert: note:") == 1
    assert "max_features=20000" in out and "ngram_range=3" in out and "lang='en'" in out and "ignored" in out
    assert pre.get_classes() == ["neg", "pos"]


def test_unpacks_as_ktrain_x_y(toy_df):
    x, y = toy_df["text"].tolist(), toy_df["label"].tolist()
    (x_train, y_train), (x_test, y_test), pre = kbert.text.texts_from_array(
        x, y, class_names=[], preset=tiny_spec(), maxlen=32, verbose=0, preprocess_mode="bert")
    assert isinstance(x_train, kbert.text.classification.TextData) and y_train is x_train.targets
    assert len(x_train) == 216 and len(y_test) == 24 and pre.get_classes() == ["neg", "pos"]


def test_texts_from_array_takes_sentence_pairs(toy_df):
    x = [(t, "the cat") for t in toy_df["text"]]
    trn, val, pre = kbert.text.texts_from_array(x, toy_df["label"].tolist(), preset=tiny_spec(), maxlen=32,
                                                verbose=0)
    assert pre.text_pair_column == "text_b" and trn.features["segment_ids"][0].numpy()[-1] == 1
    with pytest.raises(DataError, match=r"items at index \[1\] \(1 rows\) are lists, not texts.*tuples"):
        kbert.text.texts_from_array(["a b", ["c", "d"]], [0, 1], preset=tiny_spec())
    with pytest.raises(DataError, match=r"index \[0\] \(1 rows\) are not \(text, second text\) tuples"):
        kbert.text.texts_from_array(["a b", ("c", "d")], [0, 1], preset=tiny_spec())


# ------------------------------------------------------------------ the validation split keeps every class


def test_split_refuses_when_training_loses_a_class(toy_df):
    from kbert.text.classification.loaders import split_frame

    with pytest.raises(DataError, match=r"holds out every row of class\(es\) \['(neg|pos)'\].*Pass val_df"):
        load(toy_df.iloc[:2], val_pct=0.1)
    # 3 rows of 2 classes: when the held-out row is the only one of its class, the split is refused
    df, targets = toy_df.iloc[[0, 2, 1]], np.array([0, 0, 1])  # neg, neg, pos
    outcomes = set()
    for seed in range(8):
        try:
            trn, val = split_frame(df, 0.1, seed, targets, "multiclass", ["neg", "pos"])
        except DataError as e:
            assert "holds out every row of class(es) ['pos'] (train_df index [1] (1 rows))" in str(e)
            outcomes.add("refused")
        else:
            assert set(trn["label"]) == {"neg", "pos"} and len(val) == 1
            outcomes.add("kept")
    assert outcomes == {"refused", "kept"}


def test_split_moves_back_a_lost_class_and_says_so(toy_df, capsys):
    from kbert.text.classification.loaders import split_frame

    df = toy_df.iloc[:40].copy()
    df.loc[[5], "label"] = "rare"  # a single row: stratification is off, the split may hold it out
    classes = ["neg", "pos", "rare"]
    targets = df["label"].map(classes.index).to_numpy()
    moved = 0
    for seed in range(30):
        trn, val = split_frame(df, 0.25, seed, targets, "multiclass", classes)
        assert "rare" in set(trn["label"]) and len(trn) + len(val) == 40
        out = capsys.readouterr().out
        if "moved back to training" in out:
            moved += 1
            assert "class(es) ['rare']" in out and "(train_df index [5] (1 rows))" in out
            assert "validation has 9 rows instead of 10" in out and len(val) == 9
    assert moved > 0
    # through the loader, the note comes with the data
    seed = next(s for s in range(30) if 5 in split_frame(df, 0.25, s)[1].index)
    trn, val, pre = load(df, val_pct=0.25, random_state=seed)
    assert "moved back to training" in capsys.readouterr().out and "rare" in set(trn.source["label"])
