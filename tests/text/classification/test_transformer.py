"""kbert.text.classification.transformer: ktrain's Transformer — classes learned from the
labels, float targets as regression, sentence pairs (ktrain's MRPC recipe) through training,
testing and the predictor."""

import numpy as np
import pytest

import kbert
from kbert.errors import EncoderNotAvailable
from kbert.families import family_by_name, special_ids
from kbert.text import DataError
from conftest import sentiment_df, tiny_family_spec, tiny_spec


def pairs(n=24):
    df = sentiment_df(n)
    x = [(t, "the cat is blue" if i % 3 else "so sad") for i, t in enumerate(df["text"])]
    return x, (df["label"] == "pos").astype(int).tolist()


@pytest.mark.parametrize("family", ["bert", "roberta"])
def test_sentence_pairs_train_test_and_predict(family):
    x, y = pairs()
    t = kbert.text.Transformer(tiny_family_spec(family, num_layers=1), maxlen=48,
                               class_names=["not paraphrase", "paraphrase"], batch_size=6)
    trn = t.preprocess_train(x[:20], y[:20], verbose=0)
    val = t.preprocess_test(x[20:], y[20:], verbose=0)
    test = t.preprocess_test(x[20:], verbose=0)
    assert len(trn) == 20 and len(val) == 4 and not test.has_targets
    ids, segs = trn.features["token_ids"][1].numpy(), trn.features["segment_ids"][1].numpy()
    first, seps = len(t.tokenizer(x[1][0])), family_by_name(family).pair_separators
    assert (ids == special_ids(t.tokenizer)["end"]).sum() == 1 + seps  # RoBERTa: <s> a </s></s> b </s>
    assert segs[: first + 1 + seps].sum() == 0 and segs[-1] == 1
    np.testing.assert_array_equal(val.targets, y[20:])
    with pytest.raises(DataError, match="trained on sentence pairs; give \\(text, second text\\) tuples"):
        t.preprocess_test(["just one text"], [1], verbose=0)
    model = t.get_classifier(metrics=["accuracy"])
    learner = kbert.get_learner(model, trn, val, batch_size=t.batch_size, seed=0)
    history = learner.fit_onecycle(1e-3, 1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert learner.validate(print_report=False).sum() == len(val)
    p = kbert.get_predictor(model, t)
    assert p.predict(x[0]) in ("not paraphrase", "paraphrase")
    assert len(p.predict([("a", "b"), ("c", "d")])) == 2
    assert p.predict_proba([x[0], x[1]]).shape == (2, 2)


def test_float_targets_regression_and_classes_empty():
    df = sentiment_df(24)
    y = [float(1 + i % 5) for i in range(len(df))]  # whole-valued floats: still regression
    t = kbert.text.Transformer(tiny_spec(), maxlen=32, classes=[])
    trn = t.preprocess_train(df["text"].tolist(), y, verbose=0)
    assert t.mode == "regression" and t.get_classes() == [] and trn.targets.dtype == np.float32
    assert t.get_regression_model().output.shape[-1] == 1
    c = kbert.text.Transformer(tiny_spec(), maxlen=32, class_names=[])
    c.preprocess_train(df["text"].tolist(), y, verbose=0, is_regression=False)
    assert c.get_classes() == [1, 2, 3, 4, 5]
    with pytest.raises(DataError, match="not regression targets: use get_classifier"):
        c.get_regression_model()
    with pytest.raises(DataError, match="needs the labels y"):
        c.preprocess_train(df["text"].tolist())
    bad = list(y)
    bad[4] = float("inf")
    with pytest.raises(DataError, match=r"holds infinite values at index \[4\]"):
        kbert.text.Transformer(tiny_spec(), maxlen=32).preprocess_train(df["text"].tolist(), bad, verbose=0)


@pytest.mark.parametrize("name", ["roberta-base", "distilbert-base-uncased", "albert-base-v1", "bert-base-uncased"])
def test_tutorial_names_offline_fail_at_once_naming_the_download(name, monkeypatch):
    from kbert import encoders

    monkeypatch.setattr(encoders, "_online", lambda *a, **k: False)  # as on a machine without network
    with pytest.raises(EncoderNotAvailable, match=f"Encoder '{name}' \\(keras-hub: '.*'\\) needs a download"):
        kbert.text.Transformer(name, maxlen=64, class_names=["neg", "pos"], batch_size=6)
