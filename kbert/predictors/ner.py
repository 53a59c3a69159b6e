"""Predictor for named-entity recognition."""

import re

import numpy as np

from kbert.predictors.base import Predictor

# Words for raw text: runs of letters/digits (with inner apostrophes, hyphens or dots, as
# in "don't", "well-known", "U.S"), or any other single non-space character.
WORD_RE = re.compile(r"\w+(?:[-'’.]\w+)*|[^\w\s]")


def split_words(text):
    """Splits raw text into words with character offsets: [(word, start, end), ...]."""
    return [(m.group(), m.start(), m.end()) for m in WORD_RE.finditer(text)]


class NERPredictor(Predictor):
    """predict(text) → [(word, tag), ...]; merge_tokens=True → entities with offsets.

    Inputs: a string (one text), a list of strings (a batch of texts), or with
    is_split_into_words=True a list of words (one sentence) or a list of word lists.
    """

    task = "ner"

    @staticmethod
    def preprocessor_from_config(config, vocabulary):
        from kbert.text.ner import NERPreprocessor

        return NERPreprocessor.from_config(config, vocabulary)

    def _inputs(self, x, is_split_into_words):
        if isinstance(x, str):
            if is_split_into_words:
                raise TypeError("is_split_into_words=True takes a list of words, not a string.")
            return [x], True, False
        x = list(x)
        if is_split_into_words:
            if x and all(isinstance(w, str) for w in x):
                return [x], True, True
            return [list(s) for s in x], False, True
        for i, t in enumerate(x):
            if not isinstance(t, str):
                raise TypeError(f"Item {i} is a {type(t).__name__}; pass texts as strings, or word lists with "
                                "is_split_into_words=True.")
        return x, False, False

    def predict(self, x, merge_tokens=False, return_proba=False, is_split_into_words=False):
        items, single, split = self._inputs(x, is_split_into_words)
        if split:
            words = items
            spans = [None] * len(items)
        else:
            spans = [split_words(t) for t in items]
            words = [[w for w, _, _ in s] for s in spans]
        data = self.preproc.encode(words, None, verbose=0)
        outputs = self._outputs(data, per_piece=True)
        tags = self.preproc.word_tags(outputs, data)
        probas = self.preproc.word_tags(outputs, data, proba=True) if return_proba else None
        results = []
        for i, (ws, ts) in enumerate(zip(words, tags)):
            if merge_tokens:
                results.append(self._merge(items[i], ws, ts, spans[i]))
            elif return_proba:
                results.append([(w, t, float(np.max(p))) for w, t, p in zip(ws, ts, probas[i])])
            else:
                results.append(list(zip(ws, ts)))
        return results[0] if single else results

    @staticmethod
    def _merge(text, words, tags, spans):
        """IOB2 tags → [{"entity", "text", "start", "end"}]; offsets into the raw text (for
        word lists, into the words joined by single spaces)."""
        if spans is None:
            text, spans, pos = " ".join(words), [], 0
            for w in words:
                spans.append((w, pos, pos + len(w)))
                pos += len(w) + 1
        entities, current = [], None
        for (w, s, e), tag in zip(spans, tags):
            kind = tag[2:] if tag != "O" else None
            if tag.startswith("B-") or (tag.startswith("I-") and (current is None or current["entity"] != kind)):
                current = {"entity": kind, "start": s, "end": e}
                entities.append(current)
            elif tag.startswith("I-"):
                current["end"] = e
            else:
                current = None
        for ent in entities:
            ent["text"] = text[ent["start"]:ent["end"]]
        return [{"entity": e["entity"], "text": e["text"], "start": e["start"], "end": e["end"]} for e in entities]
