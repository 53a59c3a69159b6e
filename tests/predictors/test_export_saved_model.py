"""predictor.export(folder, format="saved_model"): a SavedModel that takes raw strings, and
the export dispatcher's errors. (Loading in a process with only tensorflow + tensorflow-text:
tests/integration/test_saved_model_process.py.)"""

import json
import os
import unicodedata

import numpy as np
import pytest
import tensorflow as tf

import kbert
from conftest import sentiment_df, tiny_family_spec, tiny_spec
from kbert.predictors.base import EXPORTERS, export_formats

from kbert.predictors.export_ner_graph import split_words as graph_split_words
from kbert.predictors.ner import split_words

from .helpers import TEXTS, ner_sentences, qa_examples

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


def tagger(family="bert", maxlen=16):
    x, y = ner_sentences(20)
    _, _, pre = kbert.text.entities_from_array(x, y, x[:4], y[:4], preset=tiny_family_spec(family), maxlen=maxlen,
                                               verbose=0)
    return kbert.get_predictor(kbert.text.sequence_tagger(pre, dropout=0.0, seed=0, verbose=0), pre)


# awkward word splits (apostrophes, hyphens, dots, unicode, runs of spaces, a zero-width space that
# has no word pieces), an empty sentence, and sentences longer than one window (maxlen=16)
SENTENCES = ["There is a man named John Smith.", "",
             "don't  stop—the U.S. well-known café naïve 3.50 $ ’tis o'neil", "john smith " * 12 + "in paris",
             "\u200b x\u00a0y\tz 🙂 ＡＢＣ١٢٣ 東京", "a" * 40 + " b"]


@pytest.mark.parametrize("family", ["bert", "roberta", "albert"])
def test_ner_saved_model_tags_raw_sentences_as_the_predictor(family, tmp_path):
    ner = tagger(family)
    folder = ner.export(tmp_path / "ner")
    out = serve(folder, text=SENTENCES)
    expected = ner.predict(SENTENCES, return_offsets=True, return_proba=True)
    assert out["num_words"].tolist() == [len(e) for e in expected]
    width = max(len(e) for e in expected)
    assert out["words"].shape == out["tags"].shape == out["word_starts"].shape == (len(SENTENCES), width)
    assert out["probabilities"].shape == (len(SENTENCES), width, len(ner.preproc.tags))
    for i, sentence in enumerate(expected):
        n = len(sentence)
        got = [(w.decode(), t.decode(), (int(s), int(e))) for w, t, s, e in zip(
            out["words"][i][:n], out["tags"][i][:n], out["word_starts"][i][:n], out["word_ends"][i][:n])]
        assert got == [(w, t, o) for w, t, _, o in sentence], SENTENCES[i]
        np.testing.assert_allclose(out["probabilities"][i][:n].max(axis=1), [p for _, _, p, _ in sentence],
                                   atol=1e-5)
        assert (out["words"][i][n:] == b"").all() and (out["word_starts"][i][n:] == -1).all()
    meta = json.load(open(os.path.join(folder, "kbert_export.json")))
    assert meta["task"] == "ner" and meta["tags"] == ner.preproc.tags and meta["inputs"] == ["text"]
    assert meta["outputs"] == ["words", "tags", "word_starts", "word_ends", "probabilities", "num_words"]


def test_ner_windows_in_the_graph_are_the_predictors(tmp_path):
    # long sentences are read in windows (maxlen 10: 8 pieces, stride 2): every word is tagged by
    # the window that owns it, with that window's probabilities
    ner = tagger(maxlen=10)
    sentences = [" ".join(x) for x in ner_sentences(12, seed=3)[0]] + ["john " * 25]
    data = ner.preproc.encode([[w for w, _, _ in split_words(s)] for s in sentences], verbose=0)
    assert data.stats["windowed"] >= 5
    out = serve(ner.export(tmp_path / "ner"), text=sentences)
    probs = ner.preproc.word_tags(ner._outputs(data), data, proba=True)
    tags = ner.preproc.word_tags(ner._outputs(data), data)
    for i, n in enumerate(out["num_words"]):
        np.testing.assert_allclose(out["probabilities"][i][:n], np.array(probs[i]), atol=1e-5)
        assert [t.decode() for t in out["tags"][i][:n]] == tags[i]


def test_graph_word_split_is_the_predictors():
    # every 37th code point (letters, digits, marks, symbols, spaces of every script) inside and
    # between words, with apostrophes, hyphens and dots; not NUL, and not those that Python's
    # Unicode 14 tables leave unassigned (RE2's newer tables know e.g. Kawi letters)
    chars = [chr(c) for c in range(1, 0x30000, 37) if unicodedata.category(chr(c)) not in ("Cn", "Cs")]
    texts = [f"a{c}b x{c}{c} ’{c}-y {c}.z" for c in chars] + SENTENCES + ["  ", "rock'n'roll -- e.g. 1,000.5 "
                                                                            "O’Neil's well-known-ish __x__"]
    words, starts, ends = (t.to_list() for t in graph_split_words(tf.constant(texts)))
    for i, text in enumerate(texts):
        got = [(w.decode(), s, e) for w, s, e in zip(words[i], starts[i], ends[i])]
        assert got == split_words(text), text


