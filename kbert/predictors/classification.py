"""Predictor for text classification and regression."""

import numpy as np

from kbert.explain import explain_text
from kbert.first_token import first_token_only
from kbert.models import find_backbone
from kbert.predictors.base import Predictor, as_list, check_strings
from kbert.text.classification.preprocessor import TextClassificationPreprocessor

# the models text_classifier builds (their heads read the encoder's first position only)
CLASSIFIER_NAMES = ("kbert_text_classifier", "kbert_document_classifier")


class TextClassificationPredictor(Predictor):
    """predict(texts) → labels (or probabilities); texts: a string, a list of strings, or
    a list of (text, second text) pairs for sentence-pair models."""

    task = "text_classification"
    preprocessor_class = TextClassificationPreprocessor

    def __init__(self, model, preproc, batch_size=32):
        super().__init__(model, preproc, batch_size)
        if model.name in CLASSIFIER_NAMES:  # kbert's own heads read [CLS] alone (a reloaded model has lost it)
            first_token_only(find_backbone(model))

    def _split(self, texts):
        if isinstance(texts, str):
            return [texts], None, True
        pairs = self.preproc.text_pair_column is not None
        expected = ("a string, a (text, text) pair, or a list of strings or of pairs" if pairs
                    else "a string or a list of strings")
        if pairs and isinstance(texts, tuple) and len(texts) == 2 and all(isinstance(t, str) for t in texts):
            return [texts[0]], [texts[1]], True
        texts = as_list(texts, "texts", expected)
        if pairs and texts and all(isinstance(t, (tuple, list)) and len(t) == 2 for t in texts):
            first = check_strings([t[0] for t in texts], "first texts of the pairs", "strings")
            return first, check_strings([t[1] for t in texts], "second texts of the pairs", "strings"), False
        return check_strings(texts, "texts", expected), None, False

    def predict_proba(self, texts):
        """Class probabilities (sigmoid per label for multi-label; values for regression).

        Args:
            texts: a string, a list of strings, or (text, second text) pairs for pair models.

        Returns:
            A float32 array [rows, classes]; [classes] for a single text.

        Example:
        >>> # predictor.predict_proba(["I feel wonderful", "this is scary"]).shape
        >>> # (2, 6)
        """
        first, second, single = self._split(texts)
        if (second is None) != (self.preproc.text_pair_column is None):
            raise ValueError("This model takes " + ("text pairs" if self.preproc.text_pair_column else
                                                    "single texts") + ".")
        data = self.preproc.transform(first, second, verbose=0)
        probs = self.preproc.postprocess(self._outputs(data))
        return probs[0] if single else probs

    def predict(self, texts, return_proba=False):
        """Labels for a text or a list of texts.

        Args:
            texts: a string, a list of strings, or (text, second text) pairs for pair models.
            return_proba: return `predict_proba(texts)` instead.

        Returns:
            The class name per text; for multi-label a list of (class, probability) per text;
            for regression a float per text. One value for a single text.

        Example:
        >>> # predictor.predict(["I feel wonderful today", "this is scary"])
        >>> # ['joy', 'fear']
        """
        probs = self.predict_proba(texts)
        if return_proba:
            return probs
        single = probs.ndim == 1
        p = probs[None] if single else probs
        mode, classes = self.preproc.mode, self.get_classes()
        if mode == "regression":
            out = [float(v) for v in p[:, 0]]
        elif mode == "multilabel":
            out = [[(c, float(v)) for c, v in zip(classes, row)] for row in p]
        else:
            out = [classes[i] for i in np.argmax(p, axis=-1)]
        return out[0] if single else out

    def explain(self, text, n_samples=500, class_name=None, method="lime", seed=0, steps=50, baseline="zero"):
        """Which words of `text` pushed the prediction (kbert.explain.explain_text).

        Args:
            text: a string; for a pair model a (text, second text) tuple (the first is explained).
            n_samples: LIME's perturbed texts (ktrain: 2500).
            class_name: the class to explain; default the predicted one (regression: the value).
            method: "lime" or "gradients" (integrated gradients on the token embeddings).
            seed: LIME's sampling seed.
            steps: integrated gradients' first step count (doubled until the attributions add up).
            baseline: integrated gradients' baseline embedding, "zero" or "pad".

        Returns:
            A `kbert.explain.Explanation`: `top(k)`, `as_list()`, `save_html(path)`; HTML in a notebook.

        Example:
        >>> # predictor.explain("i feel wonderful today").top(1)
        >>> # [('wonderful', 0.38)]
        """
        return explain_text(self, text, n_samples=n_samples, class_name=class_name, method=method, seed=seed,
                            steps=steps, baseline=baseline)
