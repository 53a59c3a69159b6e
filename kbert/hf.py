"""Hugging Face checkpoints: model names → keras-hub presets, and local `transformers`
folders (config.json + safetensors + tokenizer files) → keras-hub backbone and tokenizer.

config.json's `model_type` decides the family. keras-hub's own converters are used where it
has one (BERT, DistilBERT, ALBERT, RoBERTa, XLM-RoBERTa), kbert's (`kbert.converters`) for
ELECTRA and DeBERTa-v3. Checkpoints saved from a task model carry the family's prefix on
their weight names ("distilbert.embeddings…"), a bare model's save has none
("embeddings…"): both load.
"""

import json
import os
import warnings

from keras_hub.src.utils.transformers import (convert_albert, convert_bert, convert_distilbert, convert_roberta,
                                              convert_xlm_roberta)
from keras_hub.src.utils.transformers.safetensor_utils import SafetensorLoader

from kbert.backbones import backbone_class
from kbert.errors import EncoderNotAvailable
from kbert.families import BYTE_BPE, SENTENCEPIECE, WORDPIECE, family_of_model_type
from kbert.tokenizers import UncasedAlbertTokenizer, clean_class

_KERAS_HUB_CONVERTERS = {"bert": convert_bert, "distilbert": convert_distilbert, "albert": convert_albert,
                         "roberta": convert_roberta, "xlm-roberta": convert_xlm_roberta}

# Hugging Face model names (as ktrain's tutorials write them) → keras-hub preset names;
# other names load as "hf://<name>" through the converters.
HF_NAMES = {
    "bert-base-uncased": "bert_base_en_uncased", "google-bert/bert-base-uncased": "bert_base_en_uncased",
    "bert-base-cased": "bert_base_en", "google-bert/bert-base-cased": "bert_base_en",
    "bert-large-uncased": "bert_large_en_uncased", "bert-large-cased": "bert_large_en",
    "bert-base-multilingual-cased": "bert_base_multi", "bert-base-chinese": "bert_base_zh",
    "distilbert-base-uncased": "distil_bert_base_en_uncased",
    "distilbert/distilbert-base-uncased": "distil_bert_base_en_uncased",
    "distilbert-base-cased": "distil_bert_base_en", "distilbert/distilbert-base-cased": "distil_bert_base_en",
    "distilbert-base-multilingual-cased": "distil_bert_base_multi",
    "albert-base-v2": "albert_base_en_uncased", "albert/albert-base-v2": "albert_base_en_uncased",
    "albert-large-v2": "albert_large_en_uncased", "albert-xlarge-v2": "albert_extra_large_en_uncased",
    "albert-xxlarge-v2": "albert_extra_extra_large_en_uncased",
    "albert-base-v1": "hf://albert/albert-base-v1", "albert-large-v1": "hf://albert/albert-large-v1",
    "roberta-base": "roberta_base_en", "FacebookAI/roberta-base": "roberta_base_en",
    "roberta-large": "roberta_large_en", "FacebookAI/roberta-large": "roberta_large_en",
    "xlm-roberta-base": "xlm_roberta_base_multi", "FacebookAI/xlm-roberta-base": "xlm_roberta_base_multi",
    "xlm-roberta-large": "xlm_roberta_large_multi", "FacebookAI/xlm-roberta-large": "xlm_roberta_large_multi",
    "microsoft/deberta-v3-xsmall": "deberta_v3_extra_small_en", "microsoft/deberta-v3-small": "deberta_v3_small_en",
    "microsoft/deberta-v3-base": "deberta_v3_base_en", "microsoft/deberta-v3-large": "deberta_v3_large_en",
    "microsoft/mdeberta-v3-base": "deberta_v3_base_multi",
    "google/electra-small-discriminator": "electra_small_discriminator_uncased_en",
    "google/electra-base-discriminator": "electra_base_discriminator_uncased_en",
    "google/electra-large-discriminator": "electra_large_discriminator_uncased_en",
}
_HF_NAMES_LOWER = {k.lower(): v for k, v in HF_NAMES.items()}

