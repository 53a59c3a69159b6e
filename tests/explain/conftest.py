"""A trained tiny sentiment classifier shared by the explain tests (trained once)."""

import pytest

import kbert
from conftest import sentiment_df, tiny_spec


@pytest.fixture(scope="package")
def predictor():
    trn, val, pre = kbert.text.texts_from_df(sentiment_df(240), "text", "label", preset=tiny_spec(), maxlen=32,
                                             verbose=0)
    learner = kbert.get_learner(kbert.text.text_classifier(pre, dropout=0.0, seed=1), trn, val, batch_size=16,
                                seed=1)
    learner.fit_onecycle(3e-3, 6, verbose=0)
    return kbert.get_predictor(learner.model, pre)
