import keras
import pytest

import kbert
from kbert.models import build_task_model, dense_head
from conftest import sentiment_df, tiny_spec


@pytest.fixture(scope="module")
def preproc():
    return kbert.text.texts_from_df(sentiment_df(20), "text", "label", preset=tiny_spec(), maxlen=32, verbose=0)[2]


def head(backbone, inputs):
    return dense_head(2, dropout=0.0)(backbone(inputs)["pooled_output"])


def test_builds_a_compiled_model_with_the_tasks_loss(preproc):
    model = build_task_model(preproc, head, name="m", seed=3)
    assert model.name == "m" and model.compiled and model.loss is not None
    assert [i.name for i in model.inputs] == ["padding_mask", "segment_ids", "token_ids"] or len(model.inputs) == 3
    # the same seed gives the same initial weights
    again = build_task_model(preproc, head, name="m", seed=3)
    for a, b in zip(model.get_weights(), again.get_weights()):
        assert (a == b).all()


def test_checks_maxlen_and_vocabulary_against_the_encoder(preproc):
    with pytest.raises(ValueError, match="maxlen=32 exceeds the encoder's 16 positions"):
        build_task_model(preproc, head, name="m", encoder=tiny_spec(max_sequence_length=16))
    with pytest.raises(ValueError, match="embeds only 10"):
        build_task_model(preproc, head, name="m", encoder=tiny_spec(vocabulary_size=10))


def test_unused_pooler_is_frozen_and_precision_applies(preproc):
    model = build_task_model(preproc, head, name="m", uses_pooler=False, precision="mixed_bfloat16")
    backbone = next(layer for layer in model.layers if hasattr(layer, "transformer_layers"))
    assert not backbone.get_layer("pooled_dense").trainable
    assert backbone.dtype_policy.name == "mixed_bfloat16"
    assert model.get_layer("logits").dtype_policy.name == "float32"
    assert isinstance(model, keras.Model)
