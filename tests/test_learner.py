import numpy as np
import pytest
from sklearn.metrics import confusion_matrix

import kbert
from conftest import sentiment_df, tiny_spec


@pytest.fixture(scope="module")
def toy():
    trn, val, pre = kbert.text.texts_from_df(sentiment_df(240), "text", "label", preset=tiny_spec(), maxlen=32,
                                             val_pct=0.25, verbose=0)
    return trn, val, pre


def learner_for(toy, seed=1, **kw):
    trn, val, pre = toy
    model = kbert.text.text_classifier(pre, dropout=0.0, seed=seed)
    return kbert.get_learner(model, trn, val, batch_size=16, seed=seed, **kw)


def test_fit_onecycle_loss_falls_and_learns(toy):
    learner = learner_for(toy)
    hist = learner.fit_onecycle(3e-3, 6, verbose=0)
    losses = hist.history["loss"]
    assert losses[-1] < 0.5 * losses[0], losses
    assert hist.history["val_accuracy"][-1] >= 0.9
    # the recorded learning rates follow the one-cycle schedule
    steps = learner.steps_per_epoch() * 6
    sched = kbert.schedules.OneCycle(3e-3, steps)
    assert len(learner.recorder.lrs) == steps
    np.testing.assert_allclose(learner.recorder.lrs, [kbert.schedules.value(sched, i) for i in range(steps)],
                               rtol=1e-5)
    # momentum is cycled against the rate: 0.95 at the ends, 0.85 at the peak
    m = learner.recorder.momentums
    assert m[0] == pytest.approx(0.95) and min(m) == pytest.approx(0.85, abs=2e-3)


def test_validate_matrix_equals_sklearn(toy, capsys):
    trn, val, pre = toy
    learner = learner_for(toy)
    learner.fit_onecycle(5e-3, 1, verbose=0)
    cm = learner.validate(class_names=pre.get_classes())
    pred = learner.predict().argmax(axis=-1)
    np.testing.assert_array_equal(cm, confusion_matrix(val.targets, pred, labels=[0, 1]))
    out = capsys.readouterr().out
    assert "precision" in out and "neg" in out and "pos" in out


