"""Gradient accumulation (`accumulate=`) and the Lamb optimizer (`optimizer="lamb"`) of the
Learner (issue 18): k batches of b rows with accumulate=k train as k·b-row batches."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kbert
from learner.helpers import blobs, classifier


def _max_diff(a, b):
    return max(float(np.abs(u - v).max()) for u, v in zip(a, b))


def _n(value):
    return int(keras.ops.convert_to_numpy(value))


def _learner(strategy, batch_size, n=64, **kwargs):
    x, y = blobs(n + 32, seed=1)
    with strategy.scope():
        model = classifier(seed=0)  # no dropout: the runs are comparable
    return kbert.get_learner(model, (x[:n], y[:n]), (x[n:], y[n:]), batch_size=batch_size, seed=3, **kwargs)


@pytest.mark.parametrize("strategy, where", [("default", "get_learner"), ("mirrored", "fit")])
def test_k_batches_accumulated_equal_one_batch_k_times_larger(strategy, where):
    st = tf.distribute.get_strategy() if strategy == "default" else tf.distribute.MirroredStrategy(["/cpu:0"])
    big = _learner(st, 32)
    hist_big = big.fit_onecycle(3e-2, 2, verbose=0)
    small = _learner(st, 8, **({"accumulate": 4} if where == "get_learner" else {}))
    hist = small.fit_onecycle(3e-2, 2, verbose=0, **({"accumulate": 4} if where == "fit" else {}))
    # epoch e's rows come in the same order at both sizes: 4 batches of 8 = one batch of 32
    assert _max_diff(small.model.get_weights(), big.model.get_weights()) < 1e-6
    assert _max_diff(small.model.get_weights(), big._initial_weights) > 1e-2  # it trained
    opt = small.model.optimizer
    assert _n(opt.iterations) == _n(big.model.optimizer.iterations) == 4  # updates
    assert _n(opt._iterations) == 16  # batches
    # the schedule counts updates: each batch records the rate of the update it feeds
    assert hist.history["lr"] == pytest.approx(np.repeat(hist_big.history["lr"], 4), rel=1e-6)
    assert hist.history["momentum"] == pytest.approx(np.repeat(hist_big.history["momentum"], 4), rel=1e-6)
    # 4 batches before an update see the weights that the big batch saw: the same epoch losses
    assert hist.history["loss"] == pytest.approx(hist_big.history["loss"], rel=1e-5)
    assert hist.history["val_loss"] == pytest.approx(hist_big.history["val_loss"], rel=1e-5)


def test_fit_and_autofit_count_updates_and_lr_find_ignores_accumulate():
    learner = _learner(tf.distribute.get_strategy(), 8, accumulate=2)
    learner.lr_find(max_epochs=1, verbose=0)
    assert len(learner.lr_finder.lrs) == 8 and learner.model.optimizer.gradient_accumulation_steps is None
    learner.fit(1e-2, 1, cycle_len=1, verbose=0)  # SGDR: one cycle of 4 updates
    sched = learner.model.optimizer._learning_rate
    assert sched.first_decay_steps == 4 and _n(learner.model.optimizer.iterations) == 4
    learner.autofit(1e-2, 1, verbose=0, accumulate=4)  # one triangle over the epoch's 2 updates
    assert learner.model.optimizer._learning_rate.schedule.step_size == 1
    assert learner.history.history["lr"][:4] == pytest.approx([1e-3] * 4)  # update 0 of the cycle
    assert learner.history.history["lr"][4] == pytest.approx(1e-2)  # update 1: the peak


def test_bad_accumulate_optimizer_and_checkpoint_every_are_named():
    x, y = blobs(32)
    with pytest.raises(ValueError, match="accumulate must be a whole number of at least 1, got 0"):
        kbert.get_learner(classifier(), (x, y), accumulate=0)
    with pytest.raises(ValueError, match=r"optimizer must be one of \['adamw', 'lamb'\], got 'sgd'"):
        kbert.get_learner(classifier(), (x, y), optimizer="sgd")
    learner = kbert.get_learner(classifier(), (x, y), batch_size=16)
    with pytest.raises(ValueError, match="accumulate must be .* got 1.5"):
        learner.fit_onecycle(1e-3, 1, accumulate=1.5)
    with pytest.raises(ValueError, match="checkpoint_every needs checkpoint_folder"):
        learner.fit_onecycle(1e-3, 1, checkpoint_every=2)


def test_lamb_trains_and_skips_weight_decay_on_biases():
    x, y = blobs(160, seed=2)
    learner = kbert.get_learner(classifier(), (x[:128], y[:128]), (x[128:], y[128:]), batch_size=16, seed=0,
                                optimizer="lamb", weight_decay=0.1)
    hist = learner.fit_onecycle(2e-2, 4, verbose=0)
    losses = hist.history["loss"]
    assert losses[-1] < 0.5 * losses[0], losses
    opt = learner.model.optimizer
    assert isinstance(opt, kbert.optimizers.Lamb) and opt.clipnorm == 1.0
    decayed = {"/".join(v.path.split("/")[-2:]): opt._use_weight_decay(v) for v in learner.model.trainable_variables}
    assert decayed == {"hidden/kernel": True, "hidden/bias": False, "out/kernel": True, "out/bias": False}
