import numpy as np
import pandas as pd
import pytest

import kbert
from conftest import tiny_spec
from kbert.explain.classification import explain_text

KEYWORD_TEXTS = [("i feel so happy today", "happy"), ("it is really wonderful now", "wonderful"),
                 ("the sad it is", "sad"), ("so very gloomy today", "gloomy")]


@pytest.mark.parametrize("method", ["lime", "gradients"])
def test_the_keyword_gets_the_top_weight(predictor, method):
    hits = 0
    for text, keyword in KEYWORD_TEXTS:
        e = explain_text(predictor, text, method=method, n_samples=300)
        assert e.class_name == predictor.predict(text)
        assert e.probability == pytest.approx(float(np.max(predictor.predict_proba(text))), abs=1e-6)
        hits += e.top(1)[0][0] == keyword and e.top(1)[0][1] > 0
    assert hits >= 3, f"{method}: the keyword led in only {hits} of {len(KEYWORD_TEXTS)} texts"
    if method == "gradients":
        assert e.info["completeness_gap"] <= 0.05 and e.info["exact_tokenization"]


def test_class_name_seed_and_bad_input(predictor):
    a = explain_text(predictor, "i feel so happy today", class_name="neg", n_samples=100, seed=1)
    assert a.class_name == "neg" and a.probability < 0.5
    b = explain_text(predictor, "i feel so happy today", class_name="neg", n_samples=100, seed=1)
    np.testing.assert_array_equal(a.weights, b.weights)
    empty = explain_text(predictor, "", method="gradients")
    assert empty.words == [] and empty.class_name == predictor.predict("")  # as predict: no error
    with pytest.raises(ValueError, match=r"not one of the model's classes \['neg', 'pos'\]"):
        explain_text(predictor, "so happy", class_name="joy")
    with pytest.raises(ValueError, match="method"):
        explain_text(predictor, "so happy", method="shap")
    with pytest.raises(TypeError, match="texts must be a string"):
        explain_text(predictor, None)
    with pytest.raises(TypeError, match="one text"):
        explain_text(predictor, ["a", "b"])


def test_regression_and_pair_models_are_explained():
    df = pd.DataFrame({"text": ["so happy", "so sad", "very good", "very bad"] * 4, "other": "the cat",
                       "score": [1.0, 0.0, 1.0, 0.0] * 4})
    trn, val, pre = kbert.text.texts_from_df(df, "text", "score", preset=tiny_spec(), maxlen=16, verbose=0,
                                             text_pair_column="other", val_pct=0.25)
    p = kbert.get_predictor(kbert.text.text_classifier(pre, seed=0), pre)
    for method in ("lime", "gradients"):
        e = explain_text(p, ("i feel happy", "the cat"), method=method, n_samples=50)
        assert e.class_name == "value" and e.words == ["i", "feel", "happy"]
        assert e.probability == pytest.approx(p.predict([("i feel happy", "the cat")])[0], abs=1e-5)
    assert e.info["completeness_gap"] <= 0.05
    with pytest.raises(TypeError, match="text pairs"):
        explain_text(p, "just one text")
    with pytest.raises(ValueError, match="one output"):
        explain_text(p, ("a", "b"), class_name="x")


def test_the_predictor_method(predictor):
    e = predictor.explain("so very gloomy today", method="gradients")
    assert e.top(1)[0][0] == "gloomy" and "gloomy" in e._repr_html_()
