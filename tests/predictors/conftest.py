"""Trained tiny models that the predictor tests share (package scope: each is trained once):
a text classifier, a NER tagger and an extractive QA model."""

import pytest

import kbert
from conftest import sentiment_df, tiny_spec

from .helpers import ner_sentences, qa_examples


@pytest.fixture(scope="package")
def trained():
    trn, val, pre = kbert.text.texts_from_df(sentiment_df(240), "text", "label", preset=tiny_spec(), maxlen=32,
                                             verbose=0)
    learner = kbert.get_learner(kbert.text.text_classifier(pre, dropout=0.0, seed=1), trn, val, batch_size=16,
                                seed=1)
    learner.fit_onecycle(3e-3, 6, verbose=0)
    return learner, pre


@pytest.fixture(scope="package")
def ner_predictor():
    x, y = ner_sentences(200)
    xv, yv = ner_sentences(40, seed=1)
    trn, val, pre = kbert.text.entities_from_array(x, y, xv, yv, preset=tiny_spec(), maxlen=32, verbose=0)
    learner = kbert.get_learner(kbert.text.sequence_tagger(pre, dropout=0.0, seed=0), trn, val, batch_size=16, seed=0)
    learner.fit_onecycle(5e-3, 10, verbose=0)
    return kbert.get_predictor(learner.model, pre)


@pytest.fixture(scope="package")
def qa_predictor():
    trn, val, pre = kbert.text.qa.qa_from_examples(qa_examples(240), qa_examples(40, seed=1), 64, 16, 16,
                                                   tiny_spec(), 0.1, 0, False, 0)
    learner = kbert.get_learner(kbert.text.qa_model(pre, dropout=0.0, seed=0), trn, val, batch_size=16, seed=0)
    learner.fit_onecycle(3e-3, 8, verbose=0)
    return kbert.get_predictor(learner.model, pre)
