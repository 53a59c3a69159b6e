"""kbert.onnx: ONNX exports of text classifiers predict as the Keras predictor does, and run
without TensorFlow (kbert.onnx.export writes them; kbert.onnx.predictor / tokenizer read them)."""

import json
import os
import shutil
import subprocess
import sys

import keras_hub
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import kbert
import kbert.onnx
from conftest import ROOT, sentiment_df, tiny_family_spec
from kbert.errors import PredictorLoadError
from kbert.onnx.export import export_onnx, hf_tokenizer, quantize_file
from kbert.onnx.tokenizer import round_robin

pytest.importorskip("tf2onnx")
pytest.importorskip("onnxruntime")

TEXTS = ["i feel happy today", "so sad", "", "Café NAÏVE résumé, 3.50 dollars!", "🙂 weird ünïcode\u00a0word",
         "a\u200db\tc\nd", " ".join(["the cat is blue and really very awful now"] * 6)]


def classifier(family, pairs=False):
    df = sentiment_df(40)
    if pairs:
        df = df.assign(second=df["text"].str.upper())
    trn, val, pre = kbert.text.texts_from_df(df, "text", "label", preset=tiny_family_spec(family), maxlen=24,
                                             text_pair_column="second" if pairs else None, verbose=0)
    return kbert.get_predictor(kbert.text.text_classifier(pre, seed=0), pre, batch_size=4)


@pytest.fixture(scope="module")
def bert_export(tmp_path_factory):
    predictor = classifier("bert")
    return predictor, export_onnx(predictor, tmp_path_factory.mktemp("onnx") / "bert")


def test_float_export_predicts_as_the_keras_predictor(bert_export):
    predictor, folder = bert_export
    onnx = kbert.onnx.load_predictor(folder)
    assert onnx.get_classes() == predictor.get_classes() == ["neg", "pos"]
    expected = predictor.predict_proba(TEXTS)
    got = onnx.predict_proba(TEXTS)
    assert got.shape == expected.shape == (len(TEXTS), 2)
    assert np.abs(got - expected).max() <= 1e-4
    assert onnx.predict(TEXTS) == predictor.predict(TEXTS)
    assert onnx.predict("so sad") == predictor.predict("so sad")
    assert onnx.predict_proba("so sad").shape == (2,)
    meta = json.load(open(os.path.join(folder, "kbert_export.json")))
    assert (meta["format"], meta["family"], meta["maxlen"], meta["quantized"]) == ("onnx", "bert", 24, False)


def test_runs_where_tensorflow_cannot_be_imported(bert_export):
    # kbert installed with --no-deps beside onnxruntime, tokenizers and numpy: TensorFlow, Keras
    # and keras-hub are made unimportable, and must never enter sys.modules
    predictor, folder = bert_export
    code = f"""
import importlib.abc, json, sys
class NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "keras_hub", "tensorflow_text", "tf_keras"):
            raise ImportError(name + " is not installed here")
sys.meta_path.insert(0, NoTensorFlow())
import kbert.onnx
p = kbert.onnx.load_predictor({str(folder)!r})
probs = p.predict_proba({TEXTS!r})
assert not any(m.split(".")[0] in ("tensorflow", "keras", "keras_hub") for m in sys.modules), "TensorFlow imported"
print(json.dumps({{"labels": p.predict({TEXTS!r}), "probs": probs.tolist()}}))
"""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = ROOT
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["labels"] == predictor.predict(TEXTS)
    assert np.abs(np.array(result["probs"]) - predictor.predict_proba(TEXTS)).max() <= 1e-4


def test_int8_quantization_loads_and_stays_close(bert_export, tmp_path):
    predictor, folder = bert_export
    quantized = shutil.copytree(folder, tmp_path / "int8")
    before = os.path.getsize(quantized / "model.onnx")
    quantize_file(str(quantized / "model.onnx"))
    assert os.path.getsize(quantized / "model.onnx") < before
    got = kbert.onnx.load_predictor(quantized).predict_proba(TEXTS)
    assert np.abs(got - predictor.predict_proba(TEXTS)).max() < 0.05


