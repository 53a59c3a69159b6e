import keras
import numpy as np
import pytest

from kbert import callbacks as C
from kbert import schedules as S


def tiny_model(opt):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(opt, "mse")
    return model


def data(n=64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, x @ np.array([[1.0], [-2.0], [0.5], [3.0]], "float32")


def test_batch_losses_recover_each_batch_from_running_means():
    b = C.BatchLosses()
    batch_losses = [4.0, 2.0, 3.0, 1.0]
    means = np.cumsum(batch_losses) / np.arange(1, 5)
    assert [b.update(m) for m in means] == pytest.approx(batch_losses)


def test_recorder_batch_losses_match_keras_per_batch_losses():
    x, y = data()
    model = tiny_model(keras.optimizers.SGD(0.0))  # lr 0: weights fixed, so losses are reproducible
    rec = C.Recorder()
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, callbacks=[rec], verbose=0)
    expected = [float(model.evaluate(x[i:i + 16], y[i:i + 16], verbose=0)) for i in range(0, 64, 16)]
    assert rec.losses == pytest.approx(expected, rel=1e-4)


def test_cycle_momentum_sets_beta_1_each_batch_with_plain_fit():
    x, y = data()
    sched = S.OneCycle(0.01, total_steps=8, pct_start=0.5, anneal="linear")
    model = tiny_model(keras.optimizers.Adam(sched))
    cb = C.CycleMomentum(sched, 0.95, 0.85)
    rec = C.Recorder()
    model.fit(x, y, batch_size=8, epochs=1, callbacks=[cb, rec], verbose=0)
    expected = [sched.momentum(i, 0.95, 0.85) for i in range(8)]
    assert cb.momentums == pytest.approx(expected)
    assert rec.momentums == pytest.approx(expected)  # what the optimizer held during each step
    assert isinstance(model.optimizer.beta_1, float)  # restored: the config stays serialisable
    model.optimizer.get_config()


def test_momentum_really_reaches_the_update():
    """Two runs that differ only in beta_1 schedule end with different weights."""
    x, y = data()
    finals = []
    for low in (0.85, 0.5):
        sched = S.OneCycle(0.05, total_steps=8)
        model = tiny_model(keras.optimizers.Adam(sched))
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, callbacks=[C.CycleMomentum(sched, 0.95, low)],
                  verbose=0)
        finals.append(model.get_weights()[0])
    assert not np.allclose(finals[0], finals[1])


def test_lr_finder_stops_when_loss_diverges():
    x, y = data(256)
    sched = keras.optimizers.schedules.ExponentialDecay(1e-4, decay_steps=1, decay_rate=1.5)
    model = tiny_model(keras.optimizers.SGD(sched))
    finder = C.LRFinder(stop_factor=4)
    model.fit(x, y, batch_size=4, epochs=3, callbacks=[finder], verbose=0)
    assert len(finder.lrs) < 3 * 64  # stopped early
    assert finder.lrs == pytest.approx([1e-4 * 1.5 ** i for i in range(len(finder.lrs))], rel=1e-5)
    assert finder.losses[-1] > 4 * min(finder.losses) or not np.isfinite(finder.losses[-1])


def test_reduce_schedule_on_plateau():
    sched = S.Scaled(S.Triangular(0.1, 1.0, 2))
    cb = C.ReduceScheduleOnPlateau(sched, monitor="val_loss", patience=2, factor=2, verbose=0)
    for loss in (1.0, 0.9, 0.95, 0.92):  # two epochs without improvement after 0.9
        cb.on_epoch_end(0, {"val_loss": loss})
    assert float(sched.scale.numpy()) == pytest.approx(0.5)
    assert S.value(sched, 2) == pytest.approx(0.5)


# ---------------------------------------------------------------- LR finder: ktrain's rules


def fastai_valley(losses):
    """fastai's / ktrain's valley, as written there (Python loops), to check ours against."""
    n = len(losses)
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(0, i):
            if (losses[i] < losses[j]) and (lds[i] < lds[j] + 1):
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    return max_start + int(sections) + int(sections / 2)


