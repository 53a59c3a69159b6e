"""Strategies: names, errors and cluster roles, and the fixed-shapes (TPU) code path under the
default strategy. The jobs in fresh processes (Mirrored on 2 logical CPUs, 2 workers on
localhost, a killed-and-resumed run) are in tests/integration/test_distribute_jobs.py."""

import json

import numpy as np
import pytest
import tensorflow as tf

import kbert
from conftest import sentiment_df, tiny_spec
from kbert import distribute


def test_strategy_names_and_errors(monkeypatch):
    assert distribute.get_strategy("default") is tf.distribute.get_strategy()
    assert distribute.get_strategy("auto").num_replicas_in_sync == 1  # no GPU, no TPU here
    assert distribute.get_strategy("mirrored") is distribute.get_strategy("mirrored")
    own = tf.distribute.get_strategy()
    assert distribute.get_strategy(own) is own
    with pytest.raises(ValueError, match="Unknown strategy 'gpu'"):
        distribute.get_strategy("gpu")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(distribute.StrategyError, match="TF_CONFIG"):
        distribute.get_strategy("multiworker")
    with pytest.raises(distribute.StrategyError, match="could not reach a TPU at 'local'"):
        distribute.get_strategy("tpu", tpu_address="local")
    with pytest.raises(distribute.StrategyError, match="before TensorFlow initialises"):
        distribute.split_cpu(3)


def test_cluster_roles(monkeypatch):
    configs = [json.loads(c) for c in distribute.tf_configs(2)]
    assert [c["task"] for c in configs] == [{"type": "worker", "index": 0}, {"type": "worker", "index": 1}]
    assert len(set(configs[0]["cluster"]["worker"])) == 2
    monkeypatch.setenv("TF_CONFIG", json.dumps(configs[1]))
    assert not distribute.is_chief() and distribute.worker_index() == 1
    monkeypatch.setenv("TF_CONFIG", json.dumps(configs[0]))
    assert distribute.is_chief() and distribute.worker_index() == 0
    monkeypatch.delenv("TF_CONFIG")
    assert distribute.is_chief()


def test_fixed_shapes_path_under_the_default_strategy():
    # the TPU code path: bucketed widths, a static batch dimension, no partial batch, XLA
    df = sentiment_df(n=300, seed=3, min_len=1, max_len=30)
    trn, val, pre = kbert.text.texts_from_df(df, "text", "label", maxlen=64, preset=tiny_spec(), fixed_shapes=True,
                                             verbose=0)
    assert trn.bucket_lengths() == [16, 32, 64] and trn.steps(32, training=True) == len(trn) // 32
    ds = trn.epochs_dataset(32, 2, seed=0)
    assert ds.element_spec[0]["token_ids"].shape.as_list() == [32, None]
    shapes = {tuple(x["token_ids"].shape) for x, _ in ds}
    assert {w for _, w in shapes} <= {16, 32, 64} and len(shapes) >= 2 and {b for b, _ in shapes} == {32}
    trn, val, pre = kbert.text.texts_from_df(sentiment_df(240), "text", "label", maxlen=32, preset=tiny_spec(),
                                             val_pct=0.25, fixed_shapes=True, verbose=0)
    model = kbert.text.text_classifier(pre, dropout=0.0, seed=1)
    learner = kbert.get_learner(model, trn, val, batch_size=16, seed=1, jit_compile=True)
    losses = learner.fit_onecycle(3e-3, 6, verbose=0).history["loss"]
    assert losses[-1] < 0.5 * losses[0], losses


def test_pretraining_masks_have_fixed_prediction_slots_with_fixed_shapes():
    from conftest import tiny_vocabulary
    from kbert import pretraining as P

    rng = np.random.default_rng(0)
    docs = [" ".join(f"I feel {w} today{'' if rng.random() < 0.5 else ' and now'}." for w in
                     rng.choice(["happy", "sad", "good", "bad"], size=60)) for _ in range(4)]
    trn, _, pre = P.pretraining_data(P.corpus_from_texts(docs), vocabulary=tiny_vocabulary(), maxlen=64,
                                     fixed_shapes=True, verbose=0)
    for x, y in trn.epochs_dataset(8, 1, seed=0):
        width = x["token_ids"].shape[1]
        assert width in (16, 32, 64) and x["token_ids"].shape[0] == 8
        assert x["mask_positions"].shape[1] == pre.max_predictions(width) == y["mlm"].shape[1]
