"""Layer-wise learning-rate decay (`lr_decay_rate`) and the weights' moving average (`ema`)
of the Learner (issue 19): each layer moves at its own rate, and the final weights are the
average of the trained ones, which validation measured."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kbert
from conftest import sentiment_df, tiny_family_spec, tiny_spec
from kbert.distill.student import encoder_blocks
from kbert.learner.layers import layer_lr_multipliers
from kbert.predictors.base import find_backbone
from learner.helpers import blobs, classifier


@pytest.fixture(scope="module")
def sentiment():
    trn, val, pre = kbert.text.texts_from_df(sentiment_df(16), "text", "label", val_df=sentiment_df(8, seed=1),
                                             preset=tiny_spec(num_layers=3), maxlen=16, verbose=0)
    return trn, val, pre


@pytest.fixture(scope="module")
def plain(sentiment):
    """The change of one update without layer-wise rates (shared by the tests)."""
    return _one_update(sentiment)[0]


def _one_update(sentiment, strategy=None, batch_size=16, **kwargs):
    """The weights' change after one update (16 rows: one batch, or two accumulated) at the
    constant rate 0.5."""
    trn, val, pre = sentiment
    model = kbert.text.text_classifier(pre, seed=0, strategy=strategy)
    learner = kbert.get_learner(model, trn, val, batch_size=batch_size, seed=0, **kwargs)
    before = {w.path: w.numpy() for w in model.trainable_weights}
    learner.fit(0.5, 1, verbose=0)  # a large rate: the change is far above float32's rounding
    return {w.path: w.numpy() - before[w.path] for w in model.trainable_weights}, model


def _assert_scaled(decayed, plain, model, decay):
    """Each variable's change is its factor times its change without decay (Adam's first
    step and the weight decay are linear in the rate)."""
    factors = layer_lr_multipliers(model, decay)
    checked = 0
    for path, delta in plain.items():
        moved = np.abs(delta) > 1e-3  # (attention's key bias has no gradient: it does not move)
        checked += bool(moved.any())
        # atol: a change is a difference of weights up to ~1 (layer norm's gamma), whose float32
        # rounding is ~1e-7 whatever the change's size
        np.testing.assert_allclose(decayed[path][moved], factors.get(path, 1.0) * delta[moved], rtol=1e-5,
                                   atol=2e-7, err_msg=path)
    assert checked >= len(plain) - 3


def test_each_layer_moves_at_its_decayed_rate(sentiment, plain):
    decayed, model = _one_update(sentiment, lr_decay_rate=0.8)
    backbone = find_backbone(model)
    blocks = encoder_blocks(backbone)
    expected = {}
    for i, block in enumerate(blocks):  # 3 layers: 0.8³, 0.8², 0.8 from the bottom
        expected.update({w.path: 0.8 ** (3 - i) for w in block.weights})
    embeddings = [w.path for w in backbone.get_layer("token_embedding").weights]
    expected.update({p: 0.8 ** 4 for p in embeddings})
    assert layer_lr_multipliers(model, 0.8) == pytest.approx(
        {**expected, **{w.path: 0.8 ** 4 for w in backbone.weights if "embedding" in w.path}})
    inside = {id(w) for w in backbone.weights}
    head = [w.path for w in model.trainable_weights if id(w) not in inside]
    assert head and all(p not in expected for p in head)
    _assert_scaled(decayed, plain, model, 0.8)


def test_layer_rates_under_a_mirrored_strategy_and_with_accumulation(sentiment):
    decayed, _ = _one_update(sentiment, lr_decay_rate=0.8)
    mirrored, _ = _one_update(sentiment, strategy=tf.distribute.MirroredStrategy(["/cpu:0"]), lr_decay_rate=0.8)
    assert max(float(np.abs(decayed[p] - mirrored[p]).max()) for p in decayed) < 1e-6
    plain, _ = _one_update(sentiment, batch_size=8, accumulate=2)  # two batches of 8, accumulated
    decayed, model = _one_update(sentiment, batch_size=8, accumulate=2, lr_decay_rate=0.8)
    _assert_scaled(decayed, plain, model, 0.8)


def test_lr_decay_rate_none_or_one_changes_nothing(sentiment, plain):
    one, _ = _one_update(sentiment, lr_decay_rate=1.0)
    assert all(np.array_equal(plain[p], one[p]) for p in plain)


def test_multipliers_cover_every_family():
    # the encoder layers of each family are found (ALBERT: its shared group)
    for family in ("distilbert", "albert", "roberta", "electra", "deberta_v3"):
        _, _, pre = kbert.text.texts_from_df(sentiment_df(8), "text", "label", maxlen=16, verbose=0,
                                               preset=tiny_family_spec(family))
        model = kbert.text.text_classifier(pre, seed=0)
        factors = layer_lr_multipliers(model, 0.5)
        depth = len(encoder_blocks(find_backbone(model)))
        assert set(factors.values()) == {0.5 ** k for k in range(1, depth + 2)}, family
        assert set(factors) <= {w.path for w in find_backbone(model).weights}


def test_bad_options_are_refused():
    x, y = blobs(32)
    with pytest.raises(ValueError, match="lr_decay_rate needs a model with a keras-hub encoder"):
        kbert.get_learner(classifier(), (x, y), lr_decay_rate=0.9)
    with pytest.raises(ValueError, match=r"ema must be None or a number in \(0, 1\)"):
        kbert.get_learner(classifier(), (x, y), ema=1.0)
    with pytest.raises(ValueError, match=r"lr_decay_rate must be None or a number in \(0, 1\]"):
        kbert.get_learner(classifier(), (x, y), lr_decay_rate=1.5)


class _Weights(keras.callbacks.Callback):
    """The trained weights after every batch."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_batch_end(self, batch, logs=None):
        self.seen.append([w.numpy().astype("float64") for w in self.model.trainable_weights])


