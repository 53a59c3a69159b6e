import numpy as np
import pytest

import kbert
from kbert import pretraining as P
from conftest import tiny_vocabulary


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
    assert best[0]["token"] == "blue"  # learnt from the corpus
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
