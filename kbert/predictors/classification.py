"""Predictor for text classification and regression."""

import numpy as np

from kbert.predictors.base import Predictor


class TextClassificationPredictor(Predictor):
    """predict(texts) → labels (or probabilities); texts: a string, a list of strings, or
    a list of (text, second text) pairs for sentence-pair models."""

    task = "text_classification"

    @staticmethod
    def preprocessor_from_config(config, vocabulary):
        from kbert.text.classification import TextClassificationPreprocessor

        return TextClassificationPreprocessor.from_config(config, vocabulary)

    def _split(self, texts):
        if isinstance(texts, str):
            return [texts], None, True
        pairs = self.preproc.text_pair_column is not None
        if pairs and isinstance(texts, tuple) and len(texts) == 2 and all(isinstance(t, str) for t in texts):
            return [texts[0]], [texts[1]], True
        texts = list(texts)
        if pairs and all(isinstance(t, (tuple, list)) and len(t) == 2 for t in texts):
            return [t[0] for t in texts], [t[1] for t in texts], False
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"Text {i} is a {type(t).__name__}, not a string.")
        return texts, None, False

    def predict_proba(self, texts):
        """Class probabilities ([rows, classes]; one row for a single text)."""
        first, second, single = self._split(texts)
        if (second is None) != (self.preproc.text_pair_column is None):
            raise ValueError("This model takes " + ("text pairs" if self.preproc.text_pair_column else
                                                    "single texts") + ".")
        data = self.preproc.transform(first, second, verbose=0)
        probs = self.preproc.postprocess(self._outputs(data))
        return probs[0] if single else probs

    def predict(self, texts, return_proba=False):
        """Labels for a text or a list of texts (probabilities with return_proba=True)."""
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
