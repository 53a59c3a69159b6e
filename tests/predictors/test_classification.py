"""kbert.predictors.classification: labels and probabilities (batch-independent, as
learner.predict), text pairs and regression."""

import numpy as np
import pytest

import kbert
from conftest import sentiment_df, tiny_spec

from .helpers import TEXTS


def test_predict_labels_and_probabilities(trained):
    learner, pre = trained
    p = kbert.get_predictor(learner.model, pre)
    assert p.get_classes() == ["neg", "pos"]
    assert p.predict(["i feel wonderful today", "this is awful"]) == ["pos", "neg"]
    proba = p.predict("hm", return_proba=True)
    assert proba.shape == (2,) and proba.sum() == pytest.approx(1.0, abs=1e-6)
    batch = p.predict_proba(TEXTS)
    assert batch.shape == (len(TEXTS), 2)
    # rows are independent of their batch: one at a time gives the same numbers
    for t, row in zip(TEXTS, batch):
        np.testing.assert_allclose(p.predict_proba(t), row, atol=1e-6)
    # learner.predict and the predictor agree on the validation texts
    val = learner.val_data
    np.testing.assert_allclose(p.predict_proba(val.source["text"].tolist()), pre.postprocess(learner.predict()),
                               atol=1e-6)


def test_pair_and_regression_predictors_round_trip(tmp_path):
    df = sentiment_df(120).assign(other="the cat", score=lambda d: (d["label"] == "pos") * 1.0 + 0.5)
    trn, val, pre = kbert.text.texts_from_df(df, "text", "score", preset=tiny_spec(), maxlen=32, verbose=0,
                                             text_pair_column="other")
    model = kbert.text.text_classifier(pre, seed=0)
    p = kbert.get_predictor(model, pre)
    pairs = [("i feel good", "the cat"), ("so bad", "a dog")]
    values = p.predict(pairs)
    assert isinstance(values[0], float)
    p.save(tmp_path / "reg")
    q = kbert.load_predictor(tmp_path / "reg")
    np.testing.assert_allclose(q.predict(pairs), values, atol=1e-6)
    with pytest.raises(ValueError, match="text pairs"):
        q.predict(["just one text"])


@pytest.mark.parametrize("bad, match", [
    (None, r"^texts must be a string or a list of strings, got None\.$"),
    (5, r"^texts must be a string or a list of strings, got an int \(5\)\.$"),
    (["fine", 7], r"^texts\[1\] is an int \(7\), not a string; texts must be a string or a list of strings\.$"),
    ({"text": "hi"}, r"^texts must be a string or a list of strings, got a dict"),
])
def test_inputs_that_are_not_texts_name_the_argument(trained, bad, match):
    learner, pre = trained
    p = kbert.get_predictor(learner.model, pre)
    with pytest.raises(TypeError, match=match):
        p.predict(bad)
    with pytest.raises(TypeError, match=match):
        p.predict_proba(bad)


def test_array_and_series_inputs(trained):
    import pandas as pd

    learner, pre = trained
    p = kbert.get_predictor(learner.model, pre)
    expected = p.predict(["i feel good", "so bad"])
    assert p.predict(np.array(["i feel good", "so bad"])) == expected
    assert p.predict(pd.Series(["i feel good", "so bad"])) == expected


@pytest.mark.parametrize("family", __import__("conftest").FAMILIES)
def test_a_predictor_of_every_family_saves_and_loads_with_its_own_tokenizer(family, tmp_path):
    from conftest import sentiment_df, tiny_family_spec

    _, _, pre = kbert.text.texts_from_df(sentiment_df(20), "text", "label", preset=tiny_family_spec(family),
                                         maxlen=16, verbose=0)
    p = kbert.get_predictor(kbert.text.text_classifier(pre), pre)  # no seed: seeding breaks SentencePiece (report)
    folder = p.save(tmp_path / "pred")
    texts = ["i feel happy today", "Café naïve résumé!", ""]
    loaded = kbert.load_predictor(folder)
    assert type(loaded.preproc.tokenizer) is type(pre.tokenizer)
    np.testing.assert_array_equal(loaded.predict_proba(texts), p.predict_proba(texts))
    if family == "roberta":  # one fresh process: nothing but the folder's files is needed
        import json, os, subprocess, sys
        from conftest import ROOT
        script = f"import json, kbert; print(json.dumps(kbert.load_predictor({str(folder)!r}).predict_proba({texts!r}).tolist()))"
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300,
                             env={**os.environ, "HF_HUB_OFFLINE": "1", "KAGGLE_OFFLINE": "1"})
        assert out.returncode == 0, out.stderr[-3000:]
        np.testing.assert_array_equal(np.asarray(json.loads(out.stdout.strip().splitlines()[-1]), "float32"),
                                      p.predict_proba(texts))