def synthetic_curve():
    """A smoothed LR-finder curve: falls fastest at batch 40, bottoms out at 65, then diverges."""
    i = np.arange(80.0)
    losses = np.where(i <= 65, 1.5 - np.tanh((i - 40) / 8), 1.5 - np.tanh(25 / 8) + 0.5 * (i - 65))
    return 1e-6 * 1.25 ** i, losses


def test_valley_on_a_known_curve():
    # the longest falling run is batches 0..65 (66 points): fastai puts the valley at
    # start - 1 + 22 + 11 = 32
    assert C.valley(synthetic_curve()[1]) == 32
    # a run of 30 falling points after a flat start: batches 4..34, valley 3 + 10 + 5
    assert C.valley([1.0] * 5 + list(np.linspace(0.9, 0.1, 30)) + list(np.linspace(0.2, 2.0, 10))) == 18


@pytest.mark.parametrize("seed", range(5))
def test_valley_matches_fastai_loops(seed):
    rng = np.random.default_rng(seed)
    losses = list(np.cumsum(rng.normal(size=120)))
    assert C.valley(losses) == fastai_valley(losses)


def test_valley_of_a_short_run_at_the_start_is_a_valid_index():
    # the run (2.0, 1.0) starts at batch 0: fastai / ktrain compute -1, i.e. the LAST
    # (diverged) point's learning rate; kbert clips to the first point
    assert fastai_valley([2.0, 1.0, 3.0, 4.0]) == -1
    assert C.valley([2.0, 1.0, 3.0, 4.0]) == 0
    assert C.valley([1.0, 2.0, 3.0]) == fastai_valley([1.0, 2.0, 3.0]) == 0


def test_lr_estimates_are_ktrains_three():
    lrs, losses = synthetic_curve()
    steepest, min_loss_10, valley = C.lr_estimates(lrs, losses)
    assert steepest == pytest.approx(lrs[40])          # steepest descent (batches 32..64 searched)
    assert min_loss_10 == pytest.approx(lrs[65] / 10)  # minimum loss / 10
    assert valley == pytest.approx(lrs[32])
    # too few points before the minimum: no gradient estimate, as ktrain
    assert C.lr_estimates([1e-5, 1e-4, 1e-3], [1.0, 0.5, 2.0])[0] is None


class _Stub:
    """Enough of a model for a callback: an optimizer and stop_training."""

    def __init__(self, lr=0.1):
        self.optimizer = keras.optimizers.SGD(lr)
        self.stop_training = False


def test_lr_finder_smooths_as_ktrain_and_stops_at_stop_factor():
    batch_losses = [1.0, 0.8, 0.6, 0.5, 0.4, 3.0, 9.0, 30.0, 90.0]
    finder = C.LRFinder(stop_factor=4)
    finder.set_model(_Stub())
    finder.on_epoch_begin(0)
    expected, avg = [], 0.0
    for n, loss in enumerate(batch_losses, start=1):
        running_mean = float(np.mean(batch_losses[:n]))
        finder.on_train_batch_end(n - 1, {"loss": running_mean})
        avg = 0.98 * avg + 0.02 * loss
        expected.append(avg / (1 - 0.98 ** n))
        if finder.model.stop_training:
            break
    assert finder.raw_losses == pytest.approx(batch_losses[:len(finder.raw_losses)])
    assert finder.losses == pytest.approx(expected)
    # it stops at the first smoothed loss above 4 × the best one, and records it (as ktrain)
    first_over = next(k for k, v in enumerate(expected) if k and v > 4 * min(expected[:k]))
    assert len(finder.losses) == first_over + 1


def test_lr_finder_does_not_record_a_non_finite_loss():
    finder = C.LRFinder()
    finder.set_model(_Stub())
    finder.on_epoch_begin(0)
    finder.on_train_batch_end(0, {"loss": 1.0})
    finder.on_train_batch_end(1, {"loss": float("nan")})
    assert finder.model.stop_training and finder.losses == [1.0] and len(finder.lrs) == 1


