"""kbert.text.qa.model: the span model learns the toy task, and its predictor (long contexts,
top_k, save and load in a fresh process)."""

import json
import subprocess
import sys

import numpy as np
import pytest

import kbert
from kbert.text import qa
from conftest import tiny_spec

from .helpers import toy_examples


@pytest.fixture(scope="module")
def toy_qa():
    trn_ex, val_ex = toy_examples(240), toy_examples(40, seed=1)
    trn, val, pre = qa.qa_from_examples(trn_ex, val_ex, 64, 16, 16, tiny_spec(), 0.1, 0, False, 0)
    model = kbert.text.qa_model(pre, dropout=0.0, seed=0)
    learner = kbert.get_learner(model, trn, val, batch_size=16, seed=0)
    hist = learner.fit_onecycle(3e-3, 8, verbose=0)
    return learner, pre, hist


def test_qa_model_learns_and_validates(toy_qa):
    learner, pre, hist = toy_qa
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0]
    result = learner.validate()
    assert result["f1"] > 90


def test_predictor_long_context_and_save_load(toy_qa, tmp_path):
    learner, pre, _ = toy_qa
    p = kbert.get_predictor(learner.model, pre)
    context = "the cat is so very red and the dog is ."
    r = p.predict(question="what is the color ?", context=context)
    assert context[r["start"]:r["end"]] == r["answer"]
    assert r["answer"] == "red"
    top = p.predict(question="what is the color ?", context=context, top_k=3)
    assert len(top) == 3 and top[0]["score"] >= top[1]["score"] >= top[2]["score"]
    long_context = ("the cat is a dog . " * 6000)[:100_000]
    long_context = long_context[:50_000] + " blue " + long_context[50_000:]
    r_long = p.predict(question="what is the color ?", context=long_context)
    assert long_context[r_long["start"]:r_long["end"]] == r_long["answer"]
    with pytest.raises(ValueError, match="empty"):
        p.predict(question=" ", context=context)
    p.save(tmp_path / "qa")
    script = (f"import json, kbert; p = kbert.load_predictor({str(tmp_path / 'qa')!r}); "
              f"print(json.dumps(p.predict(question='what is the color ?', context={context!r}, top_k=3)))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert [g["answer"] for g in got] == [t["answer"] for t in top]
    np.testing.assert_allclose([g["score"] for g in got], [t["score"] for t in top], atol=1e-5)