def test_lr_find_records_curve_and_restores_weights(toy):
    learner = learner_for(toy)
    before = [w.copy() for w in learner.model.get_weights()]
    learner.lr_find(start_lr=1e-6, lr_mult=1.3, verbose=0)
    f = learner.lr_finder
    assert len(f.lrs) == len(f.losses) > 10
    np.testing.assert_allclose(np.diff(np.log(f.lrs)), np.log(1.3), rtol=1e-4)  # exponential ramp
    assert f.lrs[0] == pytest.approx(1e-6)
    assert max(f.losses) > min(f.losses)  # it went down or diverged: a real curve
    for a, b in zip(before, learner.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    steepest, min10, valley = learner.lr_estimate()
    assert (steepest is None or 1e-6 <= steepest <= f.lrs[-1]) and f.lrs[0] / 10 <= min10 <= f.lrs[-1] / 10
    assert f.lrs[0] <= valley <= f.lrs[-1]
    fig = learner.lr_plot(suggest=True, return_fig=True)
    assert fig.axes[0].get_xscale() == "log"


def test_lr_find_in_a_script_saves_png(toy, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    learner = learner_for(toy)
    learner.lr_find(start_lr=1e-5, lr_mult=1.5, show_plot=True, verbose=0)
    assert (tmp_path / "lr_find.png").stat().st_size > 1000


def test_seed_makes_runs_repeatable(toy):
    a = learner_for(toy, seed=5).fit_onecycle(3e-3, 1, verbose=0).history["loss"]
    b = learner_for(toy, seed=5).fit_onecycle(3e-3, 1, verbose=0).history["loss"]
    assert a == b


def test_top_losses_are_sorted_and_consistent(toy, capsys):
    trn, val, pre = toy
    learner = learner_for(toy)
    learner.fit_onecycle(5e-3, 1, verbose=0)
    top = learner.top_losses(n=5)
    losses = [t[1] for t in top]
    assert losses == sorted(losses, reverse=True)
    logits = learner.predict()
    all_losses = pre.example_losses(logits, val.targets)
    assert losses[0] == pytest.approx(all_losses.max(), rel=1e-5)
    # the Keras loss on the same data agrees with the per-example formula
    keras_loss = learner.model.evaluate(val.dataset(16), verbose=0)[0]
    assert keras_loss == pytest.approx(all_losses.mean(), rel=1e-3)
    learner.view_top_losses(n=2, preproc=pre)
    out = capsys.readouterr().out
    row = top[0][0]
    assert val.source["text"].iloc[row] in out and f"loss:{top[0][1]:.2f}" in out


def test_autofit_early_stopping_and_reduce_on_plateau(toy):
    learner = learner_for(toy)
    hist = learner.autofit(5e-3, epochs=None, early_stopping=2, reduce_on_plateau=1, verbose=0)
    n = len(hist.history["loss"])
    assert 3 <= n < 1024
    lrs = np.asarray(learner.recorder.lrs)
    steps = learner.steps_per_epoch()
    assert lrs[: steps].max() == pytest.approx(5e-3, rel=0.05)  # triangular, peak lr in the first epoch


def test_fit_sgdr_and_constant(toy):
    learner = learner_for(toy)
    learner.fit(1e-3, 2, verbose=0)
    assert set(np.round(learner.recorder.lrs, 8)) == {1e-3}
    learner.fit(1e-3, n_cycles=2, cycle_len=1, verbose=0)
    lrs = learner.recorder.lrs
    steps = learner.steps_per_epoch()
    assert lrs[0] == pytest.approx(1e-3) and lrs[steps] == pytest.approx(1e-3)  # warm restart
    assert lrs[steps - 1] < 0.1 * 1e-3


def test_weight_decay_skips_biases_and_layernorm(toy):
    learner = learner_for(toy)
    learner.set_weight_decay(0.1)
    assert learner.get_weight_decay() == 0.1
    learner.fit(1e-3, 1, verbose=0)
    opt = learner.model.optimizer
    names = {v.path: opt._use_weight_decay(v) for v in learner.model.trainable_variables}
    assert any(names.values())
    for path, decays in names.items():
        if path.endswith(("bias", "gamma", "beta")):
            assert not decays, path
        if path.endswith("kernel"):
            assert decays, path


def test_freeze_trains_only_the_head(toy):
    learner = learner_for(toy)
    learner.freeze()
    backbone_before = [w.copy() for w in learner.backbone().get_weights()]
    head_before = learner.model.get_layer("logits").get_weights()[0].copy()
    learner.fit(1e-3, 1, verbose=0)
    for a, b in zip(backbone_before, learner.backbone().get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(head_before, learner.model.get_layer("logits").get_weights()[0])
    learner.unfreeze()
    assert all(layer.trainable for layer in learner.model.layers)
    learner.freeze(encoder_layers=1)  # kbert: the embeddings and the first transformer layer
    assert [t.trainable for t in learner.backbone().transformer_layers] == [False, True]
    assert learner.model.get_layer("logits").trainable
    learner.freeze(2)  # ktrain: the first 2 layers of model.layers
    assert [layer.trainable for layer in learner.model.layers] == [i >= 2 for i in range(len(learner.model.layers))]


def test_save_load_model_and_reset(toy, tmp_path):
    learner = learner_for(toy)
    initial = learner.model.get_weights()
    learner.fit_onecycle(5e-3, 1, verbose=0)
    expected = learner.predict()
    path = learner.save_model(tmp_path / "m")
    assert path == str(tmp_path / "m" / "model.keras")  # ktrain: save_model writes into a folder
    learner.reset_weights(verbose=0)
    for a, b in zip(initial, learner.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    learner.load_model(tmp_path / "m", preproc=toy[2])  # preproc: accepted and ignored, as ktrain
    np.testing.assert_allclose(learner.predict(), expected, atol=1e-6)


def test_checkpoint_folder_gets_weights_per_epoch(toy, tmp_path):
    learner = learner_for(toy)
    learner.fit_onecycle(1e-3, 2, checkpoint_folder=str(tmp_path / "ckpt"), verbose=0)
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["weights-01.weights.h5",
                                                                    "weights-02.weights.h5"]


def test_plots_of_history(toy):
    learner = learner_for(toy)
    learner.fit_onecycle(1e-3, 2, verbose=0)
    for what in ("loss", "lr", "momentum"):
        fig = learner.plot(what, return_fig=True)
        assert fig.axes[0].lines
    with pytest.raises(ValueError, match="loss"):
        learner.plot("nope", return_fig=True)


@pytest.mark.parametrize("kind", ["multilabel", "regression", "pairs"])
def test_other_label_kinds_train(kind):
    df = sentiment_df(200, seed=3)
    pos = (df["label"] == "pos").astype(int)
    args = {}
    if kind == "multilabel":
        has_i = df["text"].str.split().map(lambda w: "i" in w).astype(int)
        df = df.assign(pos=pos, neg=1 - pos, has_i=has_i)[["text", "pos", "neg", "has_i"]]
        labels = ["pos", "neg", "has_i"]
    elif kind == "regression":
        df = df.assign(score=pos * 2.0 - 1.0 + 0.1)[["text", "score"]]
        labels = "score"
    else:
        df = df.assign(other=np.where(pos, "good", "bad"), label=np.where(np.arange(200) % 4 < 2, "a", "b"))
        # the label depends on both texts: agreement between keyword polarity and the pair text
        df["label"] = np.where((df["other"] == "good") == (np.arange(200) % 3 == 0), "same", "diff")
        df["other"] = np.where(np.arange(200) % 3 == 0, df["other"], np.where(df["other"] == "good", "bad", "good"))
        labels, args = "label", {"text_pair_column": "other"}
    trn, val, pre = kbert.text.texts_from_df(df, "text", labels, preset=tiny_spec(), maxlen=32, verbose=0, **args)
    learner = kbert.get_learner(kbert.text.text_classifier(pre, dropout=0.0, seed=2), trn, val, batch_size=16, seed=2)
    epochs = 10 if kind == "multilabel" else 6
    losses = learner.fit_onecycle(3e-3, epochs, verbose=0).history["loss"]
    # a multi-label loss averages 3 labels, so each label's signal is weaker: it falls slower
    assert losses[-1] < (0.75 if kind == "multilabel" else 0.5) * losses[0], losses
    result = learner.validate(print_report=False)
    if kind == "regression":
        # ktrain's form: [(metric, value)]
        assert [k for k, _ in result] == ["mae", "mse"] and dict(result)["mse"] < 0.5 * np.var(val.targets)
    elif kind == "multilabel":
        assert result is None  # as ktrain: no confusion matrix for multi-label
        # mean accuracy over the three labels (0.73-0.92 over seeds 2-4 with 20 validation rows)
        assert np.mean((learner.predict() > 0) == (val.targets > 0.5)) >= 0.7



# ======================================================================================
# LR finder (ktrain's rules) and per-epoch lr / momentum in histories (issue 13)
# ======================================================================================


def test_lr_find_max_epochs_sweeps_start_to_end_lr(toy):
    learner = learner_for(toy)
    steps = learner.steps_per_epoch()
    # stop_factor large: the sweep runs to its end, so every batch is recorded
    assert learner.lr_find(start_lr=1e-7, end_lr=1e-2, max_epochs=2, stop_factor=1e9, verbose=0) is None
    f = learner.lr_finder
    n = 2 * steps
    mult = (1e-2 / 1e-7) ** (1 / n)  # ktrain: (end_lr / start_lr) ** (1 / (max_epochs · steps_per_epoch))
    assert len(f.lrs) == n
    np.testing.assert_allclose(f.lrs, 1e-7 * mult ** np.arange(n), rtol=1e-4)  # geometric, across both epochs
    assert f.lrs[0] == pytest.approx(1e-7) and f.lrs[-1] == pytest.approx(1e-2 / mult, rel=1e-4)
    steepest, min_loss_10, valley = learner.lr_estimate()
    assert min_loss_10 == pytest.approx(f.lrs[int(np.argmin(f.losses))] / 10)
    assert valley == f.lrs[kbert.callbacks.valley(f.losses)]
    assert steepest is None or f.lrs[0] <= steepest <= f.lrs[-1]


def test_lr_find_restore_weights_only(toy):
    learner = learner_for(toy)
    before = [w.copy() for w in learner.model.get_weights()]
    learner.lr_find(max_epochs=1, restore_weights_only=True, verbose=0)
    n = len(learner.lr_finder.lrs)
    assert int(learner.model.optimizer.iterations.numpy()) == n  # the sweep's optimizer state is kept
    learner.lr_find(max_epochs=1, verbose=0)  # default: the optimizer state is cleared too
    opt = learner.model.optimizer
    assert int(opt.iterations.numpy()) == 0 and all(not np.any(v.numpy()) for v in opt.variables)
    for a, b in zip(before, learner.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_lr_plot_suggest_prints_and_marks_three(toy, capsys):
    learner = learner_for(toy)
    learner.lr_find(start_lr=1e-6, lr_mult=1.3, verbose=0)
    fig = learner.lr_plot(suggest=True, return_fig=True)
    out = capsys.readouterr().out
    assert "Longest valley" in out and "Min numerical gradient" in out and "Min loss divided by 10" in out
    steepest, min_loss_10, valley = learner.lr_estimate()
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    expected = [f"longest valley: {valley:.2E}", f"min loss / 10: {min_loss_10:.2E}"]
    if steepest is not None:  # None when the loss is lowest within the first batches
        expected.insert(1, f"min numerical gradient: {steepest:.2E}")
    assert labels == expected


def test_histories_carry_lr_and_momentum_per_batch_as_ktrain(toy):
    learner = learner_for(toy)
    steps, epochs = learner.steps_per_epoch(), 3
    hist = learner.fit_onecycle(3e-3, epochs, verbose=0)
    sched = kbert.schedules.OneCycle(3e-3, steps * epochs)
    # ktrain's history: the rate each batch used, its momentum, and the batch count
    assert hist.history["iterations"] == list(range(1, steps * epochs + 1)) and len(hist.history["loss"]) == epochs
    np.testing.assert_allclose(hist.history["lr"], [kbert.schedules.value(sched, s) for s in range(steps * epochs)],
                               rtol=1e-5)
    np.testing.assert_allclose(hist.history["momentum"], [sched.momentum(s, 0.95, 0.85) for s in range(steps * epochs)],
                               rtol=1e-6)
    # ktrain's tests: max(lr) ≈ lr, max(momentum) ≈ 0.95, min(momentum) ≈ 0.85
    assert max(hist.history["lr"]) == pytest.approx(3e-3, rel=1e-3)
    assert max(hist.history["momentum"]) == pytest.approx(0.95, abs=1e-3)
    assert min(hist.history["momentum"]) == pytest.approx(0.85, abs=1e-3)
    hist = learner.autofit(1e-3, 2, verbose=0)
    assert len(hist.history["lr"]) == len(hist.history["momentum"]) == 2 * steps
    assert max(hist.history["lr"]) == pytest.approx(1e-3, rel=1e-2)
    hist = learner.fit(1e-3, 2, verbose=0)  # constant rate, no momentum cycling
    assert hist.history["lr"] == pytest.approx([1e-3] * 2 * steps) and "momentum" not in hist.history
