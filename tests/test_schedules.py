import math

import keras
import pytest

from kbert import schedules as S


def lr(schedule, step):
    return S.value(schedule, step)


def test_one_cycle_numbers():
    s = S.OneCycle(1e-3, total_steps=100, pct_start=0.3)  # PyTorch OneCycleLR defaults otherwise
    assert lr(s, 0) == pytest.approx(1e-3 / 25, rel=1e-5)
    assert lr(s, 15) == pytest.approx(1e-3 / 25 + (1e-3 - 1e-3 / 25) * 0.5, rel=1e-5)  # cosine half-way
    assert lr(s, 30) == pytest.approx(1e-3, rel=1e-5)  # peak
    mid = 30 + 35
    final = 1e-3 / 25 / 1e4
    assert lr(s, mid) == pytest.approx(final + (1e-3 - final) * 0.5, rel=1e-4)
    assert lr(s, 100) == pytest.approx(final, rel=1e-4)
    assert lr(s, 500) == pytest.approx(final, rel=1e-4)  # stays at the floor past the end


def test_one_cycle_linear_and_momentum():
    s = S.OneCycle(1.0, total_steps=10, pct_start=0.5, div_factor=10, final_div_factor=1, anneal="linear")
    assert [round(lr(s, i), 5) for i in range(11)] == [0.1, 0.28, 0.46, 0.64, 0.82, 1.0, 0.82, 0.64, 0.46,
                                                      0.28, 0.1]
    assert s.momentum(0, 0.95, 0.85) == pytest.approx(0.95)
    assert s.momentum(5, 0.95, 0.85) == pytest.approx(0.85)
    assert s.momentum(10, 0.95, 0.85) == pytest.approx(0.95)


def test_triangular_numbers():
    s = S.Triangular(0.1, 1.0, step_size=4)
    got = [round(lr(s, i), 5) for i in range(10)]
    assert got == [0.1, 0.325, 0.55, 0.775, 1.0, 0.775, 0.55, 0.325, 0.1, 0.325]
    assert s.momentum(4, 0.95, 0.85) == pytest.approx(0.85)


def test_warmup_decay_numbers():
    s = S.WarmupDecay(1e-4, total_steps=110, warmup_steps=10)
    assert lr(s, 0) == 0.0
    assert lr(s, 5) == pytest.approx(5e-5)
    assert lr(s, 10) == pytest.approx(1e-4)
    assert lr(s, 60) == pytest.approx(5e-5)
    assert lr(s, 110) == pytest.approx(0.0, abs=1e-12)


def test_scaled_schedule_changes_in_place():
    s = S.Scaled(S.Triangular(0.1, 1.0, 4))
    assert lr(s, 4) == pytest.approx(1.0)
    s.scale.assign(0.5)
    assert lr(s, 4) == pytest.approx(0.5)


@pytest.mark.parametrize("schedule", [S.OneCycle(2e-5, 77, pct_start=0.2), S.Triangular(1e-5, 1e-4, 9),
                                      S.WarmupDecay(3e-5, 50, 5, 1e-6)])
def test_serialisation_round_trip(schedule):
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert type(restored) is type(schedule)
    for step in (0, 3, 10, 40):
        assert lr(restored, step) == pytest.approx(lr(schedule, step))


def test_plain_model_fit_takes_a_schedule():
    import numpy as np

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    sched = S.OneCycle(0.1, total_steps=8)
    model.compile(keras.optimizers.SGD(learning_rate=sched), "mse")
    model.fit(np.ones((16, 3)), np.ones((16, 1)), batch_size=2, epochs=1, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 8
    assert math.isclose(float(model.optimizer.learning_rate.numpy()), lr(sched, 8), rel_tol=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="total_steps"):
        S.OneCycle(1e-3, 0)
    with pytest.raises(ValueError, match="step_size"):
        S.Triangular(1e-4, 1e-3, 0)
