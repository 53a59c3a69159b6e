"""kbert/learner/array_task.py: a user's compiled model on arrays; ktrain's reports."""

import keras
import numpy as np
import pytest
from sklearn import metrics as skm

import kbert
from kbert.errors import DataError
from kbert.learner.array_task import CLASSIFICATION, MULTILABEL, REGRESSION, array_preprocessor
from learner.helpers import blobs, classifier, dense_model, linear, regressor, split


def test_an_uncompiled_model_is_refused_with_what_to_do():
    x, y = blobs(20)
    with pytest.raises(ValueError, match=r"compiled with a loss.*model.compile\(optimizer='adam'"):
        kbert.get_learner(dense_model(), (x, y))


def test_kind_is_read_from_loss_metrics_and_targets():
    x, y = blobs(20)
    assert array_preprocessor(classifier(), y).mode == CLASSIFICATION
    assert array_preprocessor(regressor(), y.astype("float32")).mode == REGRESSION
    m = dense_model(outputs=3, activation="sigmoid")
    m.compile("adam", "binary_crossentropy")
    multi = np.array([[1, 0, 1], [0, 1, 0]] * 10)
    assert array_preprocessor(m, multi).mode == MULTILABEL
    m = dense_model(outputs=1)
    m.compile("adam", "mse", metrics=["accuracy"])  # ktrain: an accuracy metric means a classifier
    assert array_preprocessor(m, y).mode == CLASSIFICATION
    m = dense_model(outputs=3)
    m.compile("adam", keras.losses.CategoricalCrossentropy(from_logits=True))
    pre = array_preprocessor(m, np.eye(3)[np.arange(20) % 3])
    assert pre.mode == CLASSIFICATION and pre.from_logits and not pre.sparse


def test_targets_that_do_not_fit_the_model_are_named():
    x, y = blobs(20)
    y[[3, 7]] = 5
    with pytest.raises(DataError, match=r"not class ids 0 … 1 \(the model has 2 outputs\) at rows \[3, 7\]"):
        kbert.get_learner(classifier(), (x, y))
    m = dense_model(outputs=3)
    m.compile("adam", "categorical_crossentropy")
    with pytest.raises(ValueError, match=r"class ids but the model has 3 outputs.*to_categorical"):
        kbert.get_learner(m, (x, np.arange(20) % 3))
    (trn, val) = split(x, np.arange(20) % 2, 15)
    learner = kbert.get_learner(classifier(), trn)
    with pytest.raises(DataError, match="val_data"):
        learner.validate(val_data=(val[0], np.full(5, 9)))


def test_validate_regression_returns_compiled_mae_mse_as_ktrain(capsys):
    x, y = linear(120)
    trn, val = split(x, y, 90)
    learner = kbert.get_learner(regressor(metrics=("mse", "mae")), trn, val, batch_size=16, seed=0)
    learner.fit_onecycle(2e-2, 4, verbose=0)
    result = learner.validate()
    pred = learner.predict().reshape(-1)
    assert [n for n, _ in result] == ["mse", "mae"]  # the compiled metrics, in their order
    assert result[0][1] == pytest.approx(skm.mean_squared_error(val[1], pred), rel=1e-5)
    assert result[1][1] == pytest.approx(skm.mean_absolute_error(val[1], pred), rel=1e-5)
    assert "mse: " in capsys.readouterr().out
    learner = kbert.get_learner(regressor(metrics=()), trn, val, batch_size=16)
    with pytest.warns(UserWarning, match="MAE"):
        assert [n for n, _ in learner.validate(print_report=False)] == ["mae"]


def test_validate_classifier_matrix_and_multilabel_none(capsys):
    x, y = blobs(160, classes=3)
    trn, val = split(x, y, 120)
    learner = kbert.get_learner(classifier(classes=3), trn, val, batch_size=16, seed=0)
    learner.fit_onecycle(2e-2, 3, verbose=0)
    cm = learner.validate(class_names=["a", "b", "c"])
    np.testing.assert_array_equal(cm, skm.confusion_matrix(val[1], learner.predict().argmax(1), labels=[0, 1, 2]))
    assert all(np.argmax(row) == i for i, row in enumerate(cm))  # ktrain's own test
    out = capsys.readouterr().out
    assert "precision" in out and " b " in out
    # multi-label: sigmoid outputs, binary cross-entropy; ktrain prints the report and returns None
    multi = np.stack([y == 0, y == 1, x[:, 3] > 0], axis=1).astype("float32")
    m = dense_model(outputs=3, activation="sigmoid")
    m.compile("adam", "binary_crossentropy", metrics=["binary_accuracy"])
    trn, val = split(x, multi, 120)
    learner = kbert.get_learner(m, trn, val, batch_size=16, seed=0)
    learner.fit(1e-2, 2, verbose=0)
    with pytest.warns(UserWarning, match="multi-label"):
        assert learner.validate() is None
    assert "samples avg" in capsys.readouterr().out


def test_example_losses_are_the_compiled_loss_per_example():
    x, y = blobs(64, classes=3)
    trn, val = split(x, y, 48)
    learner = kbert.get_learner(classifier(classes=3), trn, val, batch_size=16, seed=0)
    learner.fit(1e-2, 1, verbose=0)
    losses = learner.preproc.example_losses(learner.predict(), val[1])
    assert losses.shape == (16,)
    assert losses.mean() == pytest.approx(learner.model.evaluate(*val, verbose=0)[0], rel=1e-4)
    # regression with (n,) targets and (n, 1) outputs: y is expanded, not broadcast to (n, n)
    x, y = linear(40)
    learner = kbert.get_learner(regressor(), (x, y), batch_size=8)
    pred = learner.predict((x, None))
    np.testing.assert_allclose(learner.preproc.example_losses(pred, y), (pred[:, 0] - y) ** 2, rtol=1e-5)


def test_top_losses_of_arrays_follow_ktrain():
    x, y = blobs(80)
    trn, val = split(x, y, 60)
    learner = kbert.get_learner(classifier(), trn, val, batch_size=16, seed=0)
    learner.fit(1e-2, 1, verbose=0)
    top = learner.top_losses(n=3)
    assert all(r in range(20) for r, *_ in top)
    assert {t for _, _, t, _ in top} <= {"0", "1"}  # class ids as strings without a preproc (ktrain)

    class Names:
        def get_classes(self):
            return ["neg", "pos"]

        def undo(self, row):
            return f"features {row.round(1).tolist()}"

    named = learner.top_losses(n=3, preproc=Names())
    assert [(r, t, p) for r, _, t, p in named] == [(r, ["neg", "pos"][int(t)], ["neg", "pos"][int(p)])
                                                   for r, _, t, p in top]
    learner.view_top_losses(n=1, preproc=Names())
