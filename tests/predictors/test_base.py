"""kbert.predictors.base: saving a predictor folder (atomically, with checksums) and loading
it in a fresh process; input checks shared by the predictors."""

import hashlib
import json
import os
import subprocess
import sys
import textwrap

import h5py
import keras
import numpy as np
import pytest

import kbert
from kbert.predictors import PredictorLoadError
from conftest import ROOT, tiny_vocabulary
from kbert.predictors.base import as_texts

from .helpers import TEXTS


def test_save_then_load_in_a_fresh_process_gives_equal_probabilities(trained, tmp_path):
    learner, pre = trained
    p = kbert.get_predictor(learner.model, pre)
    folder = tmp_path / "pred"
    p.save(str(folder))
    expected = p.predict_proba(TEXTS)
    assert sorted(os.listdir(folder)) == ["kbert_predictor.json", "model.json", "model.weights.h5", "tokenizer"]
    meta = json.loads((folder / "kbert_predictor.json").read_text())
    assert meta["format_version"] == 3 and meta["family"] == "bert"
    files = ("model.json", "model.weights.h5", "tokenizer/assets/tokenizer/vocabulary.txt", "tokenizer/tokenizer.json")
    assert meta["checksums"] == {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in files}
    assert meta["vocabulary_size"] == meta["embedding_rows"] == len(tiny_vocabulary())
    # no training settings: no compile config in model.json, no optimizer slots in the weights
    assert "compile_config" not in json.loads((folder / "model.json").read_text())
    with h5py.File(folder / "model.weights.h5") as f:
        assert "optimizer" not in f and "layers" in f
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

    monkeypatch.setattr(keras.Model, "save_weights", boom)
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
    with pytest.raises(PredictorLoadError, match="format version 99.*reads format 3"):
        kbert.load_predictor(folder)
    meta["format_version"] = 3
    (folder / "kbert_predictor.json").write_text(json.dumps(meta))
    (folder / "model.weights.h5").unlink()
    with pytest.raises(PredictorLoadError, match="model.weights.h5 is missing"):
        kbert.load_predictor(folder)
    with pytest.raises(PredictorLoadError, match="does not exist"):
        kbert.load_predictor(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PredictorLoadError, match="not a kbert predictor folder"):
        kbert.load_predictor(tmp_path / "empty")
    (tmp_path / "file").write_text("x")
    with pytest.raises(PredictorLoadError, match="is a file"):
        kbert.load_predictor(tmp_path / "file")


@pytest.mark.parametrize("bad", [None, 5, 2.5, b"bytes", {"text": "x"}])
def test_inputs_that_are_not_texts_name_the_argument(bad):
    with pytest.raises(TypeError, match=r"^texts must be a string or a list of strings, got "):
        as_texts(bad)


def test_items_that_are_not_strings_are_named_by_position():
    assert as_texts("one") == (["one"], True)
    assert as_texts(("a", "b")) == (["a", "b"], False)
    with pytest.raises(TypeError, match=r"texts\[1\] is None, not a string"):
        as_texts(["a", None])
    with pytest.raises(TypeError, match=r"texts\[0\] is a float \(nan\), not a string"):
        as_texts([float("nan")])
