import keras
import numpy as np
import pytest
import tensorflow as tf

from kbert import optimizers
from kbert import schedules as S

SHAPES = [(40, 6), (6, 3), (3,)]


def _apply(cls, grads_per_step, **kwargs):
    """Trains fresh variables (same start for every call) with the given gradients."""
    rng = np.random.default_rng(0)
    variables = [keras.Variable(rng.standard_normal(s).astype("float32"), name=f"w{i}")
                 for i, s in enumerate(SHAPES)]
    kwargs.setdefault("weight_decay", 0.1)
    opt = cls(**kwargs)
    opt.exclude_from_weight_decay(var_names=["w2"])
    for grads in grads_per_step:
        opt.apply(grads, variables)
    return [v.numpy() for v in variables], opt


def _dense_grads(steps=6, seed=1):
    rng = np.random.default_rng(seed)
    return [[tf.constant(rng.standard_normal(s).astype("float32")) for s in SHAPES] for _ in range(steps)]


def _sparse_grads(indices, steps=6, seed=2):
    rng = np.random.default_rng(seed)
    out = []
    for grads in _dense_grads(steps, seed):
        values = tf.constant(rng.standard_normal((len(indices), SHAPES[0][1])).astype("float32"))
        out.append([tf.IndexedSlices(values, tf.constant(indices), tf.constant(SHAPES[0]))] + grads[1:])
    return out


def _max_diff(a, b):
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b))


def test_fused_adamw_matches_keras_adamw():
    kwargs = dict(learning_rate=S.OneCycle(1e-2, total_steps=6), epsilon=1e-6, clipnorm=1.0)
    ours, _ = _apply(optimizers.AdamW, _dense_grads(), **kwargs)
    theirs, _ = _apply(keras.optimizers.AdamW, _dense_grads(), **kwargs)
    start, _ = _apply(keras.optimizers.AdamW, [])
    assert _max_diff(ours, start) > 1e-3  # it trained
    assert _max_diff(ours, theirs) < 1e-6
    # the weight-decay exclusion holds: w2 moved by Adam alone, the same in both
    assert np.allclose(ours[2], theirs[2], atol=1e-6)


def test_fused_adamw_with_a_cycled_beta_1_matches_keras():
    # kbert.callbacks.CycleMomentum makes beta_1 a variable
    def run(cls):
        rng = np.random.default_rng(0)
        variables = [keras.Variable(rng.standard_normal(s).astype("float32")) for s in SHAPES]
        opt = cls(learning_rate=1e-2, weight_decay=0.01)
        opt.beta_1 = keras.Variable(0.95, trainable=False)
        for i, grads in enumerate(_dense_grads()):
            opt.beta_1.assign(0.95 - 0.02 * i)
            opt.apply(grads, variables)
        return [v.numpy() for v in variables]

    assert _max_diff(run(optimizers.AdamW), run(keras.optimizers.AdamW)) < 1e-6


def test_sparse_gradients_are_adam_on_the_summed_gradient():
    unique = [1, 5, 7, 30]
    ours, _ = _apply(optimizers.AdamW, _sparse_grads(unique), learning_rate=1e-2)
    theirs, _ = _apply(keras.optimizers.AdamW, _sparse_grads(unique), learning_rate=1e-2)
    assert _max_diff(ours, theirs) < 1e-6

    # a repeated row: Adam sees the summed gradient, the same as the densified one
    repeated = [1, 5, 5, 30, 5]
    ours, _ = _apply(optimizers.AdamW, _sparse_grads(repeated), learning_rate=1e-2)
    dense = [[tf.convert_to_tensor(g) for g in grads] for grads in _sparse_grads(repeated)]
    reference, _ = _apply(keras.optimizers.AdamW, dense, learning_rate=1e-2)
    assert _max_diff(ours, reference) < 1e-6
    # (Keras' own sparse path squares each occurrence: not Adam, and visibly different)
    keras_sparse, _ = _apply(keras.optimizers.AdamW, _sparse_grads(repeated), learning_rate=1e-2)
    assert _max_diff(keras_sparse, reference) > 1e-4


