"""The task contract (kbert.tasks.TaskPreprocessor), run over every task: build on a tiny
encoder, fit, validate, get_predictor, save, load in a fresh process (equal outputs), and
a get_config round trip. A new task is added to TASKS and must pass all of it."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import kbert
from kbert import pretraining as P
from kbert.tasks import TaskPreprocessor
from conftest import ROOT, sentiment_df, tiny_spec, tiny_vocabulary

TEXTS = ["i feel happy today", "so sad and gloomy", "the sky is blue"]


def classification():
    trn, val, pre = kbert.text.texts_from_df(sentiment_df(48), "text", "label", preset=tiny_spec(), maxlen=32,
                                             verbose=0)
    return trn, val, pre, kbert.text.text_classifier(pre, seed=0), ("predict_proba", TEXTS)


def regression():
    df = sentiment_df(48)
    df["score"] = np.where(df["label"] == "pos", 0.9, 0.1) + np.arange(len(df)) * 1e-3
    trn, val, pre = kbert.text.texts_from_df(df[["text", "score"]], "text", "score", preset=tiny_spec(), maxlen=32,
                                             verbose=0)
    assert pre.mode == "regression"
    return trn, val, pre, kbert.text.text_classifier(pre, seed=0), ("predict_proba", TEXTS)


def multilabel():
    df = sentiment_df(48)
    df["pos"] = (df["label"] == "pos").astype(int)
    df["long"] = (df["text"].str.split().str.len() > 3).astype(int)
    trn, val, pre = kbert.text.texts_from_df(df[["text", "pos", "long"]], "text", ["pos", "long"],
                                             preset=tiny_spec(), maxlen=32, verbose=0)
    assert pre.mode == "multilabel"
    return trn, val, pre, kbert.text.text_classifier(pre, seed=0), ("predict_proba", TEXTS)


def ner():
    rng = np.random.default_rng(0)
    x, y = [], []
    for _ in range(40):
        words = [str(w) for w in rng.choice(["the", "cat", "is", "blue", "red", "dog"], size=5)]
        tags = ["B-LOC" if w == "blue" else "B-PER" if w == "cat" else "O" for w in words]
        x.append(words)
        y.append(tags)
    trn, val, pre = kbert.text.entities_from_array(x, y, preset=tiny_spec(), maxlen=32, verbose=0)
    return trn, val, pre, kbert.text.sequence_tagger(pre, seed=0), ("predict", TEXTS, {"return_proba": True})


def qa():
    rng = np.random.default_rng(0)
    examples = []
    for i in range(40):
        words = [str(w) for w in rng.choice(["the", "cat", "dog", "sky", "is", "a"], size=6)]
        color = str(rng.choice(["red", "blue", "green"]))
        words.insert(int(rng.integers(0, 7)), color)
        context = " ".join(words) + " ."
        examples.append({"id": f"q{i}", "question": "what is the color ?", "context": context,
                         "answers": [{"text": color, "answer_start": (" " + context).index(f" {color} ")}],
                         "is_impossible": False})
    trn, val, pre = kbert.text.qa.qa_from_examples(examples, None, 48, 16, 16, tiny_spec(), 0.25, 0, False, 0)
    return trn, val, pre, kbert.text.qa_model(pre, seed=0), (
        "predict", ["what is the color ?"], {"context": ["the sky is blue ."], "top_k": 2})


def pretraining():
    rng = np.random.default_rng(0)
    docs = [" ".join(f"The {rng.choice(['cat', 'dog', 'sky'])} is {rng.choice(['red', 'blue', 'green'])}."
                     for _ in range(6)) for _ in range(8)]
    corpus = P.corpus_from_texts(docs)
    trn, val, pre = P.pretraining_data(corpus, vocabulary=tiny_vocabulary(), maxlen=32, val_pct=0.2, verbose=0)
    model = P.bert_pretrainer(pre, encoder={"num_layers": 1, "hidden_dim": 32, "num_heads": 2,
                                            "intermediate_dim": 64}, seed=0)
    return trn, val, pre, model, ("predict_proba", ["the [MASK] is blue .", "the cat is [MASK] ."])


TASKS = {"classification": classification, "regression": regression, "multilabel": multilabel, "ner": ner,
         "qa": qa, "pretraining": pretraining}


def call(predictor, spec):
    method, args = spec[0], spec[1]
    kwargs = spec[2] if len(spec) > 2 else {}
    return getattr(predictor, method)(args, **kwargs)


def plain(x):
    """Outputs → JSON-able (numpy arrays to lists, tuples to lists)."""
    return json.loads(json.dumps(x, default=lambda v: np.asarray(v).tolist()))


def assert_close(a, b, path="out"):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            assert_close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert abs(a - b) <= 1e-5, f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Every task trained for one epoch and saved; outputs of each predictor before saving."""
    root = tmp_path_factory.mktemp("tasks")
    results = {}
    for name, make in TASKS.items():
        trn, val, pre, model, spec = make()
        learner = kbert.get_learner(model, trn, val, batch_size=8, seed=0)
        hist = learner.fit_onecycle(1e-3, 1, verbose=0)
        report = learner.validate(print_report=False)
        predictor = kbert.get_predictor(learner.model, pre)
        folder = predictor.save(root / name)
        results[name] = {"pre": pre, "learner": learner, "hist": hist, "report": report, "folder": str(folder),
                         "spec": spec, "outputs": plain(call(predictor, spec))}
    return results


@pytest.mark.parametrize("name", list(TASKS))
def test_task_trains_validates_and_predicts(saved, name):
    r = saved[name]
    pre = r["pre"]
    assert isinstance(pre, TaskPreprocessor) and pre.task in kbert.predictors.Predictor.registry
    assert np.isfinite(r["hist"].history["loss"]).all()
    # ktrain's returns: a confusion matrix, [(metric, value)], an F1, a dict; None for multi-label
    assert (r["report"] is None) == (getattr(pre, "mode", None) == "multilabel")
    # the config round trip rebuilds an equal preprocessor
    again = type(pre).from_config(json.loads(json.dumps(pre.get_config())), pre.tokenizer)
    assert again.get_config() == pre.get_config() and type(again).task == pre.task
    assert os.path.exists(os.path.join(r["folder"], "kbert_predictor.json"))


def test_every_task_loads_in_a_fresh_process_with_equal_outputs(saved):
    jobs = {name: {"folder": r["folder"], "spec": r["spec"]} for name, r in saved.items()}
    script = textwrap.dedent(f"""
        import json, numpy as np, kbert
        jobs = json.loads({json.dumps(json.dumps(jobs))})
        out = {{}}
        for name, job in jobs.items():
            p = kbert.load_predictor(job["folder"])
            spec = job["spec"]
            kwargs = spec[2] if len(spec) > 2 else {{}}
            out[name] = getattr(p, spec[0])(spec[1], **kwargs)
        print(json.dumps(out, default=lambda v: np.asarray(v).tolist()))
    """)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KAGGLE_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Skipping variable loading" not in proc.stderr  # predictors carry no optimizer state
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, r in saved.items():
        assert_close(plain(r["outputs"]), got[name], name)
