import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import kbert
from kbert.predictors import PredictorLoadError
from conftest import ROOT, sentiment_df, tiny_spec

TEXTS = ["i feel happy today", "so sad", "", "the cat is blue and really very awful now", "🙂 weird ünïcode"]


@pytest.fixture(scope="module")
def trained():
    trn, val, pre = kbert.text.texts_from_df(sentiment_df(240), "text", "label", preset=tiny_spec(), maxlen=32,
                                             verbose=0)
    learner = kbert.get_learner(kbert.text.text_classifier(pre, dropout=0.0, seed=1), trn, val, batch_size=16,
                                seed=1)
    learner.fit_onecycle(3e-3, 6, verbose=0)
    return learner, pre


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


def test_save_then_load_in_a_fresh_process_gives_equal_probabilities(trained, tmp_path):
    learner, pre = trained
    p = kbert.get_predictor(learner.model, pre)
    folder = tmp_path / "pred"
    p.save(str(folder))
    expected = p.predict_proba(TEXTS)
    assert sorted(os.listdir(folder)) == ["kbert_predictor.json", "model.json", "model.weights.h5", "vocab.txt"]
    script = textwrap.dedent(f"""
        import json, sys, numpy as np, kbert
        p = kbert.load_predictor({str(folder)!r})
        print(json.dumps({{"proba": p.predict_proba({TEXTS!r}).tolist(), "labels": p.predict({TEXTS!r}),
                          "classes": p.get_classes()}}))
    """)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KAGGLE_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert np.abs(np.asarray(got["proba"]) - expected).max() <= 1e-6
    assert got["labels"] == p.predict(TEXTS) and got["classes"] == ["neg", "pos"]


def test_save_is_atomic_and_replaces_only_when_complete(trained, tmp_path, monkeypatch):
    learner, pre = trained
    p = kbert.get_predictor(learner.model, pre)
    folder = tmp_path / "pred"
    p.save(folder)
    marker = folder / "kbert_predictor.json"
    before = marker.read_text()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(learner.model, "save_weights", boom)
    with pytest.raises(OSError, match="disk full"):
        p.save(folder)
    assert marker.read_text() == before  # the old predictor is intact
    assert sorted(os.listdir(tmp_path)) == ["pred"]  # no temporary folder left behind
    monkeypatch.undo()
    p.save(folder)  # replacing a complete folder works
    assert kbert.load_predictor(folder).get_classes() == ["neg", "pos"]


def test_load_checks_version_and_completeness(trained, tmp_path):
    learner, pre = trained
    folder = tmp_path / "pred"
    kbert.get_predictor(learner.model, pre).save(folder)
    meta = json.loads((folder / "kbert_predictor.json").read_text())
    meta["format_version"] = 99
    (folder / "kbert_predictor.json").write_text(json.dumps(meta))
    with pytest.raises(PredictorLoadError, match="format version 99.*reads format 1"):
        kbert.load_predictor(folder)
    meta["format_version"] = 1
    (folder / "kbert_predictor.json").write_text(json.dumps(meta))
    (folder / "model.weights.h5").unlink()
    with pytest.raises(PredictorLoadError, match="model.weights.h5 is missing"):
        kbert.load_predictor(folder)
    with pytest.raises(PredictorLoadError, match="does not exist"):
        kbert.load_predictor(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PredictorLoadError, match="not a kbert predictor folder"):
        kbert.load_predictor(tmp_path / "empty")


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
