"""The feed-forward activation a checkpoint asks for survives saving (keras-hub's BERT, ALBERT
and ELECTRA build the tanh GELU; most checkpoints use the exact one)."""

import keras
import numpy as np
import pytest

from kbert import backbones
from kbert.families import family_by_name, family_of


@pytest.mark.parametrize("name,extra", [("bert", {}), ("albert", {"embedding_dim": 8}),
                                        ("electra", {"embedding_dim": 8})])
def test_exact_gelu_is_kept_through_json(name, extra):
    cls, kwargs = backbones.backbone_class(family_by_name(name), "gelu")
    size = {"vocab_size": 50} if name == "electra" else {"vocabulary_size": 50}
    b = cls(**size, num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32, max_sequence_length=16,
            **extra, **kwargs)
    assert family_of(b).name == name and b.feedforward_activation == "gelu"
    x = {"token_ids": np.array([[2, 7, 9, 11, 3]]), "segment_ids": np.zeros((1, 5), "int32"),
         "padding_mask": np.ones((1, 5), "int32")}
    keras.utils.set_random_seed(0)
    y = b.predict(x, verbose=0)["sequence_output"]
    again = keras.models.model_from_json(b.to_json())
    again.set_weights(b.get_weights())
    np.testing.assert_allclose(again.predict(x, verbose=0)["sequence_output"], y, atol=1e-6)
    # exact GELU(1) = 0.841345, the tanh approximation gives 0.841192
    for model, expected in ((again, 0.841345), (cls.from_config({**b.get_config(), "feedforward_activation":
                                                                  backbones.BUILT_IN}), 0.841192)):
        for layer in backbones.transformer_layers(model):
            value = float(layer._feedforward_intermediate_dense.activation(np.array([1.0], "float32"))[0])
            assert abs(value - expected) < 2e-6


def test_built_in_activation_keeps_keras_hubs_class():
    for act in ("gelu_new", "gelu_pytorch_tanh", None):
        assert backbones.backbone_class(family_by_name("bert"), act)[0] is family_by_name("bert").backbone_cls
    assert backbones.backbone_class(family_by_name("roberta"), "gelu")[0] is family_by_name("roberta").backbone_cls
    with pytest.raises(ValueError, match="hidden_act 'swish'"):
        backbones.set_feedforward_activation(None, "swish")
