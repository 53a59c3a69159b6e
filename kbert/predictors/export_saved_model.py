"""`predictor.export(folder, format="saved_model")`: a TensorFlow SavedModel that takes raw
strings — tokenization, packing and the model in one graph — for TF Serving or
`tf.saved_model.load` in a process without kbert, Keras-Hub or a Python tokenizer.

The folder is a plain SavedModel (saved_model.pb, variables/, assets/) plus kbert_export.json
(format version, task, mode, classes, inputs, outputs). Its `serving_default` signature:

    inputs   text: tf.string [batch]            (and text_pair: tf.string [batch] for pair models)
    outputs  multi-class:  probabilities float32 [batch, classes], labels string [batch]
             multi-label:  probabilities float32 [batch, classes], labels bool [batch, classes] (p ≥ 0.5)
             regression:   values float32 [batch]

Loading it needs `tensorflow` and `tensorflow-text` (which registers the WordPiece and
SentencePiece ops the tokenizer layers compile to):

    import tensorflow as tf, tensorflow_text  # noqa: F401
    model = tf.saved_model.load("emotion-savedmodel")
    model.signatures["serving_default"](text=tf.constant(["I feel great"]))["labels"]
"""

import os

import keras
import tensorflow as tf

from kbert import io
from kbert.families import family_of
from kbert.version import __version__

TASKS = ("text_classification",)
FORMAT_VERSION = 1
META_FILE = "kbert_export.json"


def _pack(preproc, *texts):
    """Raw string tensors → the model's inputs, exactly as the preprocessor packs them, cut
    to the longest row of the batch (the predictor pads each batch to its longest row too)."""
    pieces = tuple(tf.cast(_as_ragged(preproc.tokenizer(t)), tf.int32) for t in texts)
    ids, segments = preproc.packer(pieces if len(pieces) > 1 else pieces[0])
    ids, segments = tf.cast(ids, tf.int32), tf.cast(segments, tf.int32)
    mask = tf.cast(tf.not_equal(ids, preproc.special["pad"]), tf.int32)
    width = tf.maximum(tf.reduce_max(tf.reduce_sum(mask, axis=1)), 1)
    return {"token_ids": ids[:, :width], "segment_ids": segments[:, :width], "padding_mask": mask[:, :width]}


def _as_ragged(pieces):
    # a tokenizer with a sequence_length set returns dense, padded ids: make them ragged again
    return pieces if isinstance(pieces, tf.RaggedTensor) else tf.RaggedTensor.from_tensor(pieces)


def _classification_outputs(preproc, logits):
    logits = tf.cast(logits, tf.float32)
    mode = preproc.mode
    if mode == "regression":
        return {"values": tf.reshape(logits, [-1])}
    if mode == "multilabel":
        probs = tf.sigmoid(logits)
        return {"probabilities": probs, "labels": probs >= 0.5}
    probs = tf.nn.softmax(logits, axis=-1)
    classes = tf.constant([str(c) for c in preproc.get_classes()])
    return {"probabilities": probs, "labels": tf.gather(classes, tf.argmax(probs, axis=-1))}


def serving_function(predictor):
    """(function, input signature) of the raw-string endpoint of a classification predictor."""
    preproc, model = predictor.preproc, predictor.model
    text = tf.TensorSpec([None], tf.string, name="text")
    if preproc.text_pair_column is not None:
        def serve_pairs(text, text_pair):
            logits = model(_pack(preproc, text, text_pair), training=False)
            return _classification_outputs(preproc, logits)
        return serve_pairs, [text, tf.TensorSpec([None], tf.string, name="text_pair")]

    def serve(text):
        return _classification_outputs(preproc, model(_pack(preproc, text), training=False))
    return serve, [text]


def export(predictor, folder):
    """Writes `predictor` as a SavedModel whose `serving_default` signature takes raw strings.

    Args:
        predictor: a TextClassificationPredictor (single texts or pairs; multi-class,
            multi-label or regression).
        folder: the folder to write (replaced if it exists, only once the new one is complete).

    Returns:
        The folder's absolute path.

    Example:
    >>> # predictor.export("emotion-savedmodel")          # format="saved_model" is the default
    >>> # tf.saved_model.load("emotion-savedmodel").signatures["serving_default"](
    >>> #     text=tf.constant(["I feel great"]))["labels"]
    """
    preproc = predictor.preproc
    fn, signature = serving_function(predictor)
    archive = keras.export.ExportArchive()
    archive.track(predictor.model)
    # the tokenizer's lookup tables / SentencePiece proto / WordPiece vocabulary are TF
    # resources and assets: tracked, they are written into the SavedModel
    archive.track(preproc.tokenizer)
    archive.add_endpoint("serving_default", tf.function(fn, input_signature=signature), input_signature=signature)
    outputs = (["values"] if preproc.mode == "regression" else ["probabilities", "labels"])
    with io.atomic_folder(folder) as tmp:
        archive.write_out(tmp, verbose=False)
        io.write_json(os.path.join(tmp, META_FILE), {
            "format_version": FORMAT_VERSION,
            "format": "saved_model",
            "kbert_version": __version__,
            "tensorflow_version": tf.__version__,
            "task": predictor.task,
            "mode": preproc.mode,
            "family": family_of(preproc.tokenizer).name,
            "maxlen": preproc.maxlen,
            "classes": [str(c) for c in preproc.get_classes()],
            "signature": "serving_default",
            "inputs": [s.name for s in signature],
            "outputs": outputs,
            "needs": ["tensorflow", "tensorflow-text"],
        })
    return os.path.abspath(os.fspath(folder))
