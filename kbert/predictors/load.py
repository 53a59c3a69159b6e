"""`load_predictor(folder)`: reads a folder written by `Predictor.save`, checking it first.

Checks, in order, each failing with a PredictorLoadError that names the folder, the file
(and key) and what to do: the folder and its metadata file exist; the metadata is a JSON
object with every key this reader needs; its format version is one this kbert reads;
the task is known; the files are there; each file's SHA-256 equals the one recorded on
save (formats 2 and 3); the tokenizer rebuilds (format 3: keras-hub's config + files in
tokenizer/, any family; formats 1-2: a WordPiece vocab.txt); the preprocessor config has
the keys its task needs; model.json is a Keras model that safe deserialisation accepts (no
Lambda layers or other code); the model's encoder is of the family the tokenizer was saved
for (format 3); the vocabulary has as many tokens as the model's embedding has rows; the
weights load.
"""

import json
import os
import warnings

import keras

from kbert import integrity, io
from kbert.encoders import tokenizer_from_vocabulary
from kbert.errors import PredictorLoadError
from kbert.families import family_of
from kbert.predictors.base import (
    FORMAT_VERSION,
    META_FILE,
    MODEL_FILE,
    READABLE_FORMATS,
    TOKENIZER_CONFIG,
    TOKENIZER_DIR,
    VOCAB_FILE,
    WEIGHTS_FILE,
    Predictor,
    embedding_rows,
    find_backbone,
)

# what each metadata key holds, for messages about a missing one
REQUIRED_KEYS = {
    "format_version": "the folder format's version",
    "task": "the predictor's task",
    "preprocessor": "the preprocessor's settings (labels, maxlen, …)",
}
CHECKSUMS_KEY = "checksums"
SAVE_AGAIN = "The file was edited or damaged; save the predictor again (predictor.save(folder))."


def load_predictor(folder, batch_size=None):
    """Loads a predictor saved with `predictor.save(folder)`, after checking the folder.

    Args:
        folder: the predictor's folder.
        batch_size: rows per model call (default: the saved predictor's).

    Returns:
        The task's Predictor.

    Raises:
        PredictorLoadError: naming the file (and key) that is missing, damaged or
            inconsistent, and what to do. Format 1 folders (kbert 0.1, no checksums) load
            with a warning that their files can not be verified.

    Example:
    >>> # kbert.load_predictor("emotion-predictor").predict("I feel great")
    """
    folder = os.fspath(folder)
    meta = read_meta(folder)
    meta_path = os.path.join(folder, META_FILE)
    cls = Predictor.registry[meta["task"]]
    required = required_files(folder, meta)
    for name in required:
        if not os.path.exists(os.path.join(folder, name)):
            raise PredictorLoadError(f"{folder!r} is incomplete: {name} is missing. Copy the whole folder again, "
                                     "or save the predictor again.")
    what = f"Predictor folder {folder!r}"
    if meta["format_version"] >= 2:
        checksums = meta[CHECKSUMS_KEY]
        unlisted = [n for n in required if isinstance(checksums, dict) and n not in checksums]
        if unlisted:
            raise PredictorLoadError(f"{meta_path!r}: its 'checksums' lack {unlisted}, so those files can not be "
                                     f"verified. {SAVE_AGAIN}")
        integrity.verify_checksums(folder, checksums, what, META_FILE, PredictorLoadError)
    else:
        warnings.warn(f"{what} was written in format 1 (kbert {meta.get('kbert_version', '?')}), which records no "
                      "checksums: its files can not be verified. Load it and save it again to add them.",
                      stacklevel=2)
    tokenizer, vocab_path = read_tokenizer(folder, meta)
    preproc = read_preprocessor(cls, meta, tokenizer, meta_path)
    model = read_model(folder)
    if meta["format_version"] >= 3:
        check_family(folder, meta, model)
    check_vocabulary(folder, meta, int(tokenizer.vocabulary_size()), embedding_rows(model), vocab_path)
    try:
        model.load_weights(os.path.join(folder, WEIGHTS_FILE))
    except Exception as e:
        raise PredictorLoadError(f"Could not load {WEIGHTS_FILE} of {folder!r} into the model of {MODEL_FILE}: "
                                 f"{type(e).__name__}: {e}") from e
    predictor = cls.from_parts(model, preproc, meta)
    if batch_size is not None:
        predictor.batch_size = int(batch_size)
    return predictor