def test_byte_bpe_pairs_with_two_separators(tmp_path):
    # RoBERTa: byte-level BPE pieces, <s> a </s></s> b </s>, round-robin truncation of long pairs
    predictor = classifier("roberta", pairs=True)
    folder = export_onnx(predictor, tmp_path / "roberta")
    onnx = kbert.onnx.load_predictor(folder)
    pairs = [(t, u) for t, u in zip(TEXTS, reversed(TEXTS))]
    assert np.abs(onnx.predict_proba(pairs) - predictor.predict_proba(pairs)).max() <= 1e-4
    assert onnx.predict(pairs[0]) == predictor.predict(pairs[0])
    with pytest.raises(ValueError, match="text pairs"):
        onnx.predict(["one text"])


@pytest.mark.parametrize("lengths, budget", [([10, 10], 5), ([2, 10], 6), ([10, 1], 4), ([3], 2), ([0, 7], 3),
                                             ([4, 4], 20)])
def test_round_robin_truncation_equals_keras_hubs(lengths, budget):
    packer = keras_hub.layers.MultiSegmentPacker(sequence_length=budget + 1 + len(lengths), start_value=-1,
                                                 end_value=-2, pad_value=-3, truncate="round_robin")
    segments = tuple(tf.ragged.constant([list(range(1, n + 1))], dtype=tf.int32) for n in lengths)
    ids = packer(segments if len(segments) > 1 else segments[0])[0].numpy()[0]
    kept = [len(part) for part in np.split(ids[1:], np.where(ids[1:] == -2)[0])[:len(lengths)]]
    kept = [k - (1 if i else 0) for i, k in enumerate(kept)]  # the split leaves each end marker ahead
    assert round_robin(lengths, budget) == kept


@pytest.mark.parametrize("family", ["distilbert", "albert", "deberta_v3"])
def test_other_families_predict_as_their_keras_predictors(family, tmp_path):
    # no segment ids (distilbert, deberta_v3), SentencePiece pieces (albert, deberta_v3)
    predictor = classifier(family)
    onnx = kbert.onnx.load_predictor(export_onnx(predictor, tmp_path / family))
    assert np.abs(onnx.predict_proba(TEXTS) - predictor.predict_proba(TEXTS)).max() <= 1e-4


def test_families_without_an_exported_tokenizer_say_so():
    predictor = classifier("xlm_roberta")
    with pytest.raises(ValueError, match="xlm_roberta is not covered yet.*saved_model"):
        hf_tokenizer(predictor.preproc.tokenizer)


def test_wordpiece_pieces_equal_kbert_on_unusual_text():
    tokenizer = classifier("distilbert").preproc.tokenizer
    texts = ["ＦＵＬＬ width", "ﬁne ligature", "x\u2003y\u00a0z", "中文 mixed", "don't\x00stop", "tab\u200bbed"]
    hf_tokenizer(tokenizer, texts)  # raises on the first text whose pieces differ


def test_load_errors_name_the_folder(tmp_path):
    with pytest.raises(PredictorLoadError, match="no kbert_export.json"):
        kbert.onnx.load_predictor(tmp_path)
    (tmp_path / "kbert_export.json").write_text(json.dumps({"format": "saved_model"}))
    with pytest.raises(PredictorLoadError, match="'saved_model', not 'onnx'"):
        kbert.onnx.load_predictor(tmp_path)


def test_predictor_export_takes_onnx(bert_export, tmp_path):
    from kbert.predictors.base import EXPORTERS, export_formats

    if "onnx" not in EXPORTERS:
        pytest.skip("kbert.predictors.base.EXPORTERS has no 'onnx' entry yet")
    predictor, _ = bert_export
    assert "onnx" in export_formats("text_classification")
    folder = predictor.export(tmp_path / "via-predictor", format="onnx", quantize=True)
    assert json.load(open(os.path.join(folder, "kbert_export.json")))["quantized"] is True
    assert kbert.onnx.load_predictor(folder).predict(TEXTS[:2]) is not None
