"""kbert's converters of Hugging Face `transformers` folders, for the families keras-hub 0.32
has no converter for. Each module has the interface of keras-hub's
`keras_hub/src/utils/transformers/convert_*.py`: `backbone_cls`, `convert_backbone_config`,
`convert_weights`, `convert_tokenizer`.

Example:
>>> CONVERTERS["electra"].backbone_cls.__name__
'ElectraBackbone'
"""

from kbert.converters import deberta_v3
from kbert.converters import electra

# keyed by config.json's `model_type`
CONVERTERS = {"electra": electra, "deberta-v2": deberta_v3}
