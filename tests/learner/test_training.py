"""kbert/learner/training.py: fit_onecycle / autofit / fit on arrays, their argument checks
(issue 14), the NaN guard, early stopping and TensorBoard."""

import math

import keras
import numpy as np
import pytest

import kbert
from learner.helpers import blobs, classifier, dense_model, linear, regressor, split


@pytest.fixture()
def learner():
    x, y = blobs(96)
    trn, val = split(x, y, 64)
    return kbert.get_learner(classifier(), trn, val, batch_size=16, seed=0)


def same_weights(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a, b))


@pytest.mark.parametrize("bad", [0, -1e-3, math.nan, math.inf, "fast"])
def test_bad_rates_are_refused_before_training(learner, bad):
    before = learner.model.get_weights()
    error = TypeError if isinstance(bad, str) else ValueError
    for call in (lambda: learner.fit_onecycle(bad, 1, verbose=0), lambda: learner.autofit(bad, 1, verbose=0),
                 lambda: learner.fit(bad, 1, verbose=0), lambda: learner.set_lr(bad)):
        with pytest.raises(error, match=r"\blr\b"):
            call()
    with pytest.raises(error, match="start_lr"):
        learner.lr_find(start_lr=bad, verbose=0)
    with pytest.raises(error, match="end_lr"):
        learner.lr_find(end_lr=bad, verbose=0)
    assert learner.history is None and same_weights(before, learner.model.get_weights())


def test_epoch_counts_are_named(learner):
    with pytest.raises(ValueError, match=r"^epochs must be a whole number of at least 1, got 0\.$"):
        learner.fit_onecycle(1e-3, 0)
    with pytest.raises(ValueError, match="epochs .* got 1.5"):
        learner.autofit(1e-3, 1.5)
    with pytest.raises(ValueError, match="n_cycles"):
        learner.fit(1e-3, 0)
    with pytest.raises(ValueError, match="cycle_len"):
        learner.fit(1e-3, 1, cycle_len=0)
    with pytest.raises(ValueError, match="max_epochs"):
        learner.lr_find(max_epochs=0)
    with pytest.raises(ValueError, match="lr_mult"):
        learner.lr_find(lr_mult=math.nan)


def test_nan_loss_stops_and_restores_the_weights_of_the_epoch_start(capsys):
    x, y = linear(64)
    x[37] = 1e30  # finite, but its squared error overflows: the loss becomes inf, then NaN
    learner = kbert.get_learner(regressor(), (x, y), batch_size=8, seed=0)
    start = learner.model.get_weights()
    hist = learner.fit(1e-3, 3, verbose=0)
    weights = learner.model.get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    assert same_weights(start, weights)  # the bad row is met in epoch 1: its start is put back
    assert len(hist.history["loss"]) == 1 and not math.isfinite(hist.history["loss"][0])
    out = capsys.readouterr().out
    assert "at epoch 1" in out and "weights of the start of epoch 1 restored" in out


def test_array_learner_trains_end_to_end_with_dict_inputs_and_one_hot_targets():
    x, y = blobs(160, classes=3)
    a, b = keras.Input((2,), name="a"), keras.Input((2,), name="b")
    h = keras.layers.Dense(8, activation="relu")(keras.layers.Concatenate()([a, b]))
    keras.utils.set_random_seed(0)
    model = keras.Model({"a": a, "b": b}, keras.layers.Dense(3, activation="softmax")(h))
    model.compile("sgd", "categorical_crossentropy", metrics=["accuracy"])
    onehot = np.eye(3)[y]
    data = ({"a": x[:, :2], "b": x[:, 2:]}, onehot)
    trn = ({k: v[:120] for k, v in data[0].items()}, onehot[:120])
    val = ({k: v[120:] for k, v in data[0].items()}, onehot[120:])
    learner = kbert.get_learner(model, trn, val, batch_size=16, seed=0)
    learner.lr_find(max_epochs=2, verbose=0)
    assert len(learner.lr_finder.lrs) > 5
    hist = learner.fit_onecycle(3e-2, 6, verbose=0)
    assert hist.history["val_accuracy"][-1] >= 0.85
    assert max(hist.history["momentum"]) <= 0.95 and "lr" in hist.history
    assert isinstance(learner.model.optimizer, kbert.optimizers.AdamW)  # kbert's optimizer, the user's loss
    np.testing.assert_array_equal(learner.ground_truth(), onehot[120:].astype("float32"))
    cm = learner.validate(print_report=False)
    assert cm.shape == (3, 3) and np.trace(cm) >= 34


