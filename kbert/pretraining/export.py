"""Export of a pretrained encoder of any family as a keras-hub preset folder (versioned,
written atomically)."""

import os
import time

import keras_hub

from kbert import integrity, io
from kbert.encoders import ENCODER_FORMAT_VERSION, ENCODER_META
from kbert.families import family_of
from kbert import models
from kbert.models import vocabulary_rows
from kbert.version import __version__


def find_backbone(model):
    """The keras-hub backbone (of any family) inside a model."""
    backbone = models.find_backbone(model)
    if backbone is not None:
        return backbone
    raise ValueError(f"Model {model.name!r} has no keras-hub backbone layer (BertBackbone, RobertaBackbone, …).")


def export_encoder(model, folder, tokenizer=None, preproc=None):
    """Writes the model's encoder as a keras-hub preset folder (backbone config and weights
    + the tokenizer's config and files) that kbert.load_encoder(folder) and every loader's
    `preset=` take, for any family.

    Written beside the target, then renamed into place. kbert_encoder.json records the
    format version, the family, the sizes and the SHA-256 of every other file; load_encoder
    verifies them and names a file that was changed after the export.

    Args:
        model: a model holding a keras-hub backbone (a pretrainer or any kbert task model),
            or the backbone itself.
        folder: the folder to write (replaced if it exists).
        tokenizer: the encoder's tokenizer (default: preproc's, or the pretrainer's own).
        preproc: the preprocessor the model was trained with.

    Returns:
        The folder's absolute path.

    Raises:
        ValueError: no backbone in the model, no tokenizer, or a tokenizer of another family.

    Example:
    >>> # P.export_encoder(learner.model, "my-encoder")
    >>> # kbert.text.texts_from_df(df, "text", "label", preset="my-encoder")
    """
    backbone = find_backbone(model)
    if tokenizer is None:
        tokenizer = preproc.tokenizer if preproc is not None else getattr(model, "_kbert_tokenizer", None)
    if tokenizer is None:
        raise ValueError("This model does not carry its vocabulary: pass tokenizer=… or preproc=….")
    family = family_of(backbone)
    if family_of(tokenizer) is not family:
        raise ValueError(f"The tokenizer is a {family_of(tokenizer).name} tokenizer ({type(tokenizer).__name__}) "
                         f"but the encoder is {family.name} ({type(backbone).__name__}); pass the encoder's own.")
    rows, tokens = vocabulary_rows(backbone), int(tokenizer.vocabulary_size())
    if rows < tokens:
        raise ValueError(f"The tokenizer has {tokens:,} pieces but the encoder embeds only {rows:,}.")
    with io.atomic_folder(folder) as tmp:
        # a float32 copy: the exported preset loads under any precision policy
        config = backbone.get_config()
        config["dtype"] = "float32"
        export = type(backbone).from_config(config)
        export.set_weights(backbone.get_weights())
        export.save_to_preset(tmp)
        tokenizer.save_to_preset(tmp)
        # written last, with the checksums of everything else
        io.write_json(os.path.join(tmp, ENCODER_META), {
            "format_version": ENCODER_FORMAT_VERSION, "kbert_version": __version__,
            "keras_hub_version": keras_hub.__version__, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "family": family.name, "num_layers": backbone.num_layers, "hidden_dim": backbone.hidden_dim,
            "vocabulary_size": rows, "vocabulary_tokens": tokens,
            "checksums": integrity.folder_checksums(tmp, exclude={ENCODER_META})})
    return os.path.abspath(os.fspath(folder))
