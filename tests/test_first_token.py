"""kbert.first_token: the last encoder layer computed for [CLS] alone gives the same first-token
state, logits and gradients as the full layer, for every family it applies to; kbert's
classifiers, their reloaded predictors, float32 twins and students use it."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kbert
from kbert import first_token
from kbert.encoders import load_encoder
from kbert.models import find_backbone
from kbert.precision import float32_copy
from conftest import FAMILIES, sentiment_df, tiny_family_spec, tiny_spec

APPLIES = {"bert", "distilbert", "roberta", "xlm_roberta", "electra"}


def feed(backbone, rows=3, width=9, seed=0):
    rng = np.random.default_rng(seed)
    mask = np.zeros((rows, width), "int32")
    for i, n in enumerate([width, 5, 2][:rows]):
        mask[i, :n] = 1
    x = {"token_ids": rng.integers(5, 40, (rows, width)).astype("int32") * mask, "padding_mask": mask}
    if "segment_ids" in {i.name for i in backbone.inputs}:
        x["segment_ids"] = np.zeros((rows, width), "int32")
    return x


def first_state(backbone, x):
    out = backbone(x)
    return np.asarray((out["sequence_output"] if isinstance(out, dict) else out)[:, 0])


@pytest.mark.parametrize("family", FAMILIES)
def test_first_token_state_is_unchanged(family):
    keras.utils.set_random_seed(0)
    backbone, _ = load_encoder(tiny_family_spec(family))
    x = feed(backbone)
    full = first_state(backbone, x)
    applied = first_token.first_token_only(backbone)
    assert applied == (family in APPLIES) == first_token.is_first_token_only(backbone)
    out = backbone(x)
    seq = out["sequence_output"] if isinstance(out, dict) else out
    assert seq.shape[1] == (1 if applied else x["token_ids"].shape[1])
    np.testing.assert_allclose(first_state(backbone, x), full, atol=2e-6)
    assert first_token.first_token_only(backbone) == applied  # applying twice changes nothing


def test_classifier_logits_and_gradients_equal_the_full_model():
    trn, val, pre = kbert.text.texts_from_df(sentiment_df(24), "text", "label", preset=tiny_spec(), maxlen=16,
                                             verbose=0)
    model = kbert.text.text_classifier(pre, seed=0, dropout=0.0)  # (the tiny encoder has no dropout either)
    assert first_token.is_first_token_only(find_backbone(model))
    full = keras.models.model_from_json(model.to_json())  # the same architecture, every position computed
    full.set_weights(model.get_weights())
    assert not first_token.is_first_token_only(find_backbone(full))
    x, y = next(iter(trn.dataset(8)))

    def loss_and_grads(m):
        with tf.GradientTape() as tape:
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, m(x, training=True))
        return float(loss), tape.gradient(loss, m.trainable_weights)

    (a, ga), (b, gb) = loss_and_grads(model), loss_and_grads(full)
    assert abs(a - b) < 1e-6
    assert len(ga) == len(gb)
    for u, v in zip(ga, gb):
        if u is None or v is None:
            assert u is None and v is None
            continue
        np.testing.assert_allclose(tf.convert_to_tensor(u).numpy(), tf.convert_to_tensor(v).numpy(), atol=1e-6)
    np.testing.assert_allclose(model.predict(x, verbose=0), full.predict(x, verbose=0), atol=1e-6)


def test_copies_predictors_and_students_keep_it(tmp_path):
    trn, val, pre = kbert.text.texts_from_df(sentiment_df(24), "text", "label", preset=tiny_spec(), maxlen=16,
                                             verbose=0)
    model = kbert.text.text_classifier(pre, seed=0, precision="mixed_bfloat16")
    twin = float32_copy(model)
    assert twin is not model and first_token.is_first_token_only(find_backbone(twin))
    student = kbert.distill.student(model, num_layers=1)
    assert first_token.is_first_token_only(find_backbone(student))
    folder = kbert.get_predictor(model, pre).save(str(tmp_path / "p"))
    loaded = kbert.load_predictor(folder)
    assert first_token.is_first_token_only(find_backbone(loaded.model))
    np.testing.assert_allclose(loaded.predict_proba(["good day", "awful day"]),
                               kbert.get_predictor(model, pre).predict_proba(["good day", "awful day"]), atol=1e-6)
    # a model whose head may read other positions is left alone
    other = keras.models.model_from_json(model.to_json())
    custom = keras.Model(other.inputs, other.outputs, name="my_model")
    kbert.get_predictor(custom, pre)
    assert not first_token.is_first_token_only(find_backbone(custom))