def test_amsgrad_falls_back_to_keras():
    ours, _ = _apply(optimizers.AdamW, _dense_grads(), learning_rate=1e-2, amsgrad=True)
    theirs, _ = _apply(keras.optimizers.AdamW, _dense_grads(), learning_rate=1e-2, amsgrad=True)
    assert _max_diff(ours, theirs) < 1e-6


def test_config_round_trip():
    opt = optimizers.AdamW(learning_rate=S.OneCycle(3e-4, total_steps=10), weight_decay=0.02, epsilon=1e-6,
                           clipnorm=1.0)
    back = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert type(back) is optimizers.AdamW
    assert back.weight_decay == pytest.approx(0.02)
    assert back.epsilon == pytest.approx(1e-6)
    assert back.clipnorm == pytest.approx(1.0)
    assert isinstance(back._learning_rate, S.OneCycle)
    assert S.value(back._learning_rate, 3) == pytest.approx(S.value(opt._learning_rate, 3))


@pytest.mark.parametrize("cls, keras_cls", [(optimizers.AdamW, keras.optimizers.AdamW),
                                            (optimizers.Lamb, keras.optimizers.Lamb)])
def test_accumulated_gradients_are_one_update_with_their_mean(cls, keras_cls):
    # 6 batches, 3 per update: Keras' optimizer given the 2 mean gradients gets the same weights;
    # the schedule (2 steps) counts updates, clipnorm acts on the mean, weight decay once per update
    grads = _dense_grads(6)
    means = [[sum(g[i] for g in grads[j:j + 3]) / 3 for i in range(len(SHAPES))] for j in (0, 3)]
    kwargs = dict(learning_rate=S.OneCycle(1e-2, total_steps=2), epsilon=1e-6, clipnorm=1.0)
    ours, opt = _apply(cls, grads, gradient_accumulation_steps=3, **kwargs)
    theirs, _ = _apply(keras_cls, means, **kwargs)
    assert _max_diff(ours, _apply(keras_cls, [])[0]) > 1e-3  # it trained
    assert _max_diff(ours, theirs) < 1e-6
    assert int(opt.iterations.numpy()) == 2 and int(opt._iterations.numpy()) == 6
    # two batches more: accumulated, not applied
    before = [v.numpy() for v in opt._trainable_variables]
    for g in _dense_grads(2, seed=5):
        opt.apply(g)
    assert _max_diff(before, [v.numpy() for v in opt._trainable_variables]) == 0


def test_lamb_is_keras_lamb_and_skips_weight_decay_where_excluded():
    kwargs = dict(learning_rate=1e-2, epsilon=1e-6, clipnorm=1.0)
    ours, _ = _apply(optimizers.Lamb, _dense_grads(), **kwargs)
    theirs, _ = _apply(keras.optimizers.Lamb, _dense_grads(), **kwargs)
    assert _max_diff(ours, theirs) < 1e-6
    no_decay, _ = _apply(optimizers.Lamb, _dense_grads(), weight_decay=None, **kwargs)
    assert np.array_equal(ours[2], no_decay[2])  # w2 is excluded: as without weight decay
    assert _max_diff(ours[:2], no_decay[:2]) > 1e-4  # the others decay
    back = keras.optimizers.deserialize(keras.optimizers.serialize(optimizers.Lamb(weight_decay=0.02)))
    assert type(back) is optimizers.Lamb and back.weight_decay == pytest.approx(0.02)


FACTORS = {"w0": 0.5, "w1": 0.25}  # w2: not listed, the full rate


@pytest.mark.parametrize("cls, keras_cls", [(optimizers.AdamW, keras.optimizers.AdamW),
                                            (optimizers.Lamb, keras.optimizers.Lamb)])
