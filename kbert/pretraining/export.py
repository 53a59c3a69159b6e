"""Export of a pretrained encoder as a keras-hub preset folder (versioned, written atomically)."""

import os
import time

import keras_hub

from kbert import integrity, io
from kbert.version import __version__
from kbert.encoders import ENCODER_FORMAT_VERSION, ENCODER_META, tokenizer_from_vocabulary


def find_backbone(model):
    for layer in model.layers:
        if isinstance(layer, keras_hub.models.BertBackbone):
            return layer
    raise ValueError(f"Model {model.name!r} has no BertBackbone layer.")


def export_encoder(model, folder, tokenizer=None, preproc=None):
    """Writes the model's encoder as a keras-hub preset folder (backbone config and weights
    + tokenizer vocabulary) that kbert.load_encoder(folder) and every loader's `preset=` take.

    Written beside the target, then renamed into place. kbert_encoder.json records the
    format version, the sizes and the SHA-256 of every other file; load_encoder verifies
    them and names a file that was changed after the export.

    Args:
        model: a model holding a BertBackbone (a bert_pretrainer or any kbert task model).
        folder: the folder to write (replaced if it exists).
        tokenizer: the vocabulary's tokenizer (default: preproc's, or the pretrainer's own).
        preproc: the preprocessor the model was trained with.

    Returns:
        The folder's absolute path.

    Example:
    >>> # P.export_encoder(learner.model, "my-encoder")
    >>> # kbert.text.texts_from_df(df, "text", "label", preset="my-encoder")
    """
    backbone = find_backbone(model)
    if tokenizer is None:
        tokenizer = preproc.tokenizer if preproc is not None else getattr(model, "_kbert_tokenizer", None)
    if tokenizer is None:
        raise ValueError("This model does not carry its vocabulary: pass tokenizer=… or preproc=….")
    with io.atomic_folder(folder) as tmp:
        # a float32 copy: the exported preset loads under any precision policy
        config = backbone.get_config()
        config["dtype"] = "float32"
        export = keras_hub.models.BertBackbone.from_config(config)
        export.set_weights(backbone.get_weights())
        export.save_to_preset(tmp)
        vocabulary = tokenizer.get_vocabulary()
        tokenizer_from_vocabulary(vocabulary, tokenizer.lowercase).save_to_preset(tmp)
        # written last, with the checksums of everything else
        io.write_json(os.path.join(tmp, ENCODER_META), {
            "format_version": ENCODER_FORMAT_VERSION, "kbert_version": __version__,
            "keras_hub_version": keras_hub.__version__, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "num_layers": backbone.num_layers, "hidden_dim": backbone.hidden_dim,
            "vocabulary_size": backbone.vocabulary_size, "vocabulary_tokens": len(vocabulary),
            "checksums": integrity.folder_checksums(tmp, exclude={ENCODER_META})})
    return os.path.abspath(os.fspath(folder))
