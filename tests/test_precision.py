"""kbert.precision: policies by name, and the float32 twin of a mixed-precision model that
exports use (an ONNX export of a mixed bfloat16 graph does not load in onnxruntime)."""

import numpy as np
import pytest

import kbert
from conftest import sentiment_df, tiny_spec
from kbert.precision import dtype_policy, float32_copy, is_mixed

TEXTS = ["good movie", "bad film really", "fine"]


def classifier(precision):
    trn, val, pre = kbert.text.texts_from_df(sentiment_df(40), "text", "label", preset=tiny_spec(), maxlen=16,
                                             verbose=0)
    return kbert.text.text_classifier(pre, dropout=0.0, seed=1, verbose=0, precision=precision), pre


def test_policy_names():
    assert dtype_policy("float32") == "float32"
    with pytest.raises(ValueError, match="precision must be one of"):
        dtype_policy("bf16")


def test_float32_copy_has_the_same_weights_and_computes_in_float32():
    model, pre = classifier("mixed_bfloat16")
    assert is_mixed(model)
    twin = float32_copy(model)
    assert not is_mixed(twin) and twin is not model
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = next(iter(pre.transform(TEXTS, verbose=0).dataset(3, training=False, with_targets=False)))
    mixed, exact = model.predict_on_batch(x), twin.predict_on_batch(x)
    assert 0 < np.abs(mixed - exact).max() < 0.05  # bfloat16 rounding, nothing more
    plain, _ = classifier("float32")
    assert float32_copy(plain) is plain


def test_exports_of_a_mixed_model_are_its_float32_twin(tmp_path):
    pytest.importorskip("tf2onnx")
    pytest.importorskip("onnxruntime")
    import kbert.onnx

    model, pre = classifier("mixed_bfloat16")
    predictor = kbert.get_predictor(model, pre)
    twin = predictor.in_float32()
    assert twin.model is not model and predictor.model is model
    expected = twin.predict_proba(TEXTS)
    onnx = kbert.onnx.load_predictor(predictor.export(tmp_path / "onnx", format="onnx"))
    np.testing.assert_allclose(onnx.predict_proba(TEXTS), expected, atol=1e-6)


@pytest.mark.default_precision
def test_builders_default_to_auto():
    """precision=None is kbert's default, "auto": bfloat16 where the CPU or GPU runs it fast."""
    from kbert.precision import default_precision, fast_bfloat16, set_default_precision

    assert default_precision() == "auto"
    model, _ = classifier(None)
    assert is_mixed(model) == fast_bfloat16()
    set_default_precision("float32")
    try:
        assert not is_mixed(classifier(None)[0])
    finally:
        set_default_precision("auto")
    with pytest.raises(ValueError, match="precision must be one of"):
        set_default_precision("bf16")


def test_policy_names_under_a_set_default():
    assert dtype_policy(None) == "float32"  # the tests' default (conftest), set like a user would
    assert dtype_policy("auto") in ("float32", "mixed_bfloat16")