@pytest.mark.parametrize("accumulate", [None, 3])
def test_lr_multipliers_give_each_variable_its_own_rate(cls, keras_cls, accumulate):
    # each variable trains as Keras' optimizer does at its own rate: the schedule (OneCycle is
    # linear in its peak) times the factor, for Adam's or LAMB's step and the weight decay alike
    grads = _dense_grads(6)
    ours, _ = _apply(cls, grads, learning_rate=S.OneCycle(1e-2, total_steps=6 // (accumulate or 1)),
                     lr_multipliers=FACTORS, gradient_accumulation_steps=accumulate, clipnorm=1.0)
    if accumulate:
        grads = [[sum(g[i] for g in grads[j:j + 3]) / 3 for i in range(len(SHAPES))] for j in (0, 3)]
    for i in range(len(SHAPES)):
        factor = FACTORS.get(f"w{i}", 1.0)
        reference, _ = _apply(keras_cls, grads, learning_rate=S.OneCycle(1e-2 * factor, total_steps=len(grads)),
                              clipnorm=1.0)
        assert np.abs(ours[i] - reference[i]).max() < 1e-6, f"w{i}"
    plain, _ = _apply(cls, _dense_grads(6), learning_rate=S.OneCycle(1e-2, total_steps=6 // (accumulate or 1)),
                      gradient_accumulation_steps=accumulate, clipnorm=1.0)
    assert np.abs(ours[0] - plain[0]).max() > 1e-3  # the factors changed something
    assert np.array_equal(ours[2], plain[2])  # and nothing where the factor is 1


def test_lr_multipliers_are_checked_and_saved():
    with pytest.raises(ValueError, match=r"lr_multipliers\['w0'\] must be a positive"):
        optimizers.AdamW(lr_multipliers={"w0": 0.0})
    opt = optimizers.AdamW(learning_rate=1e-3, lr_multipliers={"a/kernel": 0.5})
    back = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert back.lr_multipliers == {"a/kernel": 0.5}


@pytest.mark.parametrize("accumulate", [None, 2])
def test_ema_of_the_fused_adamw_is_keras_rule_once_per_update(accumulate):
    # the average: the weights after the first update, then m·avg + (1-m)·w after each update
    rng = np.random.default_rng(0)
    variables = [keras.Variable(rng.standard_normal(s).astype("float32"), name=f"w{i}")
                 for i, s in enumerate(SHAPES)]
    opt = optimizers.AdamW(learning_rate=1e-2, use_ema=True, ema_momentum=0.9,
                           gradient_accumulation_steps=accumulate)
    average = None
    for n, grads in enumerate(_dense_grads(6)):
        opt.apply(grads, variables)
        if accumulate and (n + 1) % accumulate:
            continue  # no update, no move of the average
        now = [v.numpy().astype("float64") for v in variables]
        average = now if average is None else [0.9 * a + 0.1 * w for a, w in zip(average, now)]
    assert _max_diff([v.numpy() for v in opt._model_variables_moving_average], average) < 1e-6
    assert _max_diff(average, [v.numpy() for v in variables]) > 1e-4  # the average lags the weights
    opt.finalize_variable_values(variables)
    assert _max_diff([v.numpy() for v in variables], average) < 1e-6


@pytest.mark.filterwarnings("ignore:Gradients do not exist")
def test_ema_with_accumulation_keeps_variables_without_gradients():
    # a variable left without a gradient keeps its value through finalize (its average is itself)
    rng = np.random.default_rng(0)
    variables = [keras.Variable(rng.standard_normal(s).astype("float32"), name=f"w{i}")
                 for i, s in enumerate(SHAPES)]
    start = variables[2].numpy()
    opt = optimizers.AdamW(learning_rate=1e-2, use_ema=True, ema_momentum=0.9, gradient_accumulation_steps=2)
    for grads in _dense_grads(4):
        opt.apply(grads[:2] + [None], variables)
    opt.finalize_variable_values(variables)
    assert np.array_equal(variables[2].numpy(), start)
