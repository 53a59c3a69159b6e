import numpy as np
import pandas as pd
import pytest

import kbert
from conftest import NEGATIVE, POSITIVE, tiny_vocabulary
from kbert import pretraining as P

TINY = {"num_layers": 2, "hidden_dim": 32, "num_heads": 2, "intermediate_dim": 64, "dropout": 0.0}


def toy_corpus(n_docs=20, sentences=60, seed=0):
    """Documents with a learnable structure: each sentence repeats a pattern of words."""
    rng = np.random.default_rng(seed)
    docs = []
    for d in range(n_docs):
        words = POSITIVE if d % 2 else NEGATIVE
        lines = []
        for _ in range(sentences):
            w = str(rng.choice(words))
            lines.append(f"I feel {w} today and {w} now. ".capitalize())
        docs.append("".join(lines))
    return P.corpus_from_texts(docs)


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    trn, val, pre = P.pretraining_data(toy_corpus(), vocabulary=tiny_vocabulary(), maxlen=32, seed=0)
    model = P.bert_pretrainer(pre, encoder=TINY, seed=0)
    learner = kbert.get_learner(model, trn, val, batch_size=16, seed=0)
    learner.fit_onecycle(3e-3, 4, verbose=0)
    folder = P.export_encoder(learner.model, tmp_path_factory.mktemp("enc") / "my-encoder")
    return learner, pre, folder


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


def test_export_load_round_trip_gives_identical_encoder_outputs(pretrained):
    learner, pre, folder = pretrained
    backbone = P.model.find_backbone(learner.model)
    loaded, tokenizer = kbert.load_encoder(folder)
    assert tokenizer.get_vocabulary() == pre.tokenizer.get_vocabulary()
    x = {"token_ids": np.array([[2, 7, 8, 9, 3, 0]], "int32"), "segment_ids": np.zeros((1, 6), "int32"),
         "padding_mask": np.array([[1, 1, 1, 1, 1, 0]], "int32")}
    for key in ("sequence_output", "pooled_output"):
        np.testing.assert_allclose(loaded(x)[key], backbone(x)[key], atol=1e-6)


def test_exported_encoder_is_a_preset_for_fine_tuning_and_continued_pretraining(pretrained):
    learner, pre, folder = pretrained
    rows = [{"text": f"i feel {w}", "label": "pos" if w in POSITIVE else "neg"} for w in POSITIVE + NEGATIVE]
    trn, val, cpre = kbert.text.texts_from_df(pd.DataFrame(rows * 2), "text", "label", preset=str(folder),
                                              maxlen=16, verbose=0)
    clf = kbert.text.text_classifier(cpre)
    exported = P.model.find_backbone(learner.model).get_weights()
    for a, b in zip(P.model.find_backbone(clf).get_weights(), exported):
        np.testing.assert_array_equal(a, b)
    # continued pretraining starts from the checkpoint, with its vocabulary
    trn2, val2, pre2 = P.pretraining_data(toy_corpus(seed=1), vocabulary=str(folder), maxlen=32, verbose=0)
    again = P.bert_pretrainer(pre2, encoder=str(folder))
    for a, b in zip(P.model.find_backbone(again).get_weights(), exported):
        np.testing.assert_array_equal(a, b)
    other = P.pretraining_data(toy_corpus(), vocabulary=tiny_vocabulary()[:-3], maxlen=32, verbose=0)[2]
    with pytest.raises(ValueError, match="another vocabulary"):
        P.bert_pretrainer(other, encoder=str(folder))


def test_export_is_versioned(pretrained, tmp_path):
    import json
    import shutil

    _, _, folder = pretrained
    copy = shutil.copytree(folder, tmp_path / "old-encoder")
    meta = json.loads((copy / "kbert_encoder.json").read_text())
    meta["format_version"] = 99
    (copy / "kbert_encoder.json").write_text(json.dumps(meta))
    with pytest.raises(kbert.encoders.EncoderNotAvailable, match="export format 99"):
        kbert.load_encoder(str(copy))


def test_pretrainer_without_nsp_has_only_the_mlm_output():
    trn, val, pre = P.pretraining_data(toy_corpus(n_docs=4), vocabulary=tiny_vocabulary(), maxlen=32, nsp=False,
                                       whole_word=True, verbose=0)
    model = P.bert_pretrainer(pre, encoder=TINY, seed=0)
    assert list(model.output) == ["mlm"]
    learner = kbert.get_learner(model, trn, val, batch_size=16, seed=0)
    before = [w.copy() for w in model.get_weights()]
    finder = learner.lr_find(max_epochs=1, verbose=0)
    assert len(finder.losses) >= 5 and all(np.isfinite(finder.losses))
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)  # lr_find restores the weights
    learner.fit_onecycle(1e-3, 1, verbose=0)
    # a single output: Keras names its metric plainly "accuracy"
    assert "nsp_loss" not in learner.history.history and "accuracy" in learner.history.history
    result = learner.validate(print_report=False)
    assert set(result) == {"loss", "mlm_loss", "mlm_perplexity", "mlm_accuracy"}
    assert result["mlm_accuracy"] == pytest.approx(learner.history.history["val_accuracy"][-1], abs=1e-4)