def test_fit_early_stopping_as_ktrain(learner):
    with pytest.raises(ValueError, match="early_stopping monitors val_loss.*val_data"):
        kbert.get_learner(classifier(), blobs(32), batch_size=16).fit(1e-3, 3, early_stopping=1)
    hist = learner.fit(1e-1, 30, early_stopping=1, verbose=0)  # a rate high enough to stall soon
    assert len(hist.history["loss"]) < 30
    best = int(np.argmin(hist.history["val_loss"]))
    # the best epoch's weights are back: val_loss now equals the best one
    val_loss = learner.model.evaluate(learner.val_data.dataset(16), verbose=0)[0]
    assert val_loss == pytest.approx(hist.history["val_loss"][best], rel=1e-4)


def test_a_users_early_stopping_replaces_kbert_s(learner, monkeypatch):
    mine = keras.callbacks.EarlyStopping(monitor="loss", patience=100)
    created, init = [], keras.callbacks.EarlyStopping.__init__
    monkeypatch.setattr(keras.callbacks.EarlyStopping, "__init__",
                        lambda self, *a, **k: (created.append(k), init(self, *a, **k))[1])
    learner.autofit(1e-2, 3, early_stopping=1, callbacks=[mine], verbose=0)
    learner.fit(1e-2, 1, early_stopping=1, callbacks=[mine], verbose=0)
    assert mine.model is learner.model and created == []  # the user's ran; kbert added none
    learner.fit(1e-2, 1, early_stopping=1, verbose=0)
    assert created == [{"monitor": "val_loss", "patience": 1, "restore_best_weights": True, "verbose": 0}]


def test_tensorboard_callback_writes_event_files(learner, tmp_path):
    learner.fit_onecycle(1e-2, 2, callbacks=[keras.callbacks.TensorBoard(str(tmp_path))], verbose=0)
    events = {p.parent.name for p in tmp_path.rglob("events.out.tfevents.*") if p.stat().st_size > 0}
    assert events == {"train", "validation"}


def test_set_lr_sets_the_optimizer_rate(learner):
    learner.set_lr(1e-3)  # not compiled yet: kbert's AdamW at that rate
    assert float(learner.model.optimizer.learning_rate) == pytest.approx(1e-3)
    learner.fit_onecycle(1e-2, 1, verbose=0)  # the optimizer now holds a schedule
    learner.set_lr(5e-4)
    assert float(learner.model.optimizer.learning_rate) == pytest.approx(5e-4)
    learner.model.fit(learner.train_data.dataset(16), epochs=1, verbose=0, shuffle=False)  # Keras' own fit at that rate
    assert float(learner.model.optimizer.learning_rate) == pytest.approx(5e-4)


def test_set_model_takes_the_new_models_loss():
    x, y = blobs(48)
    learner = kbert.get_learner(classifier(), (x, y), batch_size=16)
    learner.fit(1e-3, 1, verbose=0)
    other = dense_model(outputs=2)
    other.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["auc"])
    learner.set_model(other)
    assert learner.model is other and learner.history is None
    assert learner.preproc.metric_names == ["auc"] and learner.train_data.preprocessor is learner.preproc
    with pytest.raises(TypeError, match="keras.Model"):
        learner.set_model("model")


def test_restore_on_nan_with_plain_keras_fit(capsys):
    x, y = linear(32)
    x[20] = 1e30
    model = regressor()
    start = model.get_weights()
    guard = kbert.callbacks.RestoreOnNaN()
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, callbacks=[guard], verbose=0)
    assert guard.stopped == (0, 5)  # row 20 is in the 6th batch of 4
    assert same_weights(start, model.get_weights())
    assert "batch 6" in capsys.readouterr().out