def qa_predictor(family="bert", version_2=False):
    examples = qa_examples(8)
    _, _, pre = kbert.text.qa.qa_from_examples(examples, qa_examples(4, seed=1), 64, 16, 16, tiny_family_spec(family),
                                               0.1, 0, False, 0)
    predictor = kbert.get_predictor(kbert.text.qa_model(pre, dropout=0.0, seed=0), pre)
    if version_2:  # a no-answer threshold in the middle of the (null - best span) scores: some of each
        data = pre.encode([{"question": q, "context": c, "answers": []} for q, c in zip(QUESTIONS, CONTEXTS)],
                          verbose=0, with_targets=False)
        best, null = pre.decode(predictor._outputs(data), data)
        gaps = [null[i] - b[0]["score"] for i, b in enumerate(best)]
        pre.version_2, pre.null_threshold = True, float(np.median(gaps))
    return predictor


# short contexts, contexts of several windows (maxlen 64, doc_stride 16), a question longer than
# max_query_length, accents and punctuation, a lone zero-width space (no pieces)
QUESTIONS = [e["question"] for e in qa_examples(4, seed=2)] + [
    "who is it?", "what is the color of the sky and the cat and the dog and the sea today, really?",
    "where?", "what\u200b now"]
CONTEXTS = [e["context"] for e in qa_examples(4, seed=2)] + [
    "Café naïve résumé, 3.50 dollars! " * 8, "the sky is blue. " * 20, "東京 is in Japan (日本).", "x \u200b y"]


@pytest.mark.parametrize("version_2", [False, True])
def test_qa_saved_model_answers_raw_questions_as_the_predictor(version_2, tmp_path):
    qa = qa_predictor(version_2=version_2)
    folder = qa.export(tmp_path / "qa")
    out = serve(folder, question=QUESTIONS, context=CONTEXTS)
    expected = qa.predict(QUESTIONS, CONTEXTS)
    data = qa.preproc.encode([{"question": q, "context": c, "answers": []} for q, c in zip(QUESTIONS, CONTEXTS)],
                             verbose=0, with_targets=False)
    assert data.stats["split_contexts"] >= 2 and data.stats["cut_questions"] == 1
    got = [{"answer": a.decode(), "start": int(s), "end": int(e)} for a, s, e in zip(out["answer"], out["start"],
                                                                                       out["end"])]
    assert got == [{k: p[k] for k in ("answer", "start", "end")} for p in expected]
    np.testing.assert_allclose(out["score"], [p["score"] for p in expected], atol=1e-5)
    if version_2:
        assert any(p["answer"] == "" for p in expected) and any(p["answer"] for p in expected)
    meta = json.load(open(os.path.join(folder, "kbert_export.json")))
    assert meta["task"] == "qa" and meta["inputs"] == ["question", "context"] and meta["doc_stride"] == 16
    assert meta["outputs"] == ["answer", "start", "end", "score"] and meta["version_2"] is version_2


def test_unsupported_predictor_and_unknown_format_say_which_formats(tmp_path):
    qa = qa_predictor("roberta")
    with pytest.raises(ValueError, match=r"only with a WordPiece encoder .* this one is 'roberta'.*format='tflite'"):
        qa.export(tmp_path / "qa")
    assert not (tmp_path / "qa").exists()
    with pytest.raises(ValueError, match=r"Unknown export format 'pb'; kbert exports: .*saved_model, tflite"):
        qa.export(tmp_path / "qa", format="pb")
    assert export_formats("text_classification") == sorted(f for f in EXPORTERS if f in ("onnx", "saved_model",
                                                                                          "tflite"))
    assert "saved_model" in export_formats("ner") and "saved_model" in export_formats("qa")
    assert "saved_model" not in export_formats("pretraining")


def test_a_windowed_document_model_says_no_format_windows_yet(tmp_path):
    trn, _, preproc = kbert.text.texts_from_df(sentiment_df(8), "text", "label", preset=tiny_spec(num_layers=1),
                                               maxlen=16, long_document="windows", stride=4, verbose=0)
    predictor = kbert.get_predictor(kbert.text.text_classifier(preproc), preproc)
    for fmt in ("saved_model", "tflite"):
        with pytest.raises(ValueError, match="no export format windows documents yet"):
            predictor.export(str(tmp_path / fmt), format=fmt)
    with pytest.raises(ValueError, match='use method="lime"'):
        predictor.explain("i feel happy", method="gradients")
