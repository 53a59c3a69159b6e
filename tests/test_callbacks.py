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