class Kill(keras.callbacks.Callback):
    """A crash after `after` batches of the run (the backup callback has run for that batch)."""

    def __init__(self, after):
        super().__init__()
        self.after, self.seen = after, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.after:
            raise RuntimeError("killed")


def test_a_run_killed_inside_an_epoch_resumes_at_its_last_backup_and_ends_as_the_uninterrupted_one(
        tmp_path, capsys):
    x, y = blobs(96, seed=4)
    trn, val = split(x, y, 64)  # 8 batches of 8 an epoch

    def run(folder, callbacks=None):
        learner = kbert.get_learner(classifier(), trn, val, batch_size=8, seed=2, accumulate=2)
        learner.fit_onecycle(1e-2, 3, checkpoint_folder=str(folder), checkpoint_every=3, callbacks=callbacks,
                             verbose=0)
        return learner

    whole = run(tmp_path / "a")
    with pytest.raises(RuntimeError, match="killed"):
        run(tmp_path / "b", [Kill(11)])  # backups after batches 3, 6, 9: batch 1 of epoch 2, half an update
    capsys.readouterr()
    resumed = run(tmp_path / "b")
    assert "at epoch 2/3, batch 2/8" in capsys.readouterr().out
    for a, b in zip(whole.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_allclose(b, a, atol=1e-6)
    opt_a, opt_b = whole.model.optimizer, resumed.model.optimizer
    assert int(opt_a.iterations.numpy()) == int(opt_b.iterations.numpy()) == 12  # updates
    assert int(opt_b._iterations.numpy()) == 24  # batches
    hist = resumed.history.history
    assert len(hist["loss"]) == 2 and len(hist["lr"]) == 24 - 9  # epochs 2 (its last 7 batches) and 3
    np.testing.assert_allclose(hist["lr"], whole.history.history["lr"][9:], rtol=1e-6)
    assert not (tmp_path / "b" / "backup").exists()  # removed once the run finished


def test_resume_message_names_the_epoch_and_batch(tmp_path, capsys):
    x, y = blobs(64, seed=4)
    learner = kbert.get_learner(classifier(), (x, y), batch_size=8, seed=2)
    with pytest.raises(RuntimeError, match="killed"):
        learner.fit(1e-2, 2, checkpoint_folder=str(tmp_path), checkpoint_every=2, callbacks=[Kill(5)], verbose=0)
    learner.fit(1e-2, 2, checkpoint_folder=str(tmp_path), checkpoint_every=2, verbose=0)
    out = capsys.readouterr().out
    assert f"resuming from {str(tmp_path / 'backup')!r} at epoch 1/2, batch 5/8" in out
    assert len(learner.history.history["lr"]) == 12


def test_the_train_step_is_traced_once_for_batches_of_every_width():
    """The optimizer is built before fit: a train step that created its variables while
    traced would be traced twice (seconds of a small model's fit, every fit)."""
    from conftest import sentiment_df, tiny_spec

    trn, val, pre = kbert.text.texts_from_df(sentiment_df(96, max_len=12), "text", "label", preset=tiny_spec(),
                                             maxlen=32, verbose=0)
    widths = {int(x["token_ids"].shape[1]) for x, _ in trn.dataset(16)}
    assert len(widths) > 1, widths  # batches are padded to their own longest row
    model = kbert.text.text_classifier(pre, seed=0)
    traces, step = [], model.train_step

    def counting_step(data):
        traces.append(1)  # Python runs only while TensorFlow traces
        return step(data)

    model.train_step = counting_step
    learner = kbert.get_learner(model, trn, val, batch_size=16, seed=0)
    learner.fit_onecycle(1e-3, 2, verbose=0)
    assert len(traces) == 1
    learner.fit_onecycle(1e-3, 1, verbose=0)  # a new optimizer: one more trace, not two
    assert len(traces) == 2
