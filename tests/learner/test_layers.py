"""kbert/learner/layers.py: ktrain's freeze / unfreeze, print_layers(show_wd=), layer_output,
save_model(folder) / load_model."""

import keras
import numpy as np
import pytest

import kbert
from learner.helpers import blobs, classifier, split


def deep_learner():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu", name="d1"),
                              keras.layers.Dense(8, activation="relu", name="d2"),
                              keras.layers.Dropout(0.0, name="drop"), keras.layers.Dense(2, name="head"),
                              keras.layers.Activation("linear", name="act")])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    x, y = blobs(64)
    trn, val = split(x, y, 48)
    return kbert.get_learner(model, trn, val, batch_size=16, seed=0)


def trainable(learner):
    return [layer.trainable for layer in learner.model.layers]


def test_freeze_has_ktrains_meaning():
    learner = deep_learner()
    learner.freeze()  # every layer before the last Dense ("head") is frozen
    assert trainable(learner) == [False, False, False, True, True]
    learner.freeze(2)  # the first 2 layers
    assert trainable(learner) == [False, False, True, True, True]
    learner.unfreeze(exclude_range=1)
    assert trainable(learner) == [False, True, True, True, True]
    learner.unfreeze()
    assert all(trainable(learner))
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="freeze_range"):
            learner.freeze(bad)
    # a frozen layer stays put while the rest trains
    learner.freeze(1)
    d1, d2 = (learner.model.get_layer(n).get_weights()[0].copy() for n in ("d1", "d2"))
    learner.fit(1e-2, 1, verbose=0)
    np.testing.assert_array_equal(d1, learner.model.get_layer("d1").get_weights()[0])
    assert not np.allclose(d2, learner.model.get_layer("d2").get_weights()[0])


def test_freeze_without_dense_names_the_way_out():
    model = keras.Sequential([keras.Input((4,)), keras.layers.EinsumDense("ab,bc->ac", output_shape=2)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    learner = kbert.get_learner(model, blobs(32), batch_size=16)
    with pytest.raises(ValueError, match="last Dense layer, and this model has none; give freeze_range=n"):
        learner.freeze()


def test_print_layers_in_ktrains_form(capsys):
    learner = deep_learner()
    learner.freeze(1)
    learner.set_weight_decay(0.05)
    learner.print_layers(show_wd=True)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "0 (trainable=False, wd=0.05) : d1 (Dense)"
    assert lines[2] == "2 (trainable=True, wd=0) : drop (Dropout)"  # no weights, no decay
    learner.print_layers()
    assert capsys.readouterr().out.splitlines()[3] == "3 (trainable=True) : head (Dense)"


def test_layer_output_is_one_examples_activation():
    learner = deep_learner()
    x = learner.train_data.x
    out = learner.layer_output(0, example_id=5)
    w, b = learner.model.get_layer("d1").get_weights()
    assert out.shape == (1, 8)
    np.testing.assert_allclose(out[0], np.maximum(x[5] @ w + b, 0), rtol=1e-5, atol=1e-6)
    assert learner.layer_output(-1, example_id=2, use_val=True).shape == (1, 2)
    with pytest.raises(IndexError, match="5 layers"):
        learner.layer_output(9)
    with pytest.raises(IndexError, match="48 rows"):
        learner.layer_output(0, example_id=48)


def test_save_model_writes_a_folder_and_reloads(tmp_path):
    x, y = blobs(48)
    learner = kbert.get_learner(classifier(), (x, y), (x[:16], y[:16]), batch_size=16, seed=0)
    learner.fit(1e-2, 1, verbose=0)
    expected = learner.predict()
    folder = tmp_path / "model"
    assert learner.save_model(folder) == str(folder / "model.keras")
    assert sorted(p.name for p in folder.iterdir()) == ["model.keras"]
    learner.save_model(folder)  # the folder is reused (ktrain's own test)
    learner.reset_weights(verbose=0)
    learner.load_model(str(folder), preproc=object())
    np.testing.assert_allclose(learner.predict(), expected, atol=1e-6)
    learner.fit(1e-3, 1, verbose=0)  # trains again with the user's loss after loading
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="a file named"):
        learner.save_model(tmp_path / "file")
    with pytest.raises(FileNotFoundError, match="No saved model"):
        learner.load_model(tmp_path / "nothing")
