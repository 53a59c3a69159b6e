"""kbert/learner/arrays.py: (x, y) tuples checked and served as tf.data batches."""

import numpy as np
import pytest

import kbert
from kbert.errors import DataError
from kbert.learner.arrays import ArrayData, check_arrays
from learner.helpers import blobs, classifier


def test_check_arrays_accepts_arrays_dicts_lists_and_casts_float64():
    x, y = check_arrays((np.zeros((3, 2)), [0, 1, 0]), "train_data")
    assert x.dtype == np.float32 and y.tolist() == [0, 1, 0]
    x, y = check_arrays(({"a": np.ones((3, 2)), "b": np.arange(3)}, np.array([0.5, 1.0, 2.0])), "train_data")
    assert set(x) == {"a", "b"} and x["a"].dtype == np.float32 and x["b"].dtype.kind == "i"
    assert y.dtype == np.float32
    x, _ = check_arrays(([np.ones((3, 2)), np.ones((3, 5))], None), "val_data")
    assert isinstance(x, list) and [v.shape for v in x] == [(3, 2), (3, 5)]


@pytest.mark.parametrize("data, error, words", [
    (np.zeros((3, 2)), TypeError, ["train_data", "tuple (x, y)"]),
    ((np.zeros((3, 2)), [0, 1]), DataError, ["x has 3 rows but y has 2"]),
    (({"a": np.zeros((3, 2)), "b": np.zeros((4, 2))}, [0, 1, 0]), DataError, ["different numbers of rows", "'a'", "'b'"]),
    ((np.array([["a text"], ["b"]]), [0, 1]), DataError, ["texts_from_array"]),
    ((np.zeros((2, 2)), np.array(["pos", "neg"])), DataError, ["y holds", "class ids"]),
    ((np.zeros((2, 2)), [np.zeros(2), np.zeros(2)]), TypeError, ["one array", "several outputs"]),
    ((np.zeros((0, 2)), np.zeros(0)), DataError, ["no rows"]),
])
def test_check_arrays_errors_name_the_problem(data, error, words):
    with pytest.raises(error) as e:
        check_arrays(data, "train_data")
    for w in words:
        assert w in str(e.value)


def test_nan_rows_are_named():
    x = np.zeros((6, 2), dtype="float32")
    x[2, 1] = np.nan
    x[4, 0] = np.inf
    with pytest.raises(DataError, match=r"train_data: input x has NaN or infinite values at rows \[2, 4\]"):
        check_arrays((x, np.zeros(6)), "train_data")
    y = np.zeros(6)
    y[5] = np.nan
    with pytest.raises(DataError, match=r"val_data: y has NaN or infinite values at rows \[5\]"):
        check_arrays((np.zeros((6, 2)), y), "val_data")


def test_epochs_are_permutations_replayable_from_seed_and_epoch():
    x, y = blobs(50)
    model = classifier()
    learner = kbert.get_learner(model, (x, y), batch_size=16, seed=0)
    data = learner.train_data
    assert isinstance(data, ArrayData) and data.steps(16, training=True) == 4
    whole = list(data.epochs_dataset(16, 2, 0, seed=7))
    resumed = list(data.epochs_dataset(16, 2, 1, seed=7))  # epoch 1 alone equals epoch 1 of the whole run
    assert len(whole) == 8 and len(resumed) == 4
    for a, b in zip(whole[4:], resumed):
        np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())
    first = np.concatenate([b[0].numpy() for b in whole[:4]])
    second = np.concatenate([b[0].numpy() for b in whole[4:]])
    # each epoch holds every row once, in a different order
    for ep in (first, second):
        np.testing.assert_array_equal(np.sort(ep, axis=0), np.sort(x, axis=0))
    assert not np.array_equal(first, second)


def test_evaluation_batches_keep_row_order_and_dict_inputs():
    x = {"a": np.arange(10, dtype="float32")[:, None], "b": np.arange(10)[:, None] * 2}
    data = ArrayData(x, np.arange(10), preprocessor=None)
    batches = list(data.dataset(4, training=False))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[0]["b"].numpy() for b in batches])[:, 0], np.arange(10) * 2)
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in batches]), np.arange(10))
    sub = data.subset([7, 2])
    assert sub.targets.tolist() == [7, 2] and sub.x["a"][:, 0].tolist() == [7.0, 2.0]
    assert data.x_row(3)["b"].tolist() == [[6]]
