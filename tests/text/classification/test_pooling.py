"""kbert.text.classification.pooling: the window layers of the document model — values of
mean / max / attention pooling with empty windows left out, and their serialisation."""

import json

import keras
import numpy as np
import pytest

from kbert.text.classification.pooling import FlattenWindows, UnflattenWindows, WindowPooling

VECTORS = np.array([[[1.0, -2.0], [3.0, 4.0], [100.0, 100.0]],   # doc 0: 2 windows + 1 padded
                    [[-1.0, 5.0], [-50.0, -50.0], [-50.0, -50.0]]], "float32")  # doc 1: 1 window
MASK = np.zeros([2, 3, 4], "int32")
MASK[0, :2, :3] = 1
MASK[1, 0, :2] = 1


@pytest.mark.parametrize("mode, expected", [("mean", [[2.0, 1.0], [-1.0, 5.0]]), ("max", [[3.0, 4.0], [-1.0, 5.0]])])
def test_mean_and_max_leave_empty_windows_out(mode, expected):
    np.testing.assert_allclose(WindowPooling(mode)(VECTORS, MASK), expected)


def test_attention_weights_the_real_windows_only():
    layer = WindowPooling("attention")
    out = np.asarray(layer(VECTORS, MASK))
    weights = np.asarray(layer.weights_of(VECTORS, MASK))
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-6)
    assert weights[0, 2] == 0 and weights[1, 1:].tolist() == [0, 0] and weights[1, 0] == pytest.approx(1.0)
    np.testing.assert_allclose(out, (VECTORS * weights[..., None]).sum(axis=1), rtol=1e-5)
    assert len(layer.trainable_weights) == 3  # projection kernel and bias, score vector


def test_layers_serialise():
    inputs = {n: keras.Input((None, None), dtype="int32", name=n) for n in ("ids", "mask")}
    flat = FlattenWindows()(inputs["ids"])
    vectors = keras.layers.Embedding(10, 4)(flat)[:, 0, :]
    doc = WindowPooling("attention")(UnflattenWindows()(vectors, inputs["ids"]), inputs["mask"])
    model = keras.Model(inputs, doc)
    again = keras.saving.deserialize_keras_object(json.loads(model.to_json()), safe_mode=True)
    again.set_weights(model.get_weights())
    x = {"ids": np.array([[[1, 2, 0], [3, 0, 0]]], "int32"), "mask": np.array([[[1, 1, 0], [1, 0, 0]]], "int32")}
    np.testing.assert_allclose(again(x), model(x), rtol=1e-6)
    assert again.get_layer(index=-1).mode == "attention" and model(x).shape == (1, 4)
    with pytest.raises(ValueError, match="'mean', 'max' or 'attention'"):
        WindowPooling("sum")
