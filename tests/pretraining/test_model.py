"""kbert.pretraining.model: the pretrainer learns masked LM and NSP, ties its MLM head to the
token embedding, trains without NSP (one output), and pretrains every family with its own
objective."""

import numpy as np
import pytest

import kbert
from conftest import FAMILIES, tiny_family_spec, tiny_vocabulary
from kbert import pretraining as P
from kbert.pretraining import PretrainingPreprocessor

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


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_pretrains_with_its_own_objective(family):
    """A tiny encoder of each family: its default heads (BERT: MLM + NSP, ALBERT: MLM + SOP,
    the others: MLM only), a few steps lower the masked-LM loss, and the model and the
    preprocessor survive a config round trip."""
    trn, val, pre = P.pretraining_data(toy_corpus(n_docs=3, sentences=12), vocabulary=tiny_family_spec(family),
                                       maxlen=32, whole_word=True, verbose=0)
    pair = {"bert": "nsp", "albert": "sop"}.get(family)
    assert pre.objective == {"nsp": "mlm+nsp", "sop": "mlm+sop", None: "mlm"}[pair] and pre.pair_head == pair
    model = P.bert_pretrainer(pre, seed=0)
    assert sorted(model.output) == sorted(["mlm"] + ([pair] if pair else []))
    # the head is tied: the only vocabulary-sized matrix is the embedding (ALBERT and ELECTRA
    # embed in 16 dims, so the head's dense maps 32 → 16 first)
    rows = model.backbone.token_embedding.input_dim
    width = model.backbone.token_embedding.output_dim
    assert [tuple(w.shape) for w in model.weights if w.shape[0] == rows and len(w.shape) == 2] == [(rows, width)]
    assert model.get_layer("mlm_head")._intermediate_dense.kernel.shape[-1] == width
    model.optimizer.learning_rate.assign(3e-3)
    model.run_eagerly = True  # five tiny steps: faster than tracing the train step (the Learner tests trace it)
    x, y = next(iter(trn.dataset(16, training=True, seed=0)))
    assert set(y) == set(model.output)
    key = "mlm_loss" if pair else "loss"
    losses = [float(model.train_on_batch(x, y, return_dict=True)[key]) for _ in range(5)]
    assert losses[-1] < losses[0] - 0.1, losses
    clone = P.BertPretrainer.from_config(model.get_config())
    assert clone.objective == pre.objective and sorted(clone.output) == sorted(model.output)
    again = PretrainingPreprocessor.from_config(pre.get_config(), pre.tokenizer)
    assert (again.objective, again.pair_head, again.get_config()) == (pre.objective, pair, pre.get_config())


def test_objective_overrides_and_a_fresh_encoder_of_another_family_is_refused():
    spec = tiny_family_spec("roberta")
    trn, _, pre = P.pretraining_data(toy_corpus(n_docs=3, sentences=10), vocabulary=spec, maxlen=32, nsp=True,
                                     verbose=0)
    assert pre.objective == "mlm+nsp"
    # RoBERTa's pairs: <s> A </s></s> B </s>
    ids = trn.features["token_ids"][0].numpy().tolist()
    s, e = pre.ids["start"], pre.ids["end"]
    assert ids[0] == s and ids[-1] == e and ids.count(e) == 3 and ids[ids.index(e) + 1] == e
    with pytest.raises(ValueError, match="contradicts"):
        PretrainingPreprocessor(pre.tokenizer, nsp=True, objective="mlm+sop")
    with pytest.raises(ValueError, match="objective must be one of"):
        PretrainingPreprocessor(pre.tokenizer, objective="nsp")
    with pytest.raises(ValueError, match="tokenized with a roberta tokenizer"):
        P.bert_pretrainer(pre, encoder={"family": "bert", **TINY})
    # a WordPiece vocabulary list can be made for another WordPiece family
    _, _, distil = P.pretraining_data(toy_corpus(n_docs=3, sentences=10), vocabulary=tiny_vocabulary(), maxlen=32,
                                      family="distilbert", verbose=0)
    assert distil.objective == "mlm" and distil.family.name == "distilbert"
