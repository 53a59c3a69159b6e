"""kbert.predictors.fill_mask: the top fillers of each mask, for every family's mask piece and
piece style."""

import re

import numpy as np
import pytest

import kbert
from kbert import pretraining as P
from kbert.families import BYTE_BPE, SENTENCEPIECE, WORDPIECE
from kbert.pieces import piece_text, starts_word, style_of
from kbert.predictors.fill_mask import fill
from conftest import tiny_family_spec, tiny_vocabulary


@pytest.fixture(scope="module")
def predictor():
    docs = ["The sky is blue. The dog is red. The cat is green."] * 64
    trn, val, pre = P.pretraining_data(P.corpus_from_texts(docs), vocabulary=tiny_vocabulary(), maxlen=32,
                                       nsp=False, val_pct=0.2, verbose=0)
    model = P.bert_pretrainer(pre, encoder={"num_layers": 1, "hidden_dim": 32, "num_heads": 2,
                                            "intermediate_dim": 64}, seed=0)
    learner = kbert.get_learner(model, trn, val, batch_size=8, seed=0)
    learner.fit_onecycle(1e-2, 6, verbose=0)
    return kbert.get_predictor(learner.model, pre)


def test_fills_masks_with_probabilities_and_sequences(predictor):
    assert isinstance(predictor, kbert.predictors.FillMaskPredictor)
    best = predictor.predict("the sky is [MASK] .", top_k=3)
    assert len(best) == 3 and best[0]["score"] >= best[1]["score"] >= best[2]["score"]
    assert best[0]["sequence"] == f"the sky is {best[0]['token']} ."
    assert best[0]["token"] == best[0]["token_str"] == "blue"  # learnt from the corpus
    two = predictor.predict("the [MASK] is [MASK] .", top_k=2)
    assert len(two) == 2 and all(len(m) == 2 for m in two)
    proba = predictor.predict_proba(["the [MASK] is blue .", "the cat is [MASK] ."])
    assert [p.shape for p in proba] == [(1, len(tiny_vocabulary()))] * 2
    np.testing.assert_allclose([p.sum() for p in proba], 1.0, atol=1e-5)


def test_a_text_without_a_mask_is_an_error(predictor):
    with pytest.raises(ValueError, match=r"has no \[MASK\]"):
        predictor.predict("the sky is blue")
    with pytest.raises(TypeError, match=r"texts\[0\] is None, not a string; texts must be a string with \[MASK\]"):
        predictor.predict([None])
    with pytest.raises(TypeError, match=r"texts must be a string with \[MASK\] or a list of such strings, got None"):
        predictor.predict(None)
    with pytest.raises(TypeError, match=r"got an int \(5\)"):
        predictor.predict_proba(5)


@pytest.mark.parametrize("family, mask", [("roberta", "<mask>"), ("albert", "[MASK]")])
def test_fill_mask_of_other_families_uses_their_mask_and_decodes_their_pieces(family, mask, tmp_path):
    docs = ["The sky is blue. The dog is red. The cat is green."] * 8
    _, _, pre = P.pretraining_data(P.corpus_from_texts(docs), vocabulary=tiny_family_spec(family), maxlen=32,
                                   val_pct=0.2, verbose=0)
    predictor = kbert.get_predictor(P.bert_pretrainer(pre, seed=0), pre)
    assert predictor.mask_token == mask
    style = style_of(pre.tokenizer)
    best = predictor.predict(f"the sky is {mask}.", top_k=20)
    assert len(best) == 20 and [b["score"] for b in best] == sorted((b["score"] for b in best), reverse=True)
    for b in best:
        assert b["token"] == pre.tokenizer.id_to_token(b["token_id"])
        assert b["token_str"] == piece_text(b["token"], style).strip()
        if not b["token"].startswith(("<", "[")):
            # "Ġblue", "▁blue" → " blue": a word of its own; a continuation ("s") joins "is"
            text = piece_text(b["token"], style)
            assert b["sequence"] == f"the sky is{text}." and text.startswith(" ") == starts_word(b["token"], style)
    proba = predictor.predict_proba([f"{mask} sky is blue.", f"the {mask} is {mask}."])
    assert [p.shape for p in proba] == [(1, pre.vocabulary_size), (2, pre.vocabulary_size)]
    # saved and loaded: the same tokenizer, objective and answers
    predictor.save(tmp_path / "p")
    loaded = kbert.predictors.load_predictor(tmp_path / "p")
    assert loaded.preproc.objective == pre.objective and loaded.mask_token == mask
    again = loaded.predict(f"the sky is {mask}.", top_k=20)
    assert [b["token_id"] for b in again] == [b["token_id"] for b in best]
    np.testing.assert_allclose([b["score"] for b in again], [b["score"] for b in best], rtol=1e-5)
    with pytest.raises(ValueError, match=f"has no {re.escape(mask)} \\(this model's mask token\\)"):
        predictor.predict("the sky is [MASK]." if mask == "<mask>" else "the sky is <mask>.")


def test_fill_joins_each_piece_style_as_its_text():
    assert fill("the sky is <mask>.", "<mask>", 0, "Ġblue", BYTE_BPE) == "the sky is blue."
    assert fill("a <mask> in the <mask>", "<mask>", 1, "Ġcaf\u00c3\u00a9", BYTE_BPE) == "a <mask> in the café"
    assert fill("the sky is [MASK] .", "[MASK]", 0, "\u2581blue", SENTENCEPIECE) == "the sky is blue ."
    assert fill("the cat[MASK] sat", "[MASK]", 0, "s", SENTENCEPIECE) == "the cats sat"
    assert fill("[MASK] sat", "[MASK]", 0, "\u2581cats", SENTENCEPIECE) == "cats sat"
    assert fill("the play [MASK] well", "[MASK]", 0, "##ed", WORDPIECE) == "the played well"
    assert fill("the [MASK] sat", "[MASK]", 0, "cat", WORDPIECE) == "the cat sat"
