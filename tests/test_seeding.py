"""Seeding keeps SentencePiece tokenizers made before it working."""

import keras
import numpy as np
import tensorflow as tf

import kbert
from conftest import tiny_family_spec
from kbert.seeding import set_seed


def _tokenize_in_dataset(tokenizer):
    ds = tf.data.Dataset.from_tensor_slices(["the happy cat", "a sad dog"]).batch(2).map(tokenizer)
    return next(iter(ds)).to_list()


def test_set_seed_rebuilds_sentencepiece_ops():
    _, tokenizer = kbert.load_encoder(tiny_family_spec("albert"))
    before = _tokenize_in_dataset(tokenizer)
    set_seed(3, [tokenizer])
    assert _tokenize_in_dataset(tokenizer) == before
    a = keras.random.uniform((2,), seed=keras.random.SeedGenerator(1))
    set_seed(3, [tokenizer])
    np.testing.assert_array_equal(keras.random.uniform((2,), seed=keras.random.SeedGenerator(1)), a)
