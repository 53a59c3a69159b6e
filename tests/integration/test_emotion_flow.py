"""The issue's user flow, word for word, with the real "minilm" encoder on a few hundred rows."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import kbert
from conftest import ROOT, SHARED, requires_minilm

pytestmark = [requires_minilm, pytest.mark.integration]


def emotion_frames(n_train=320, n_val=160):
    folder = os.path.join(SHARED, "emotion")
    if os.path.exists(os.path.join(folder, "train.txt")):
        train_df = pd.read_csv(os.path.join(folder, "train.txt"), sep=";")
        val_df = pd.read_csv(os.path.join(folder, "val.txt"), sep=";")
    else:  # a machine without ../shared: the synthetic sample kept for the offline demo
        df = pd.read_csv(os.path.join(ROOT, "recipes", "data", "emotion_sample.csv"), sep=";")
        train_df, val_df = df.iloc[:200], df.iloc[200:]
    return (train_df.sample(min(n_train, len(train_df)), random_state=0),
            val_df.sample(min(n_val, len(val_df)), random_state=0))


def test_dataframe_to_saved_predictor(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    train_df, val_df = emotion_frames()
    trn, val, preproc = kbert.text.texts_from_df(train_df, "text", "label_name", val_df=val_df, maxlen=128,
                                                 preset="minilm")
    model = kbert.text.text_classifier(preproc)
    learner = kbert.get_learner(model, trn, val, batch_size=32)
    learner.lr_find(show_plot=True, max_epochs=1)
    steepest, min10, valley = learner.lr_estimate()
    assert os.path.getsize("lr_find.png") > 1000 and 0 < min10 < 10
    hist = learner.fit_onecycle(1e-4, 3)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    cm = learner.validate(class_names=preproc.get_classes())
    assert cm.shape == (6, 6) and cm.sum() == len(val_df)
    assert cm.trace() / cm.sum() > 0.3  # well above chance (1/6) after 3 short epochs
    learner.view_top_losses(n=5, preproc=preproc)
    predictor = kbert.get_predictor(learner.model, preproc)
    labels = predictor.predict(["I feel wonderful today", "this is scary"])
    assert all(label in preproc.get_classes() for label in labels)
    proba = predictor.predict("hm", return_proba=True)
    assert proba.shape == (6,) and abs(proba.sum() - 1) < 1e-5
    predictor.save("emotion-predictor")
    expected = predictor.predict_proba(["I feel great", "i am so angry"])
    out = subprocess.run(
        [sys.executable, "-c", "import json, kbert; p = kbert.load_predictor('emotion-predictor'); "
                               "print(json.dumps([p.predict('I feel great'), "
                               "p.predict_proba(['I feel great', 'i am so angry']).tolist()]))"],
        capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    label, got = json.loads(out.stdout.strip().splitlines()[-1])
    assert label == predictor.predict("I feel great")
    assert np.abs(np.asarray(got) - expected).max() <= 1e-6


def test_ktrain_transformer_api(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train_df, val_df = emotion_frames(256, 96)
    label_names = ["sadness", "joy", "love", "anger", "fear", "surprise"]
    to_int = {n: i for i, n in enumerate(label_names)}
    x_train, y_train = train_df["text"], train_df["label_name"].map(to_int)
    x_val, y_val = val_df["text"], val_df["label_name"].map(to_int)
    t = kbert.text.Transformer("minilm", maxlen=128, classes=label_names, batch_size=32)
    trn = t.preprocess_train(x_train.to_list(), y_train.to_list())
    val = t.preprocess_test(x_val.to_list(), y_val.to_list())
    learner = kbert.get_learner(model=t.get_classifier(), train_data=trn, val_data=val, batch_size=32)
    learner.lr_find(show_plot=True, max_epochs=1)
    learner.fit_onecycle(lr=2e-5, epochs=1)
    cm = learner.validate()
    assert cm.shape == (6, 6)
    learner.validate(class_names=label_names)
    predictor = kbert.get_predictor(learner.model, preproc=t)
    assert predictor.get_classes() == label_names  # the given order, not sorted
    predictor.save("bert-pred-emotion")
    assert kbert.load_predictor("bert-pred-emotion").get_classes() == label_names
    t2 = kbert.text.Transformer("minilm", class_names=label_names)
    assert t2.get_classes() == label_names

