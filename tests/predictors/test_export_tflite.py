"""predictor.export(folder, format="tflite"): the model on token ids as a TFLite flatbuffer;
the interpreter's logits equal the Keras model's."""

import json
import warnings

import numpy as np
import pytest
import tensorflow as tf

import kbert
from conftest import sentiment_df, tiny_family_spec, tiny_spec
from kbert.models import INPUT_NAMES

from .helpers import TEXTS, ner_sentences, qa_examples


def batch(preproc, texts):
    data = preproc.transform(texts, verbose=0)
    return next(iter(data.dataset(len(texts), training=False, with_targets=False)))


def run_tflite(folder, x):
    """The interpreter's outputs for a batch of model inputs (any batch size and length)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice (LiteRT)
        interpreter = tf.lite.Interpreter(f"{folder}/model.tflite")
    runner = interpreter.get_signature_runner("serving_default")
    return runner(**{name: np.asarray(x[name], dtype="int32") for name in INPUT_NAMES})


def test_tflite_logits_equal_the_model(tmp_path):
    trn, val, pre = kbert.text.texts_from_df(sentiment_df(40), "text", "label", preset=tiny_spec(), maxlen=16,
                                             verbose=0)
    model = kbert.text.text_classifier(pre, dropout=0.0, seed=1, verbose=0)
    folder = kbert.get_predictor(model, pre).export(tmp_path / "tfl", format="tflite")
    for texts in (TEXTS, TEXTS[:2]):  # two batch shapes through one flatbuffer
        x = batch(pre, texts)
        np.testing.assert_allclose(run_tflite(folder, x)["logits"], model.predict_on_batch(x), atol=1e-4)
    # ktrain's name writes the flatbuffer alone to a file
    predictor = kbert.get_predictor(model, pre)
    assert predictor.export_model_to_tflite(str(tmp_path / "m.tflite"), verbose=0) == str(tmp_path / "m.tflite")
    assert (tmp_path / "m.tflite").read_bytes() == (tmp_path / "tfl" / "model.tflite").read_bytes()
    meta = json.load(open(tmp_path / "tfl" / "kbert_export.json"))
    assert meta["format"] == "tflite" and meta["inputs"] == list(INPUT_NAMES) and meta["flex_ops"] == []
    assert meta["outputs"] == ["logits"]
    assert meta["classes"] == ["neg", "pos"] and meta["special_ids"]["start"] == pre.special["start"]


def test_tflite_of_ner_and_qa_models(tmp_path):
    x, y = ner_sentences(20)
    trn, _, pre = kbert.text.entities_from_array(x, y, x[:4], y[:4], preset=tiny_spec(), maxlen=16, verbose=0)
    # (TFLite takes token ids only: a tagger without word shapes, which uncased encoders default to)
    model = kbert.text.sequence_tagger(pre, dropout=0.0, seed=0, verbose=0, word_shapes=False)
    folder = kbert.get_predictor(model, pre).export(tmp_path / "ner", format="tflite")
    feed = next(iter(trn.dataset(4, training=False, with_targets=False)))
    np.testing.assert_allclose(run_tflite(folder, feed)["logits"], model.predict_on_batch(feed), atol=1e-4)

    trn, _, qpre = kbert.text.qa.qa_from_examples(qa_examples(8), qa_examples(4, seed=1), 64, 16, 16, tiny_spec(),
                                                  0.1, 0, False, 0)
    qmodel = kbert.text.qa_model(qpre, dropout=0.0, seed=0)
    folder = kbert.get_predictor(qmodel, qpre).export(tmp_path / "qa", format="tflite")
    feed = next(iter(trn.dataset(4, training=False, with_targets=False)))
    got = run_tflite(folder, feed)
    assert list(got) == ["logits"] and got["logits"].shape[-1] == 2  # start/end logits per piece
    np.testing.assert_allclose(got["logits"], qmodel.predict_on_batch(feed), atol=1e-4)


def test_a_model_that_needs_tensorflow_kernels_is_flagged(tmp_path):
    # DeBERTa-v3's relative-position buckets use Abs/Sign on integers: no builtin TFLite kernel
    trn, val, pre = kbert.text.texts_from_df(sentiment_df(20), "text", "label", preset=tiny_family_spec("deberta_v3"),
                                             maxlen=16, verbose=0)
    predictor = kbert.get_predictor(kbert.text.text_classifier(pre, dropout=0.0, seed=1, verbose=0), pre)
    with pytest.warns(UserWarning, match="needs the Flex delegate .*FlexAbs"):
        predictor.export(tmp_path / "deberta", format="tflite")
    assert "FlexAbs" in json.load(open(tmp_path / "deberta" / "kbert_export.json"))["flex_ops"]
