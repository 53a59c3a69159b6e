"""The trained tiny text classifier that tests/predictors/test_classification.py and test_base.py
share (package scope: it is trained once)."""

import pytest

import kbert
from conftest import sentiment_df, tiny_spec


@pytest.fixture(scope="package")
def trained():
    trn, val, pre = kbert.text.texts_from_df(sentiment_df(240), "text", "label", preset=tiny_spec(), maxlen=32,
                                             verbose=0)
    learner = kbert.get_learner(kbert.text.text_classifier(pre, dropout=0.0, seed=1), trn, val, batch_size=16,
                                seed=1)
    learner.fit_onecycle(3e-3, 6, verbose=0)
    return learner, pre