# the tokenizer files each piece style reads from a Hugging Face folder
TOKENIZER_FILES = {
    "bert": ("vocab.txt",), "distilbert": ("vocab.txt",), "electra": ("vocab.txt",),
    "albert": ("spiece.model",), "xlm_roberta": ("sentencepiece.bpe.model",), "deberta_v3": ("spm.model",),
    "roberta": ("vocab.json", "merges.txt"),
}
_STYLE_FILES = {WORDPIECE: "vocab.txt", SENTENCEPIECE: "a SentencePiece .model", BYTE_BPE: "vocab.json + merges.txt"}


def preset_for_name(name):
    """The keras-hub preset (or hf:// handle) of a Hugging Face model name, or None."""
    return _HF_NAMES_LOWER.get(str(name).lower())


def is_hf_folder(folder):
    """A transformers folder: config.json with a `model_type` (keras-hub presets have none)."""
    path = os.path.join(folder, "config.json")
    if not os.path.isfile(path):
        return False
    try:
        with open(path, encoding="utf-8") as f:
            return "model_type" in json.load(f)
    except (OSError, ValueError):
        return False


def read_config(folder):
    path = os.path.join(folder, "config.json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except ValueError as e:
        raise EncoderNotAvailable(f"{path!r} is not valid JSON: {e}") from None


def family_of_folder(folder):
    """(Family, config) of a Hugging Face folder; checks the tokenizer files are the family's."""
    config = read_config(folder)
    family = family_of_model_type(config.get("model_type"), where=os.path.join(folder, "config.json"))
    needed = TOKENIZER_FILES[family.name]
    missing = [f for f in needed if not os.path.isfile(os.path.join(folder, f))]
    if missing:
        present = sorted(f for f in os.listdir(folder) if f.endswith((".txt", ".json", ".model")) and
                         f not in ("config.json",))
        raise EncoderNotAvailable(
            f"Hugging Face folder {folder!r} (model_type {config['model_type']!r}, family {family.name}) needs "
            f"{' and '.join(needed)} for its {family.pieces} tokenizer ({_STYLE_FILES[family.pieces]}), but "
            f"{', '.join(missing)} is missing; tokenizer-like files present: {present or 'none'}.")
    return family, config


def converter_of(family):
    model_type = family.hf_model_types[0]
    if model_type in _KERAS_HUB_CONVERTERS:
        return _KERAS_HUB_CONVERTERS[model_type]
    from kbert.converters import CONVERTERS  # kbert's own, for the families keras-hub has none for

    return CONVERTERS[model_type]


class _PrefixTolerantLoader(SafetensorLoader):
    """keras-hub's loader, that also finds "embeddings…" when a converter asks for
    "distilbert.embeddings…" (a bare model's save instead of a task model's)."""

    def __init__(self, preset, strip):
        super().__init__(preset)
        self.strip = strip
        self.skipped = []

    def port_weight(self, keras_variable, hf_weight_key, hook_fn=None):
        # a masked-LM checkpoint has no [CLS] pooler (AlbertForMaskedLM, BertForMaskedLM): it stays
        # freshly initialised, as transformers does when it builds the bare model from such a save
        if "pooler" in hf_weight_key and not self.has(hf_weight_key):
            self.skipped.append(hf_weight_key)
            return
        super().port_weight(keras_variable, hf_weight_key, hook_fn)

    def has(self, hf_weight_key):
        try:
            self.get_tensor(hf_weight_key)
            return True
        except Exception:  # safetensors raises its own error type for a missing tensor
            return False

    def get_prefixed_key(self, hf_weight_key, dict_like):
        keys = dict_like.keys()
        if hf_weight_key not in keys and hf_weight_key.startswith(self.strip):
            bare = hf_weight_key[len(self.strip):]
            if bare in keys:
                return bare
        return super().get_prefixed_key(hf_weight_key, dict_like)


def _fold_token_type(backbone, loader):
    """RoBERTa checkpoints carry a one-row token-type embedding that is added to every token;
    RobertaBackbone has none, so its row is added into the position embeddings (exact, as
    keras-hub's XLM-RoBERTa converter does; keras-hub's RoBERTa converter drops it)."""
    key = "roberta.embeddings.token_type_embeddings.weight"
    if not loader.has(key):
        return
    positions = backbone.embeddings.position_embedding.position_embeddings
    positions.assign(positions + loader.get_tensor(key)[0])


# the layer-norm epsilon each keras-hub backbone is built with
_LAYER_NORM_EPSILON = {"bert": 1e-12, "distilbert": 1e-12, "albert": 1e-12, "electra": 1e-12, "roberta": 1e-5,
                       "xlm_roberta": 1e-5, "deberta_v3": 1e-7}


def _check_layer_norm_epsilon(folder, family, config):
    """keras-hub's backbones fix their layer-norm epsilon; a checkpoint trained with another one
    would give other hidden states, so it is refused rather than loaded subtly wrong."""
    eps = config.get("layer_norm_eps")
    built = _LAYER_NORM_EPSILON[family.name]
    if eps is not None and not (built / 1.01 <= float(eps) <= built * 1.01):
        raise EncoderNotAvailable(f"Hugging Face folder {folder!r}: config.json has layer_norm_eps={eps}, but keras-hub's "
                                  f"{family.backbone_cls.__name__} is built with {built:g}; kbert can not load this "
                                  "checkpoint exactly.")


def load_backbone(folder, dtype=None, load_weights=True):
    """A Hugging Face folder's weights in the family's keras-hub backbone."""
    family, config = family_of_folder(folder)
    converter = converter_of(family)
    try:
        kwargs = converter.convert_backbone_config(config)
    except (KeyError, ValueError) as e:
        raise EncoderNotAvailable(f"Hugging Face folder {folder!r}: its config.json can not be built as a "
                                  f"{family.name} encoder: {type(e).__name__}: {e}") from e
    _check_layer_norm_epsilon(folder, family, config)
    if dtype is not None:
        kwargs["dtype"] = dtype
    # the checkpoint's activation (most BERT checkpoints: exact GELU; keras-hub builds the tanh one)
    cls, extra = backbone_class(family, config.get("hidden_act"))
    backbone = cls(**kwargs, **extra)
    if load_weights:
        try:
            with _PrefixTolerantLoader(folder, family.hf_prefix) as loader:
                converter.convert_weights(backbone, loader, config)
                if family.name == "roberta":
                    _fold_token_type(backbone, loader)
            if loader.skipped:
                warnings.warn(f"Hugging Face folder {folder!r} has no pooler weights ({', '.join(loader.skipped)}): "
                              "the [CLS] pooler starts from random weights (heads of kbert's tasks that read it "
                              "train it).", stacklevel=3)
        except (KeyError, ValueError, OSError) as e:
            raise EncoderNotAvailable(f"Could not load the {family.name} weights of Hugging Face folder {folder!r}: "
                                      f"{type(e).__name__}: {e}") from e
    return backbone


def load_tokenizer(folder):
    """A Hugging Face folder's tokenizer, as the family's keras-hub tokenizer, preparing the text
    as the checkpoint's own tokenizer does (kbert.tokenizers): WordPiece drops control characters
    and strips accents when tokenizer_config.json says so (its default: when lowercasing); ALBERT
    lowercases and strips accents unless do_lower_case=False / keep_accents=True."""
    family, config = family_of_folder(folder)
    converter = converter_of(family)
    tok_config_path = os.path.join(folder, "tokenizer_config.json")
    tok_config = {}
    if os.path.isfile(tok_config_path):
        with open(tok_config_path, encoding="utf-8") as f:
            tok_config = json.load(f)
    if family.pieces == WORDPIECE:
        lowercase = bool(tok_config.get("do_lower_case", True))
        strip = tok_config.get("strip_accents")
        strip = lowercase if strip is None else bool(strip)
        return clean_class(family.tokenizer_cls)(os.path.join(folder, "vocab.txt"), lowercase=lowercase,
                                                 strip_accents=strip)
    if family.name == "albert":
        lowercase = bool(tok_config.get("do_lower_case", True))
        strip = not bool(tok_config.get("keep_accents", False))
        if lowercase or strip:
            return UncasedAlbertTokenizer(proto=os.path.join(folder, "spiece.model"), lowercase=lowercase,
                                          strip_accents=strip)
    return converter.convert_tokenizer(family.tokenizer_cls, folder)
