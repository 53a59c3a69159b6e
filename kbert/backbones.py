"""keras-hub's BERT, ALBERT and ELECTRA backbones, with the feed-forward activation a
checkpoint's config.json asks for, kept through saving.

keras-hub builds these three with the tanh-approximate GELU, while most of their Hugging
Face checkpoints (bert-base-*, all-MiniLM-L6-v2, albert-*-v1, ELECTRA) were trained with
the exact one ("gelu"): the hidden states then differ by up to 1e-3. These subclasses take a
`feedforward_activation` argument, set it on every transformer layer's feed-forward Dense,
and record it in `get_config`, so a saved and reloaded model computes the same function.
Anything else (weights, names, layers) is keras-hub's class unchanged.

Example:
>>> # backbone = with_activation("bert", "gelu", vocabulary_size=100, num_layers=2, ...)
"""

import keras
import keras_hub

from kbert.converters.electra import ACTIVATIONS

# what keras-hub's BERT, ALBERT and ELECTRA backbones build with
BUILT_IN = "gelu_new"


def find_backbone(model):
    """The keras-hub backbone inside a kbert task model (the model itself if it is one; None
    if it has none)."""
    if isinstance(model, keras_hub.models.Backbone):
        return model
    for layer in model.layers:
        if isinstance(layer, keras_hub.models.Backbone):
            return layer
    return None


def transformer_layers(backbone):
    """The backbone's TransformerEncoder layers (ALBERT's shared groups flattened)."""
    layers = []
    for item in backbone.transformer_layers:  # ALBERT: groups of shared layers
        layers.extend(item if isinstance(item, (list, tuple)) else [item])
    return layers


def set_feedforward_activation(backbone, name):
    """Makes every transformer layer's feed-forward network compute Hugging Face's `name`."""
    if name not in ACTIVATIONS:
        raise ValueError(f"hidden_act {name!r} is not one kbert can build; supported: {sorted(ACTIVATIONS)}.")
    fn = ACTIVATIONS[name]
    for layer in transformer_layers(backbone):
        layer.activation = fn
        layer._feedforward_intermediate_dense.activation = fn


class _FeedForwardActivation:
    def __init__(self, *args, feedforward_activation=BUILT_IN, **kwargs):
        super().__init__(*args, **kwargs)
        self.feedforward_activation = feedforward_activation
        if feedforward_activation != BUILT_IN:
            set_feedforward_activation(self, feedforward_activation)

    def get_config(self):
        return {**super().get_config(), "feedforward_activation": self.feedforward_activation}


@keras.saving.register_keras_serializable(package="kbert")
class BertBackbone(_FeedForwardActivation, keras_hub.models.BertBackbone):
    """keras_hub.models.BertBackbone with `feedforward_activation` (a Hugging Face hidden_act)."""


@keras.saving.register_keras_serializable(package="kbert")
class AlbertBackbone(_FeedForwardActivation, keras_hub.models.AlbertBackbone):
    """keras_hub.models.AlbertBackbone with `feedforward_activation` (a Hugging Face hidden_act)."""


@keras.saving.register_keras_serializable(package="kbert")
class ElectraBackbone(_FeedForwardActivation, keras_hub.models.ElectraBackbone):
    """keras_hub.models.ElectraBackbone with `feedforward_activation` (a Hugging Face hidden_act)."""


_CLASSES = {"bert": BertBackbone, "albert": AlbertBackbone, "electra": ElectraBackbone}


def backbone_class(family, hidden_act):
    """The class to build a checkpoint of `family` whose config asks for `hidden_act`: keras-hub's
    own when it already computes that function, else the subclass above."""
    if family.name in _CLASSES and hidden_act is not None and ACTIVATIONS.get(hidden_act) is not None \
            and hidden_act not in ("gelu_new", "gelu_pytorch_tanh"):
        return _CLASSES[family.name], {"feedforward_activation": hidden_act}
    return family.backbone_cls, {}
