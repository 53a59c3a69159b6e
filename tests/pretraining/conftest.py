"""The pretrained tiny encoder that tests/pretraining/test_model.py and test_export.py share
(package scope: it is trained once)."""

import pytest

import kbert
from conftest import tiny_vocabulary
from kbert import pretraining as P

from .helpers import TINY, toy_corpus


@pytest.fixture(scope="package")
def pretrained(tmp_path_factory):
    trn, val, pre = P.pretraining_data(toy_corpus(), vocabulary=tiny_vocabulary(), maxlen=32, seed=0)
    model = P.bert_pretrainer(pre, encoder=TINY, seed=0)
    learner = kbert.get_learner(model, trn, val, batch_size=16, seed=0)
    learner.fit_onecycle(3e-3, 4, verbose=0)
    folder = P.export_encoder(learner.model, tmp_path_factory.mktemp("enc") / "my-encoder")
    return learner, pre, folder
