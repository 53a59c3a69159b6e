"""Small Keras models and arrays for the array Learner's tests (fast on CPU)."""

import keras
import numpy as np


def blobs(n=240, seed=0, classes=2, dims=4):
    """Separable classes: class c is centred at 3·e_c (x float32 [n, dims], y int ids [n])."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, size=n)
    x = rng.normal(size=(n, dims)).astype("float32")
    x[np.arange(n), y] += 3.0
    return x, y


def linear(n=240, seed=0, dims=3):
    """Regression: y = x · w + noise (float32)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dims)).astype("float32")
    y = (x @ np.linspace(1.0, -1.0, dims) + 0.05 * rng.normal(size=n)).astype("float32")
    return x, y


def dense_model(dims=4, outputs=2, hidden=8, seed=0, activation=None):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((dims,)), keras.layers.Dense(hidden, activation="relu", name="hidden"),
                             keras.layers.Dense(outputs, activation=activation, name="out")])


def classifier(dims=4, classes=2, seed=0, metrics=("accuracy",)):
    model = dense_model(dims, classes, seed=seed)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=list(metrics))
    return model


def regressor(dims=3, seed=0, metrics=("mse", "mae")):
    model = dense_model(dims, 1, seed=seed)
    model.compile("adam", "mse", metrics=list(metrics))
    return model


def split(x, y, n_train):
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])