def required_files(folder, meta):
    """The files a folder of this format must hold, all covered by its checksums: format 3
    every file under tokenizer/ (at least its tokenizer.json), formats 1-2 vocab.txt."""
    if meta["format_version"] < 3:
        return [VOCAB_FILE, MODEL_FILE, WEIGHTS_FILE]
    tokenizer_files = sorted(integrity.folder_checksums(os.path.join(folder, TOKENIZER_DIR))
                             if os.path.isdir(os.path.join(folder, TOKENIZER_DIR)) else {})
    tokenizer_files = [f"{TOKENIZER_DIR}/{name}" for name in tokenizer_files]
    if TOKENIZER_CONFIG not in tokenizer_files:
        tokenizer_files.insert(0, TOKENIZER_CONFIG)
    return tokenizer_files + [MODEL_FILE, WEIGHTS_FILE]


def read_meta(folder):
    """The folder's metadata, checked: every required key, a readable format, a known task."""
    if not os.path.exists(folder):
        raise PredictorLoadError(f"Predictor folder {folder!r} does not exist.")
    if not os.path.isdir(folder):
        raise PredictorLoadError(f"{folder!r} is a file; load_predictor takes the folder that predictor.save wrote.")
    path = os.path.join(folder, META_FILE)
    if not os.path.exists(path):
        raise PredictorLoadError(f"{folder!r} is not a kbert predictor folder: {META_FILE} is missing.")
    meta = io.read_metadata(path, f"Predictor folder {folder!r}", PredictorLoadError)
    for key, holds in REQUIRED_KEYS.items():
        if key not in meta:
            raise PredictorLoadError(f"{path!r} lacks the key {key!r} ({holds}). {SAVE_AGAIN}")
    if meta["format_version"] not in READABLE_FORMATS:
        io.check_format_version(meta, FORMAT_VERSION, f"Predictor folder {folder!r}", PredictorLoadError)
    if meta["format_version"] >= 3 and "family" not in meta:
        raise PredictorLoadError(f"{path!r} lacks the key 'family' (the encoder family of the tokenizer) that "
                                 f"format {meta['format_version']} folders carry. {SAVE_AGAIN}")
    if meta["format_version"] >= 2 and CHECKSUMS_KEY not in meta:
        raise PredictorLoadError(f"{path!r} lacks the key {CHECKSUMS_KEY!r} (the SHA-256 of each file) that format "
                                 f"{meta['format_version']} folders carry. {SAVE_AGAIN}")
    if meta["task"] not in Predictor.registry:
        raise PredictorLoadError(f"{folder!r} holds a predictor for task {meta['task']!r}, which this kbert "
                                 f"does not know (known: {sorted(Predictor.registry)}).")
    if not isinstance(meta["preprocessor"], dict):
        raise PredictorLoadError(f"{path!r}: key 'preprocessor' holds a {type(meta['preprocessor']).__name__}, "
                                 f"not an object. {SAVE_AGAIN}")
    return meta


def read_tokenizer(folder, meta):
    """(tokenizer, the path that messages about its vocabulary name). Format 3: keras-hub's
    tokenizer config, deserialised in safe mode, and its vocabulary files; formats 1-2: the
    WordPiece tokenizer of vocab.txt."""
    if meta["format_version"] < 3:
        vocabulary = io.read_text_lines(os.path.join(folder, VOCAB_FILE))
        lowercase = meta["preprocessor"].get("lowercase", True)
        return tokenizer_from_vocabulary(vocabulary, lowercase=lowercase), os.path.join(folder, VOCAB_FILE)
    import keras_hub

    path = os.path.join(folder, TOKENIZER_CONFIG)
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError) as e:
        raise PredictorLoadError(f"{path!r} is not readable JSON: {e}. {SAVE_AGAIN}") from e
    try:
        tokenizer = keras.saving.deserialize_keras_object(config, safe_mode=True)
        if not isinstance(tokenizer, keras_hub.tokenizers.Tokenizer):
            raise TypeError(f"it describes a {type(tokenizer).__name__}, not a keras-hub tokenizer")
        tokenizer.load_preset_assets(os.path.join(folder, TOKENIZER_DIR))
        family = family_of(tokenizer).name
    except Exception as e:
        raise PredictorLoadError(f"Could not rebuild the tokenizer of {path!r} and its files in "
                                 f"{os.path.join(folder, TOKENIZER_DIR, 'assets')!r}: {type(e).__name__}: {e}. "
                                 f"{SAVE_AGAIN}") from e
    if family != meta["family"]:
        raise PredictorLoadError(f"{path!r} is a {family} tokenizer ({type(tokenizer).__name__}) but {META_FILE} "
                                 f"records family {meta['family']!r}. {SAVE_AGAIN}")
    return tokenizer, os.path.join(folder, TOKENIZER_DIR)


