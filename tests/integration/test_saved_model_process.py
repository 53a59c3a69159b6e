"""The exported SavedModel loads and predicts in a fresh process that has only tensorflow and
tensorflow-text (no kbert, no keras-hub), with the predictor's probabilities (≤ 1e-5), for
every encoder family.

Skipped unless KBERT_TF_ONLY_PYTHON points at such a python, e.g.:

    python3.11 -m venv /tmp/kbert-tf-only-venv
    /tmp/kbert-tf-only-venv/bin/pip install "tensorflow==2.21.*" "tensorflow-text==2.21.*"
    KBERT_TF_ONLY_PYTHON=/tmp/kbert-tf-only-venv/bin/python pytest tests/integration/test_saved_model_process.py
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import kbert

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from conftest import FAMILIES, sentiment_df, tiny_family_spec  # noqa: E402

PYTHON = os.environ.get("KBERT_TF_ONLY_PYTHON")
pytestmark = pytest.mark.skipif(not PYTHON, reason="KBERT_TF_ONLY_PYTHON (a python with only tensorflow and "
                                                   "tensorflow-text) is not set")

TEXTS = ["i feel happy today", "so sad", "", "the cat is blue and really very awful now " * 6,
         "🙂 weird ünïcode Café naïve"]
PAIRS = (["i feel happy", "so sad today"], ["very awful", ""])

LOADER = r"""
import importlib.util, json, sys
import tensorflow as tf, tensorflow_text  # noqa: F401  (registers the tokenizer ops)
assert importlib.util.find_spec("kbert") is None and importlib.util.find_spec("keras_hub") is None
jobs, out = json.loads(sys.argv[1]), {}
for folder, inputs in jobs.items():
    signature = tf.saved_model.load(folder).signatures["serving_default"]
    result = signature(**{k: tf.constant(v) for k, v in inputs.items()})
    out[folder] = {"probabilities": result["probabilities"].numpy().tolist(),
                   "labels": [s.decode() for s in result["labels"].numpy()]}
print("RESULT" + json.dumps(out))
"""


def test_saved_models_of_every_family_load_without_kbert(tmp_path):
    jobs, predictors = {}, {}
    for family in FAMILIES + ("bert-pairs",):
        df = sentiment_df(40)
        kwargs = {}
        if family == "bert-pairs":
            df["second"] = df["text"].str[::-1]
            kwargs["text_pair_column"] = "second"
        spec = tiny_family_spec(family.split("-")[0])
        trn, val, pre = kbert.text.texts_from_df(df, "text", "label", preset=spec, maxlen=16, verbose=0, **kwargs)
        predictor = kbert.get_predictor(kbert.text.text_classifier(pre, dropout=0.0, seed=1, verbose=0), pre)
        folder = predictor.export(tmp_path / family)
        jobs[folder] = {"text": PAIRS[0], "text_pair": PAIRS[1]} if kwargs else {"text": TEXTS}
        predictors[folder] = (predictor, list(zip(*PAIRS)) if kwargs else TEXTS)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run([PYTHON, "-c", LOADER, json.dumps(jobs)], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.split("RESULT", 1)[1])
    for folder, (predictor, inputs) in predictors.items():
        got = results[folder]
        np.testing.assert_allclose(np.array(got["probabilities"]), predictor.predict_proba(inputs), atol=1e-5,
                                   err_msg=folder)
        assert got["labels"] == predictor.predict(inputs), folder
