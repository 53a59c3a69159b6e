"""kbert.pretraining.model: the pretrainer learns masked LM and NSP, ties its MLM head to the
token embedding, and trains without NSP (one output)."""

import numpy as np
import pytest

import kbert
from conftest import tiny_vocabulary
from kbert import pretraining as P

from .helpers import TINY, toy_corpus


def test_pretrainer_learns_masked_lm_and_nsp(pretrained, capsys):
    learner, pre, _ = pretrained
    h = learner.history.history
    assert set(h) >= {"loss", "mlm_loss", "nsp_loss", "mlm_accuracy", "nsp_accuracy", "val_mlm_accuracy"}
    assert h["mlm_loss"][-1] < 0.6 * h["mlm_loss"][0]
    # the total is the sum of the two losses (epoch means of batch values: equal up to averaging)
    np.testing.assert_allclose(h["loss"][-1], h["mlm_loss"][-1] + h["nsp_loss"][-1], rtol=0.01)
    # the toy sentences are predictable: far above the 1/140 of guessing
    assert h["mlm_accuracy"][-1] > 2 * h["mlm_accuracy"][0] and h["val_mlm_accuracy"][-1] > 0.25
    result = learner.validate()
    assert "masked LM: loss" in capsys.readouterr().out
    assert result["mlm_accuracy"] == pytest.approx(h["val_mlm_accuracy"][-1], abs=1e-4)
    assert result["mlm_perplexity"] == pytest.approx(np.exp(result["mlm_loss"]), rel=1e-4)


def test_mlm_head_is_tied_to_the_token_embedding(pretrained):
    learner, pre, _ = pretrained
    vocab_sized = [w for w in learner.model.weights if tuple(w.shape) == (pre.vocabulary_size, 32)]
    assert len(vocab_sized) == 1  # only the embedding: the head reuses it


def test_pretrainer_without_nsp_has_only_the_mlm_output():
    trn, val, pre = P.pretraining_data(toy_corpus(n_docs=4), vocabulary=tiny_vocabulary(), maxlen=32, nsp=False,
                                       whole_word=True, verbose=0)
    model = P.bert_pretrainer(pre, encoder=TINY, seed=0)
    assert list(model.output) == ["mlm"]
    learner = kbert.get_learner(model, trn, val, batch_size=16, seed=0)
    before = [w.copy() for w in model.get_weights()]
    learner.lr_find(max_epochs=1, verbose=0)  # returns None, as ktrain's; the curve is in learner.lr_finder
    finder = learner.lr_finder
    assert len(finder.losses) >= 5 and all(np.isfinite(finder.losses))
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)  # lr_find restores the weights
    learner.fit_onecycle(1e-3, 1, verbose=0)
    # a single output: Keras names its metric plainly "accuracy"
    assert "nsp_loss" not in learner.history.history and "accuracy" in learner.history.history
    result = learner.validate(print_report=False)
    assert set(result) == {"loss", "mlm_loss", "mlm_perplexity", "mlm_accuracy"}
    assert result["mlm_accuracy"] == pytest.approx(learner.history.history["val_accuracy"][-1], abs=1e-4)