def check_family(folder, meta, model):
    """The model's encoder is of the family its tokenizer was saved for (a model.json or
    tokenizer from another predictor would read the wrong pieces)."""
    backbone = find_backbone(model)
    if backbone is None:
        return
    family = family_of(backbone).name
    if family != meta["family"]:
        raise PredictorLoadError(
            f"{os.path.join(folder, MODEL_FILE)!r} holds a {family} encoder ({type(backbone).__name__}) but the "
            f"tokenizer in {TOKENIZER_DIR}/ and {META_FILE} are of family {meta['family']!r}: the files come from "
            "different predictors. Copy the whole folder again, or save the predictor again.")


def read_preprocessor(cls, meta, tokenizer, meta_path):
    config = meta["preprocessor"]
    try:
        return cls.preprocessor_class.from_config(config, tokenizer)
    except KeyError as e:
        raise PredictorLoadError(f"{meta_path!r}: the 'preprocessor' object lacks the key {e.args[0]!r}, which a "
                                 f"{meta['task']} predictor needs. {SAVE_AGAIN}") from e
    except (TypeError, ValueError) as e:
        raise PredictorLoadError(f"{meta_path!r}: the 'preprocessor' object is not valid for a {meta['task']} "
                                 f"predictor: {e}. {SAVE_AGAIN}") from e


def read_model(folder):
    """The model of model.json, deserialised by Keras in safe mode: a Lambda layer (Python
    bytecode) or any other code in the file is refused, never run."""
    import keras_hub  # noqa: F401  (registers keras-hub's layers for deserialisation)

    path = os.path.join(folder, MODEL_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError) as e:
        raise PredictorLoadError(f"{path!r} is not readable JSON: {e}. {SAVE_AGAIN}") from e
    if not isinstance(config, dict):
        raise PredictorLoadError(f"{path!r} holds a JSON {type(config).__name__}, not a Keras model. {SAVE_AGAIN}")
    # kbert 0.1 kept the training compile settings (optimizer, schedule); a predictor never trains
    config.pop("compile_config", None)
    try:
        model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception as e:
        raise PredictorLoadError(f"{path!r} does not describe a Keras model that kbert can rebuild safely "
                                 f"({type(e).__name__}: {e}). Save the predictor again with this kbert.") from e
    if not isinstance(model, keras.Model):
        raise PredictorLoadError(f"{path!r} describes a {type(model).__name__}, not a Keras model. {SAVE_AGAIN}")
    return model


def check_vocabulary(folder, meta, n_tokens, rows, path):
    """The vocabulary (vocab.txt or tokenizer/) fits the model: as many tokens as the saved
    metadata says, and as the embedding has rows (unless they already differed when the
    predictor was saved)."""
    saved = meta.get("vocabulary_size")
    if saved is not None and n_tokens != saved:
        raise PredictorLoadError(f"{path!r} holds {n_tokens:,} tokens but {META_FILE} records {saved:,}: the "
                                 "vocabulary was cut or replaced. Copy the folder again, or save the predictor again.")
    if rows is None or n_tokens == rows or (saved, meta.get("embedding_rows")) == (n_tokens, rows):
        return
    raise PredictorLoadError(
        f"{path!r} holds {n_tokens:,} tokens but the token embedding of the model in {MODEL_FILE} has {rows:,} rows: "
        "the vocabulary does not belong to this model (cut or replaced?), so its token ids would look up the wrong "
        "rows. Copy the folder again, or save the predictor again.")