def test_lr_finder_with_plain_fit_sets_ktrain_indices():
    x, y = data(256)
    n = 64
    mult = (10 / 1e-7) ** (1 / n)  # ktrain's rule for 1 epoch of 64 batches
    sched = keras.optimizers.schedules.ExponentialDecay(1e-7, decay_steps=1, decay_rate=mult)
    model = tiny_model(keras.optimizers.SGD(sched))
    finder = C.LRFinder(stop_factor=4, max_steps=n)
    model.fit(x, y, batch_size=4, epochs=1, callbacks=[finder], verbose=0)
    assert finder.lrs == pytest.approx([1e-7 * mult ** i for i in range(len(finder.lrs))], rel=1e-4)
    assert finder.find_called() and finder.ml == int(np.argmin(finder.losses))
    steepest, min_loss_10, valley = finder.estimate_lr()
    assert min_loss_10 == pytest.approx(finder.lrs[finder.ml] / 10)
    assert valley == finder.lrs[C.valley(finder.losses)]


# ---------------------------------------------------------------- per-epoch lr and momentum in History


def test_history_gets_lr_and_momentum_per_epoch():
    x, y = data(64)
    steps, epochs = 4, 3
    sched = S.OneCycle(0.01, total_steps=steps * epochs)
    model = tiny_model(keras.optimizers.Adam(sched))
    hist = model.fit(x, y, batch_size=16, epochs=epochs, verbose=0,
                     callbacks=[C.Recorder(), C.CycleMomentum(sched, 0.95, 0.85)])
    # lr: what the optimizer holds at the end of each epoch (its schedule at the step reached),
    # as Keras' LearningRateScheduler logs learning_rate
    assert hist.history["lr"] == pytest.approx([S.value(sched, steps * (e + 1)) for e in range(epochs)], rel=1e-5)
    # momentum: beta_1 as set for the epoch's last batch
    assert hist.history["momentum"] == pytest.approx([sched.momentum(steps * (e + 1) - 1) for e in range(epochs)])


def test_history_has_no_momentum_when_it_is_not_cycled():
    x, y = data(32)
    model = tiny_model(keras.optimizers.Adam(0.02))
    hist = model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[C.Recorder()])
    assert hist.history["lr"] == pytest.approx([0.02, 0.02]) and "momentum" not in hist.history


def test_backup_and_restore_reads_its_resume_point(tmp_path):
    import json

    folder = tmp_path / "backup"
    assert (C.BackupAndRestore(str(folder), steps_per_epoch=8).initial_epoch,
            C.BackupAndRestore(str(folder), steps_per_epoch=8).initial_step) == (0, 0)  # nothing saved yet
    folder.mkdir()
    for meta, point in [({"epoch": 2, "batch": 0}, (2, 0)),  # Keras' own metadata: an epoch boundary
                        ({"epoch": 1, "batch": 3, "step": 3}, (1, 3)),
                        ({"epoch": 1, "batch": 8, "step": 8}, (2, 0))]:  # saved after the epoch's last batch
        (folder / "training_metadata.json").write_text(json.dumps(meta))
        backup = C.BackupAndRestore(str(folder), steps_per_epoch=8, save_freq=4)
        assert (backup.initial_epoch, backup.initial_step) == point
    with pytest.raises(ValueError, match="save_freq must be 'epoch' or a whole number of batches"):
        C.BackupAndRestore(str(folder), steps_per_epoch=8, save_freq=0)
    with pytest.raises(ValueError, match="steps_per_epoch must be a whole number"):
        C.BackupAndRestore(str(folder), steps_per_epoch=0)


def test_recorded_rates_follow_updates_with_gradient_accumulation():
    from kbert import optimizers

    sched = S.OneCycle(1e-2, total_steps=4)
    model = tiny_model(optimizers.AdamW(sched, gradient_accumulation_steps=2))
    rec = C.Recorder()
    x, y = data(64)
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, callbacks=[rec], verbose=0)
    # 8 batches, 4 updates: each pair of batches records the rate of the update it feeds
    assert rec.lrs == pytest.approx([S.value(sched, i // 2) for i in range(8)], rel=1e-6)
