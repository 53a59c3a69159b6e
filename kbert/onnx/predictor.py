"""`kbert.onnx.load_predictor(folder)`: a text classifier exported with
`predictor.export(folder, format="onnx")`, run by onnxruntime with Hugging Face `tokenizers`
and numpy -- no TensorFlow, Keras or keras-hub.

Imports only onnxruntime, tokenizers, numpy and kbert's TensorFlow-free bottom modules.
"""

import json
import os

import numpy as np

from kbert.errors import PredictorLoadError
from kbert.onnx.tokenizer import TOKENIZER_FILE, PiecePacker

META_FILE = "kbert_export.json"
MODEL_FILE = "model.onnx"
FORMAT_VERSION = 1


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class OnnxPredictor:
    """predict / predict_proba / get_classes of kbert's TextClassificationPredictor, on an
    ONNX model.

    Args:
        session: an onnxruntime.InferenceSession of the exported model.
        packer: a `kbert.onnx.tokenizer.PiecePacker`.
        meta: the export's kbert_export.json (mode, classes, pairs, batch size).

    Example:
    >>> # p = kbert.onnx.load_predictor("emotion-onnx"); p.predict(["I feel great"])
    """

    def __init__(self, session, packer, meta):
        self.session = session
        self.packer = packer
        self.meta = meta
        self.mode = meta["mode"]
        self.batch_size = int(meta.get("batch_size", 32))
        self.pairs = bool(meta.get("pairs"))
        self.input_names = [i.name for i in session.get_inputs()]

    def get_classes(self):
        return list(self.meta["classes"])

    def _split(self, texts):
        if isinstance(texts, str):
            return [texts], None, True
        if self.pairs and isinstance(texts, tuple) and len(texts) == 2 and all(isinstance(t, str) for t in texts):
            return [texts[0]], [texts[1]], True
        if texts is None or isinstance(texts, (bytes, dict)) or not hasattr(texts, "__iter__"):
            raise TypeError(f"texts must be a string or a list of strings, got {type(texts).__name__}.")
        texts = list(texts)
        if self.pairs:
            if not all(isinstance(t, (tuple, list)) and len(t) == 2 for t in texts):
                raise ValueError("This model takes text pairs: a (text, text) pair or a list of pairs.")
            first, second = [t[0] for t in texts], [t[1] for t in texts]
        else:
            first, second = texts, None
        for name, items in (("texts", first), ("second texts", second or [])):
            for i, item in enumerate(items):
                if not isinstance(item, str):
                    raise TypeError(f"{name}[{i}] is a {type(item).__name__}, not a string.")
        return first, second, False

    def logits(self, first, second=None):
        """The model's outputs for lists of texts (and second texts), batch by batch."""
        out = []
        for start in range(0, len(first), self.batch_size):
            stop = start + self.batch_size
            feed = self.packer.pack(first[start:stop], None if second is None else second[start:stop])
            out.append(self.session.run(None, {n: feed[n] for n in self.input_names})[0])
        width = 1 if self.mode == "regression" else len(self.meta["classes"])
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, width), np.float32)

    def predict_proba(self, texts):
        """Class probabilities (sigmoid per label for multi-label; values for regression).

        Args:
            texts: a string, a list of strings, or (text, second text) pairs for pair models.

        Returns:
            A float32 array [rows, classes]; [classes] for a single text.
        """
        first, second, single = self._split(texts)
        logits = self.logits(first, second)
        if self.mode == "multiclass":
            probs = _softmax(logits)
        elif self.mode == "multilabel":
            probs = 1.0 / (1.0 + np.exp(-logits))
        else:
            probs = logits
        probs = probs.astype(np.float32)
        return probs[0] if single else probs

    def predict(self, texts, return_proba=False):
        """Labels (multi-class), [(class, probability)] (multi-label) or values (regression).

        Args:
            texts: a string, a list of strings, or (text, second text) pairs for pair models.
            return_proba: return `predict_proba(texts)` instead.

        Returns:
            One value per text; one value for a single text.
        """
        probs = self.predict_proba(texts)
        if return_proba:
            return probs
        single = probs.ndim == 1
        p = probs[None] if single else probs
        classes = self.get_classes()
        if self.mode == "regression":
            out = [float(v) for v in p[:, 0]]
        elif self.mode == "multilabel":
            out = [[(c, float(v)) for c, v in zip(classes, row)] for row in p]
        else:
            out = [classes[i] for i in np.argmax(p, axis=-1)]
        return out[0] if single else out


def load_predictor(folder, providers=None, session_options=None):
    """Loads an ONNX export of a kbert text classifier, without TensorFlow.

    Args:
        folder: the folder `predictor.export(folder, format="onnx")` wrote.
        providers: onnxruntime execution providers (default: CPU).
        session_options: an onnxruntime.SessionOptions (threads, spinning, …); default: onnxruntime's.

    Returns:
        An `OnnxPredictor` (predict, predict_proba, get_classes).

    Example:
    >>> # import kbert.onnx
    >>> # kbert.onnx.load_predictor("emotion-onnx").predict("I feel great")
    """
    meta_path = os.path.join(folder, META_FILE)
    if not os.path.isfile(meta_path):
        raise PredictorLoadError(f"{folder}: no {META_FILE}; is this a folder written by "
                                 "predictor.export(folder, format='onnx')?")
    with open(meta_path, encoding="utf-8") as f:
        meta = json.load(f)
    if meta.get("format") != "onnx":
        raise PredictorLoadError(f"{folder}: an export of format {meta.get('format')!r}, not 'onnx'.")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise PredictorLoadError(f"{folder}: ONNX export format {meta['format_version']} is newer than this kbert "
                                 f"reads ({FORMAT_VERSION}); upgrade kbert.")
    try:
        import onnxruntime
        from tokenizers import Tokenizer
    except ImportError as e:
        raise ImportError(f"kbert.onnx needs onnxruntime and tokenizers: pip install onnxruntime tokenizers ({e}).")
    for name in (MODEL_FILE, TOKENIZER_FILE):
        if not os.path.isfile(os.path.join(folder, name)):
            raise PredictorLoadError(f"{folder}: {name} is missing.")
    options = session_options or onnxruntime.SessionOptions()
    options.log_severity_level = 3  # warnings about unused initializers are not the user's to act on
    session = onnxruntime.InferenceSession(os.path.join(folder, MODEL_FILE), options,
                                           providers=providers or ["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(os.path.join(folder, TOKENIZER_FILE))
    packer = PiecePacker(tokenizer, meta["maxlen"], meta["special"], meta.get("separators", 1))
    return OnnxPredictor(session, packer, meta)
