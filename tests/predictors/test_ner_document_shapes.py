"""NERPredictor with document context (predict(sentences, document=True)) and word shapes (the
SavedModel computes them in its graph, as the predictor does)."""

import numpy as np
import pytest
import tensorflow as tf

import kbert
from conftest import tiny_family_spec
from kbert.predictors.ner import split_words

from .helpers import ner_sentences

DOCUMENT = ["There is a man named John Smith.", "Smith lives in Paris.", "", "He likes Rome and London."]


def test_document_mode_gives_per_sentence_results_in_the_usual_formats(ner_predictor):
    p = ner_predictor
    got = p.predict(DOCUMENT, document=True)
    plain = p.predict(DOCUMENT)
    assert len(got) == len(DOCUMENT) and got[2] == []
    assert [[w for w, _ in s] for s in got] == [[w for w, _ in s] for s in plain]
    assert all(len(pair) == 2 and isinstance(pair[1], str) for s in got for pair in s)
    ents = p.predict(DOCUMENT, document=True, merge_tokens=True, return_offsets=True, as_dict=True)
    for text, sentence in zip(DOCUMENT, ents):
        for e in sentence:
            assert text[e["start"]:e["end"]] == e["text"]
    words = [[w for w, _, _ in split_words(s)] for s in DOCUMENT]
    assert p.predict(words, is_split_into_words=True, document=True) == p.predict(
        [" ".join(w) for w in words], document=True)
    # a document of one sentence is that sentence's own window
    assert p.predict([DOCUMENT[0]], document=True, return_proba=True) == [p.predict(DOCUMENT[0], return_proba=True)]
    with pytest.raises(TypeError, match="document=True takes"):
        p.predict(DOCUMENT[0], document=True)
    with pytest.raises(TypeError, match="document=True takes"):
        p.predict(words[0], is_split_into_words=True, document=True)


def test_document_mode_reads_each_sentence_with_its_neighbours(ner_predictor):
    pre = ner_predictor.preproc
    words = [s.split() for s in DOCUMENT if s]
    data = pre.encode(words, None, verbose=0, documents=[0] * len(words))
    alone = pre.encode(words, None, verbose=0)
    assert (data.source["context_words"] > 0).all() and (alone.source["context_words"] == 0).all()
    assert (data.lengths > alone.lengths).all()
    proba = [np.asarray(s) for s in pre.word_tags(ner_predictor._outputs(data), data, proba=True)]
    assert [len(s) for s in proba] == [len(w) for w in words]


def shape_tagger():
    x, y = ner_sentences(20)
    _, _, pre = kbert.text.entities_from_array(x, y, x[:4], y[:4], preset=tiny_family_spec("bert"), maxlen=16,
                                               verbose=0)
    model = kbert.text.sequence_tagger(pre, dropout=0.0, seed=0, verbose=0, word_shapes=True)
    layer = model.get_layer("word_shapes")
    # large shape vectors, so that a shape fed wrong would change the tags
    layer.embeddings.assign(np.random.default_rng(0).normal(0, 3, layer.embeddings.shape).astype("float32"))
    return kbert.get_predictor(model, pre)


SENTENCES = ["There is a MAN named John smith.", "", "iPhone 3.50 $ U.S. well-Known O'Neil ÉCOLE",
             "John SMITH " * 10 + "in Paris"]


def test_saved_model_of_a_shape_tagger_computes_the_shapes_as_the_predictor(tmp_path):
    p = shape_tagger()
    expected = p.predict(SENTENCES, return_proba=True)
    signature = tf.saved_model.load(p.export(tmp_path / "ner")).signatures["serving_default"]
    out = {k: v.numpy() for k, v in signature(text=tf.constant(SENTENCES)).items()}
    for i, sentence in enumerate(expected):
        n = len(sentence)
        assert [t.decode() for t in out["tags"][i][:n]] == [t for _, t, _ in sentence], SENTENCES[i]
        np.testing.assert_allclose(out["probabilities"][i][:n].max(axis=1), [q for _, _, q in sentence], atol=1e-5)
    # the shapes matter: the same words lowercased are tagged with other probabilities
    lower = p.predict([s.lower() for s in SENTENCES], return_proba=True)
    assert [q for _, _, q in lower[0]] != [q for _, _, q in expected[0]]
