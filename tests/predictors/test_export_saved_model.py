"""predictor.export(folder, format="saved_model"): a SavedModel that takes raw strings, and
the export dispatcher's errors. (Loading in a process with only tensorflow + tensorflow-text:
tests/integration/test_saved_model_process.py.)"""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

import kbert
from conftest import sentiment_df, tiny_family_spec, tiny_spec
from kbert.predictors.base import EXPORTERS, export_formats

from .helpers import TEXTS, ner_sentences

LONG = "the cat is blue and really very awful now " * 6  # longer than maxlen: truncated in the graph too


def classifier(df, label, preset, maxlen=16, **kwargs):
    trn, val, pre = kbert.text.texts_from_df(df, "text", label, preset=preset, maxlen=maxlen, verbose=0, **kwargs)
    return kbert.get_predictor(kbert.text.text_classifier(pre, dropout=0.0, seed=1, verbose=0), pre)


def serve(folder, **inputs):
    signature = tf.saved_model.load(folder).signatures["serving_default"]
    return {k: v.numpy() for k, v in signature(**{k: tf.constant(v) for k, v in inputs.items()}).items()}


# one family per kind of word pieces: WordPiece, byte-level BPE, SentencePiece (all seven
# families were checked the same way; README table)
@pytest.mark.parametrize("family", ["bert", "roberta", "albert"])
def test_saved_model_takes_raw_strings_and_equals_the_predictor(family, tmp_path):
    predictor = classifier(sentiment_df(40), "label", tiny_family_spec(family))
    texts = TEXTS + [LONG]
    folder = predictor.export(tmp_path / "sm")
    assert folder == str(tmp_path / "sm")
    out = serve(folder, text=texts)
    np.testing.assert_allclose(out["probabilities"], predictor.predict_proba(texts), atol=1e-5)
    assert [s.decode() for s in out["labels"]] == predictor.predict(texts)
    meta = json.load(open(os.path.join(folder, "kbert_export.json")))
    assert meta["format_version"] == 1 and meta["task"] == "text_classification" and meta["family"] == family
    assert meta["classes"] == ["neg", "pos"] and meta["inputs"] == ["text"]
    assert meta["outputs"] == ["probabilities", "labels"] and meta["maxlen"] == 16


def test_pairs_multilabel_and_regression(tmp_path):
    df = sentiment_df(40)
    df["second"] = df["text"].str.upper().str.lower().str[::-1]
    pairs = classifier(df, "label", tiny_spec(), text_pair_column="second")
    firsts, seconds = ["i feel happy", "so sad today", LONG], ["very awful", "", "the cat"]
    out = serve(pairs.export(tmp_path / "pairs"), text=firsts, text_pair=seconds)
    np.testing.assert_allclose(out["probabilities"], pairs.predict_proba(list(zip(firsts, seconds))), atol=1e-5)
    assert json.load(open(tmp_path / "pairs" / "kbert_export.json"))["inputs"] == ["text", "text_pair"]

    df["a"] = (df["label"] == "pos").astype(int)
    df["b"] = (np.arange(len(df)) % 3 == 0).astype(int)  # rows with both or neither label: multi-label
    multi = classifier(df, ["a", "b"], tiny_spec())
    assert multi.preproc.mode == "multilabel"
    out = serve(multi.export(tmp_path / "multi"), text=TEXTS)
    probs = multi.predict_proba(TEXTS)
    np.testing.assert_allclose(out["probabilities"], probs, atol=1e-5)
    assert out["labels"].dtype == bool and (out["labels"] == (probs >= 0.5)).all()

    df["score"] = np.linspace(0.0, 1.0, len(df))
    reg = classifier(df, "score", tiny_spec(), is_regression=True)
    out = serve(reg.export(tmp_path / "reg"), text=TEXTS)
    assert set(out) == {"values"} and out["values"].shape == (len(TEXTS),)
    np.testing.assert_allclose(out["values"], reg.predict(TEXTS), atol=1e-5)


def test_export_replaces_the_folder_atomically(tmp_path):
    predictor = classifier(sentiment_df(20), "label", tiny_spec())
    target = tmp_path / "sm"
    target.mkdir()
    (target / "old.txt").write_text("old")
    predictor.export(target)
    assert not (target / "old.txt").exists() and (target / "saved_model.pb").exists()
    assert [p for p in os.listdir(tmp_path) if p.startswith(".")] == []  # no temporary folder left


def test_unsupported_predictor_and_unknown_format_say_which_formats(tmp_path):
    x, y = ner_sentences(20)
    _, _, pre = kbert.text.entities_from_array(x, y, x[:4], y[:4], preset=tiny_spec(), maxlen=16, verbose=0)
    ner = kbert.get_predictor(kbert.text.sequence_tagger(pre, dropout=0.0, seed=0, verbose=0), pre)
    with pytest.raises(ValueError, match=r"NERPredictor \('ner'\) cannot be exported as 'saved_model'.*"
                                         r"Formats this predictor can take: tflite"):
        ner.export(tmp_path / "ner")
    assert not (tmp_path / "ner").exists()
    with pytest.raises(ValueError, match=r"Unknown export format 'pb'; kbert exports: .*saved_model, tflite"):
        ner.export(tmp_path / "ner", format="pb")
    assert export_formats("text_classification") == sorted(f for f in EXPORTERS if f in ("onnx", "saved_model",
                                                                                          "tflite"))


def test_a_windowed_document_model_says_no_format_windows_yet(tmp_path):
    trn, _, preproc = kbert.text.texts_from_df(sentiment_df(8), "text", "label", preset=tiny_spec(num_layers=1),
                                               maxlen=16, long_document="windows", stride=4, verbose=0)
    predictor = kbert.get_predictor(kbert.text.text_classifier(preproc), preproc)
    for fmt in ("saved_model", "tflite"):
        with pytest.raises(ValueError, match="no export format windows documents yet"):
            predictor.export(str(tmp_path / fmt), format=fmt)
    with pytest.raises(ValueError, match='use method="lime"'):
        predictor.explain("i feel happy", method="gradients")