@pytest.mark.parametrize("strategy, accumulate", [("default", 1), ("default", 2), ("mirrored", 1), ("mirrored", 2)])
def test_final_weights_are_the_average_that_validation_measured(strategy, accumulate):
    st = tf.distribute.get_strategy() if strategy == "default" else tf.distribute.MirroredStrategy(["/cpu:0"])
    x, y = blobs(96, seed=1)
    with st.scope():
        model = classifier(seed=0)
    learner = kbert.get_learner(model, (x[:64], y[:64]), (x[64:], y[64:]), batch_size=8, seed=3, ema=0.9)
    seen = _Weights()
    hist = learner.fit_onecycle(3e-2, 2, verbose=0, callbacks=[seen], accumulate=accumulate)
    average = None
    for n, weights in enumerate(seen.seen):  # NumPy: Keras' rule, once per update
        if (n + 1) % accumulate:
            continue
        average = weights if average is None else [0.9 * a + 0.1 * w for a, w in zip(average, weights)]
    final = [w.numpy() for w in model.trainable_weights]
    assert max(float(np.abs(f - a).max()) for f, a in zip(final, average)) < 1e-6
    assert max(float(np.abs(f - w).max()) for f, w in zip(final, seen.seen[-1])) > 1e-3  # not the last weights
    # validation (each epoch) measured the average: the last epoch's val_loss is that of the final weights
    loss = model.evaluate(x[64:], y[64:], batch_size=8, verbose=0, return_dict=True)["loss"]
    assert hist.history["val_loss"][-1] == pytest.approx(loss, rel=1e-5)


def test_early_stopping_keeps_the_best_epochs_average():
    x, y = blobs(96, seed=1)
    learner = kbert.get_learner(classifier(seed=0), (x[:64], y[:64]), (x[64:], y[64:]), batch_size=8, seed=3,
                                ema=0.9)
    hist = learner.fit(3e-2, 4, early_stopping=1, verbose=0)
    best = int(np.argmin(hist.history["val_loss"]))
    loss = learner.model.evaluate(x[64:], y[64:], batch_size=8, verbose=0, return_dict=True)["loss"]
    assert loss == pytest.approx(hist.history["val_loss"][best], rel=1e-5)
