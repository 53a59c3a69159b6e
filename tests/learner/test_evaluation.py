"""kbert/learner/evaluation.py: validate(save_path=) CSV reports, evaluate(test_data=),
ground_truth, top_losses ranges."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import classification_report

import kbert
from conftest import sentiment_df, tiny_spec
from learner.helpers import blobs, classifier, linear, regressor, split


@pytest.fixture(scope="module")
def arrays():
    x, y = blobs(120, classes=3)
    trn, val = split(x, y, 90)
    learner = kbert.get_learner(classifier(classes=3), trn, val, batch_size=16, seed=0)
    learner.fit(1e-2, 2, verbose=0)
    return learner, val


def test_validate_save_path_writes_ktrains_csv(arrays, tmp_path, capsys):
    learner, val = arrays
    path = tmp_path / "report.csv"
    cm = learner.validate(print_report=False, save_path=str(path), class_names=["a", "b", "c"])
    assert cm.shape == (3, 3) and f"saved to {path}" in capsys.readouterr().out
    table = pd.read_csv(path, index_col=0)
    assert list(table.index) == ["a", "b", "c", "accuracy", "macro avg", "weighted avg"]
    assert list(table.columns) == ["precision", "recall", "f1-score", "support"]
    expected = classification_report(val[1], learner.predict().argmax(1), output_dict=True, zero_division=0)
    assert table.loc["b", "f1-score"] == pytest.approx(expected["1"]["f1-score"])
    assert table.loc["a", "support"] == (val[1] == 0).sum()


def test_evaluate_is_validate_on_test_data(arrays):
    learner, val = arrays
    np.testing.assert_array_equal(learner.evaluate(test_data=val, print_report=False),
                                  learner.validate(print_report=False))


def test_save_path_for_regression_is_refused():
    x, y = linear(40)
    learner = kbert.get_learner(regressor(), (x, y), (x, y), batch_size=8)
    with pytest.raises(NotImplementedError, match="regression"):
        learner.validate(save_path="never.csv")


def test_top_losses_ranges(arrays):
    learner, val = arrays
    everything = learner.top_losses(n=None)
    assert len(everything) == len(val[1])
    losses = [t[1] for t in everything]
    assert losses == sorted(losses, reverse=True)
    assert learner.top_losses(n=(2, 5)) == everything[2:5]
    assert learner.top_losses(3) == everything[:3]
    for bad in (-1, (3, 1), (0,), 1.5, "3"):
        with pytest.raises(ValueError, match=r"\(start, end\)"):
            learner.top_losses(n=bad)


def test_ground_truth_and_predict_take_arrays(arrays):
    learner, val = arrays
    np.testing.assert_array_equal(learner.ground_truth(), val[1])
    np.testing.assert_array_equal(learner.ground_truth(val_data=(val[0][:5], val[1][:5])), val[1][:5])
    assert learner.predict((val[0][:7], None)).shape == (7, 3)
    with pytest.raises(ValueError, match="no labels"):
        learner.ground_truth((val[0], None))


def test_text_classifier_csv_report_and_ground_truth(tmp_path):
    trn, val, pre = kbert.text.texts_from_df(sentiment_df(96), "text", "label", preset=tiny_spec(), maxlen=32,
                                             val_pct=0.25, verbose=0)
    learner = kbert.get_learner(kbert.text.text_classifier(pre, dropout=0.0, seed=1), trn, val, batch_size=16,
                                seed=1)
    learner.fit_onecycle(5e-3, 1, verbose=0)
    np.testing.assert_array_equal(learner.ground_truth(), val.targets)
    path = tmp_path / "text.csv"
    learner.validate(print_report=False, save_path=path)
    table = pd.read_csv(path, index_col=0)
    expected = classification_report(val.targets, learner.predict().argmax(1), labels=[0, 1],
                                     target_names=pre.get_classes(), output_dict=True, zero_division=0)
    assert list(table.index[:2]) == pre.get_classes()
    for name in pre.get_classes() + ["macro avg"]:
        assert table.loc[name, "f1-score"] == pytest.approx(expected[name]["f1-score"])
    with pytest.raises(TypeError, match="kbert loader's data"):
        learner.validate(val_data=(np.zeros((2, 3)), np.zeros(2)))
