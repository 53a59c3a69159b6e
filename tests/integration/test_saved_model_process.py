"""The exported SavedModel loads and predicts in a fresh process that has only tensorflow and
tensorflow-text (no kbert, no keras-hub), with the predictor's probabilities (≤ 1e-5), for
every encoder family; NER taggers (word split, pieces, windows and tags in the graph) and QA
models (pieces, character spans, doc_stride windows and span decoding in the graph) too.

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
from predictors.helpers import ner_sentences, qa_examples  # noqa: E402

PYTHON = os.environ.get("KBERT_TF_ONLY_PYTHON")
pytestmark = pytest.mark.skipif(not PYTHON, reason="KBERT_TF_ONLY_PYTHON (a python with only tensorflow and "
                                                   "tensorflow-text) is not set")

TEXTS = ["i feel happy today", "so sad", "", "the cat is blue and really very awful now " * 6,
         "🙂 weird ünïcode Café naïve"]
PAIRS = (["i feel happy", "so sad today"], ["very awful", ""])
SENTENCES = ["There is a man named John Smith.", "", "don't  stop—the U.S. well-known café naïve 3.50 $ o'neil",
             "john smith " * 12 + "in paris", "\u200b x\u00a0y\tz 🙂 東京"]

LOADER = r"""
import importlib.util, json, sys
import tensorflow as tf, tensorflow_text  # noqa: F401  (registers the tokenizer ops)
assert importlib.util.find_spec("kbert") is None and importlib.util.find_spec("keras_hub") is None
jobs, out = json.loads(sys.argv[1]), {}
for folder, inputs in jobs.items():
    signature = tf.saved_model.load(folder).signatures["serving_default"]
    result = signature(**{k: tf.constant(v) for k, v in inputs.items()})
    out[folder] = {k: v.numpy().tolist() for k, v in result.items()}
print("RESULT" + json.dumps(out, default=bytes.decode))  # string outputs are bytes
"""


def run_without_kbert(jobs, cwd):
    """{folder: inputs} → {folder: outputs} of each SavedModel's serving_default, in a process
    with only tensorflow and tensorflow-text."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run([PYTHON, "-c", LOADER, json.dumps(jobs)], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.split("RESULT", 1)[1])


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
    results = run_without_kbert(jobs, tmp_path)
    for folder, (predictor, inputs) in predictors.items():
        got = results[folder]
        np.testing.assert_allclose(np.array(got["probabilities"]), predictor.predict_proba(inputs), atol=1e-5,
                                   err_msg=folder)
        assert got["labels"] == predictor.predict(inputs), folder


def test_ner_saved_models_load_without_kbert(tmp_path):
    # one family per kind of word pieces: WordPiece, byte-level BPE, SentencePiece
    x, y = ner_sentences(20)
    jobs, predictors = {}, {}
    for family in ("bert", "roberta", "albert"):
        _, _, pre = kbert.text.entities_from_array(x, y, x[:4], y[:4], preset=tiny_family_spec(family), maxlen=16,
                                                   verbose=0)
        predictor = kbert.get_predictor(kbert.text.sequence_tagger(pre, dropout=0.0, seed=0, verbose=0), pre)
        folder = predictor.export(tmp_path / family)
        jobs[folder], predictors[folder] = {"text": SENTENCES}, predictor
    results = run_without_kbert(jobs, tmp_path)
    for folder, predictor in predictors.items():
        got = results[folder]
        expected = predictor.predict(SENTENCES, return_offsets=True, return_proba=True)
        assert got["num_words"] == [len(e) for e in expected], folder
        for i, sentence in enumerate(expected):
            n = len(sentence)
            words = list(zip(got["words"][i], got["tags"][i], got["word_starts"][i], got["word_ends"][i]))[:n]
            assert words == [(w, t, s, e) for w, t, _, (s, e) in sentence], (folder, SENTENCES[i])
            np.testing.assert_allclose(np.max(got["probabilities"][i][:n], axis=1) if n else [],
                                       [p for _, _, p, _ in sentence], atol=1e-5, err_msg=folder)


def test_qa_saved_model_loads_without_kbert(tmp_path):
    # a WordPiece model (the families QA exports for); contexts of several windows (maxlen 64, doc_stride 16)
    _, _, pre = kbert.text.qa.qa_from_examples(qa_examples(8), qa_examples(4, seed=1), 64, 16, 16,
                                               tiny_family_spec("bert"), 0.1, 0, False, 0)
    predictor = kbert.get_predictor(kbert.text.qa_model(pre, dropout=0.0, seed=0), pre)
    questions = [e["question"] for e in qa_examples(3, seed=2)] + ["who is it?", "where?"]
    contexts = [e["context"] for e in qa_examples(3, seed=2)] + ["Café naïve résumé, 3.50 dollars! " * 8,
                                                                 "the sky is blue. " * 20]
    folder = predictor.export(tmp_path / "qa")
    got = run_without_kbert({folder: {"question": questions, "context": contexts}}, tmp_path)[folder]
    expected = predictor.predict(questions, contexts)
    assert list(zip(got["answer"], got["start"], got["end"])) == [(p["answer"], p["start"], p["end"])
                                                                  for p in expected]
    np.testing.assert_allclose(got["score"], [p["score"] for p in expected], atol=1e-5)
