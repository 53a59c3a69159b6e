"""`predictor.export(folder, format="saved_model")`: a TensorFlow SavedModel that takes raw
strings — tokenization, packing and the model in one graph — for TF Serving or
`tf.saved_model.load` in a process without kbert, Keras-Hub or a Python tokenizer.

The folder is a plain SavedModel (saved_model.pb, variables/, assets/) plus kbert_export.json
(format version, task, classes or tags, inputs, outputs). Its `serving_default` signature:

    text classifiers (inputs: text: tf.string [batch], and text_pair for pair models)
             multi-class:  probabilities float32 [batch, classes], labels string [batch]
             multi-label:  probabilities float32 [batch, classes], labels bool [batch, classes] (p ≥ 0.5)
             regression:   values float32 [batch]
    NER taggers (input: text: tf.string [batch], raw sentences; `export_ner_graph`)
             words, tags string [batch, max words] (padded with ""), word_starts, word_ends int32
             [batch, max words] (character offsets, end exclusive; padded with -1), probabilities
             float32 [batch, max words, tags] (padded with 0), num_words int32 [batch]
    QA models, WordPiece encoders (inputs: question, context: tf.string [batch]; `export_qa_graph`)
             answer string [batch], start, end int32 [batch] (character offsets into the context,
             -1 for no answer), score float32 [batch] (start logit + end logit)

Loading it needs `tensorflow` and `tensorflow-text` (which registers the WordPiece and
SentencePiece ops the tokenizer layers compile to, and the regex split of NER words):

    import tensorflow as tf, tensorflow_text  # noqa: F401
    model = tf.saved_model.load("emotion-savedmodel")
    model.signatures["serving_default"](text=tf.constant(["I feel great"]))["labels"]

A QA model with a SentencePiece or byte-level BPE encoder is not exported yet (the character
spans of its pieces are not computed in the graph): `format="tflite"` exports its token-ids model.
"""

import os

import keras
import tensorflow as tf

from kbert import io
from kbert.families import family_of
from kbert.version import __version__

TASKS = ("text_classification", "ner", "qa")
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


def _task_graph(predictor):
    """(serving function, input signature, output names, metadata) for the predictor's task."""
    preproc = predictor.preproc
    if predictor.task == "ner":
        from kbert.predictors import export_ner_graph

        fn, signature = export_ner_graph.serving_function(predictor)
        return fn, signature, export_ner_graph.OUTPUTS, {
            "tags": [str(t) for t in preproc.tags], "stride": preproc.stride,
            "word_pattern": export_ner_graph.WORD_PATTERN}
    if predictor.task == "qa":
        from kbert.predictors import export_qa_graph

        fn, signature = export_qa_graph.serving_function(predictor)
        return fn, signature, export_qa_graph.OUTPUTS, {
            "doc_stride": preproc.doc_stride, "max_query_length": preproc.max_query_length,
            "version_2": preproc.version_2, "null_threshold": preproc.null_threshold}
    fn, signature = serving_function(predictor)
    outputs = (["values"] if preproc.mode == "regression" else ["probabilities", "labels"])
    return fn, signature, outputs, {"mode": preproc.mode, "classes": [str(c) for c in preproc.get_classes()]}


def export(predictor, folder):
    """Writes `predictor` as a SavedModel whose `serving_default` signature takes raw strings.

    Args:
        predictor: a TextClassificationPredictor (single texts or pairs; multi-class,
            multi-label or regression), an NERPredictor (raw sentences in, a tag per word out) or
            a QAPredictor of a WordPiece encoder (question and context in, the answer span out).
        folder: the folder to write (replaced if it exists, only once the new one is complete).

    Returns:
        The folder's absolute path.

    Example:
    >>> # predictor.export("emotion-savedmodel")          # format="saved_model" is the default
    >>> # tf.saved_model.load("emotion-savedmodel").signatures["serving_default"](
    >>> #     text=tf.constant(["I feel great"]))["labels"]
    >>> # ner_predictor.export("conll-savedmodel")  # → words, tags, word_starts, word_ends, ...
    >>> # qa_predictor.export("squad-savedmodel")     # question, context → answer, start, end, score
    """
    preproc = predictor.preproc
    fn, signature, outputs, task_meta = _task_graph(predictor)
    archive = keras.export.ExportArchive()
    archive.track(predictor.model)
    # the tokenizer's lookup tables / SentencePiece proto / WordPiece vocabulary are TF
    # resources and assets: tracked, they are written into the SavedModel
    archive.track(preproc.tokenizer)
    archive.add_endpoint("serving_default", tf.function(fn, input_signature=signature), input_signature=signature)
    with io.atomic_folder(folder) as tmp:
        archive.write_out(tmp, verbose=False)
        io.write_json(os.path.join(tmp, META_FILE), {
            "format_version": FORMAT_VERSION,
            "format": "saved_model",
            "kbert_version": __version__,
            "tensorflow_version": tf.__version__,
            "task": predictor.task,
            "family": family_of(preproc.tokenizer).name,
            "maxlen": preproc.maxlen,
            **task_meta,
            "signature": "serving_default",
            "inputs": [s.name for s in signature],
            "outputs": outputs,
            "needs": ["tensorflow", "tensorflow-text"],
        })
    return os.path.abspath(os.fspath(folder))
