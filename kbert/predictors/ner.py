"""Predictor for named-entity recognition, with ktrain's `predict` formats."""

import copy
import re

import numpy as np

from kbert.explain import explain_entity
from kbert.predictors.base import Predictor, as_list, as_texts, check_strings
from kbert.text.ner.preprocessor import NERPreprocessor

# Words for raw text: runs of letters/digits (with inner apostrophes, hyphens or dots, as
# in "don't", "well-known", "U.S"), or any other single non-space character.
WORD_RE = re.compile(r"\w+(?:[-'’.]\w+)*|[^\w\s]")
SENTENCES = "a string or a list of strings (word lists with is_split_into_words=True)"


def split_words(text):
    """Splits raw text into words with character offsets: [(word, start, end), ...]."""
    return [(m.group(), m.start(), m.end()) for m in WORD_RE.finditer(text)]


def locate_words(text, words):
    """[(word, start, end)] for words that a custom tokenizer cut from `text`: each word is
    looked up from the end of the one before; (word, None, None) when it is not found there
    (a tokenizer that changes the words)."""
    spans, pos = [], 0
    for w in words:
        start = text.find(w, pos) if w else -1
        if start < 0:
            spans.append((w, None, None))
            continue
        spans.append((w, start, start + len(w)))
        pos = start + len(w)
    return spans


def joined_spans(words):
    """Offsets of words into the words joined by single spaces (for is_split_into_words)."""
    spans, pos = [], 0
    for w in words:
        spans.append((w, pos, pos + len(w)))
        pos += len(w) + 1
    return " ".join(words), spans


class NERPredictor(Predictor):
    """predict(sentences) → [(word, tag), ...] per sentence, in ktrain's formats.

    Inputs: a string (one sentence), a list of strings (a batch), or with
    is_split_into_words=True a list of words (one sentence) or a list of word lists.
    """

    task = "ner"
    preprocessor_class = NERPreprocessor

    def __init__(self, model, preproc, batch_size=32):
        super().__init__(model, preproc, batch_size)
        # the model decides whether the data carries word shapes (a preprocessor shared with a
        # tagger built later may say otherwise)
        uses = "shape_ids" in input_names(model)
        if bool(self.preproc.word_shapes) != uses:
            self.preproc = copy.copy(self.preproc)
            self.preproc.word_shapes = uses

    def export(self, folder, format="saved_model", **kwargs):
        """As Predictor.export; a tagger with word shapes exports as "saved_model" only (its
        graph computes the shapes from the words; the other formats feed token ids only)."""
        if self.preproc.word_shapes and format != "saved_model":
            raise ValueError(f"This NER model reads word shapes (sequence_tagger(word_shapes=True)), which the "
                             f"{format!r} export does not feed; export it as format='saved_model' (its graph "
                             "computes the shapes from the words), or train a tagger with word_shapes=False.")
        return super().export(folder, format, **kwargs)

    def export_model_to_tflite(self, fpath, verbose=1):
        if self.preproc.word_shapes:
            raise ValueError("This NER model reads word shapes (sequence_tagger(word_shapes=True)), which the TFLite "
                             "export does not feed; use predictor.export(folder) (a SavedModel), or train a tagger "
                             "with word_shapes=False.")
        return super().export_model_to_tflite(fpath, verbose)

    def _inputs(self, x, is_split_into_words, custom_tokenizer):
        """(texts, [(word, start, end)] per sentence, single)."""
        if is_split_into_words:
            if isinstance(x, str):
                raise TypeError("is_split_into_words=True takes a list of words (or a list of word lists), not a "
                                "string.")
            items = as_list(x, "sentences", "a list of words or a list of word lists with is_split_into_words=True")
            single = bool(items) and all(isinstance(w, str) for w in items)
            sentences = [items] if single else [check_strings(as_list(s, f"sentences[{i}]", "a list of words"),
                                                              f"sentences[{i}]", "a list of words")
                                                for i, s in enumerate(items)]
            texts, spans = zip(*[joined_spans(s) for s in sentences]) if sentences else ((), ())
            return list(texts), list(spans), single
        texts, single = as_texts(x, "sentences", SENTENCES)
        if custom_tokenizer is None:
            return texts, [split_words(t) for t in texts], single
        if not callable(custom_tokenizer):
            raise TypeError(f"custom_tokenizer must be a function text → list of words, got "
                            f"{type(custom_tokenizer).__name__}.")
        spans = []
        for i, t in enumerate(texts):
            words = custom_tokenizer(t)
            if isinstance(words, str):
                raise TypeError(f"custom_tokenizer returned a string for sentences[{i}]; it must return a list of "
                                "words.")
            words = check_strings(as_list(words, "custom_tokenizer(text)", "a list of words"),
                                  "custom_tokenizer(text)", "a list of words")
            spans.append(locate_words(t, words))
        return texts, spans, single

    def explain(self, sentence, entity=0, n_samples=500, method="gradients", seed=0, steps=50, baseline="zero"):
        """Which words pushed the tags of a predicted entity (`kbert.explain.explain_entity`): `entity` is
        its index among the sentence's predicted entities; method "gradients" or "lime"."""
        return explain_entity(self, sentence, entity, n_samples, method, seed, steps, baseline)

    def predict(self, sentences, return_proba=False, merge_tokens=False, custom_tokenizer=None,
                return_offsets=False, as_dict=False, is_split_into_words=False, document=False):
        """Tags the words of a sentence (or of each sentence of a list), as ktrain's NERPredictor.

        Args:
            sentences: a string, a list of strings, or word lists with is_split_into_words=True.
            return_proba: add the probability of each word's tag (for entities, the mean over their words).
            merge_tokens: return the entities only: (text, type) tuples, words of one entity merged.
            custom_tokenizer: a function text → list of words, used instead of kbert's word splitter
                (offsets are found by looking each word up in the text).
            return_offsets: add (start, end) character offsets into the sentence (end exclusive).
            as_dict: dicts instead of tuples: {"entity", "text", "start", "end"} per entity with
                merge_tokens (kbert 0.1's format; "score" with return_proba), else
                {"word", "tag", "start", "end"} per word.
            is_split_into_words: sentences holds words already split (offsets then index the
                words joined by single spaces).
            document: the sentences (a list) are consecutive sentences of one document:
                each is tagged in a window filled with its neighbours, as a model trained with
                `document_context=True` was (`preproc.document_context`); the results are
                per sentence, as for a list of sentences.

        Returns:
            For one sentence, a list of tuples: (word, tag), (word, tag, (start, end)) with
            return_offsets, (word, tag, prob) with return_proba, (word, tag, prob, (start, end))
            with both; with merge_tokens, (text, type) [+ (start, end)] [+ mean prob] per entity.
            A list of such lists for a list of sentences (always with document=True).

        Example:
        >>> # p.predict("There is a man named John Smith.")[-2]
        >>> # ('Smith', 'I-PER')
        >>> # p.predict("There is a man named John Smith.", merge_tokens=True, return_offsets=True)
        >>> # [('John Smith', 'PER', (21, 31))]
        >>> # p.predict(["John Smith spoke .", "Smith said no ."], document=True)  # one document
        >>> # [[('John', 'B-PER'), ...], [('Smith', 'B-PER'), ...]]
        """
        if document and (isinstance(sentences, str) or (is_split_into_words and isinstance(sentences, (list, tuple))
                                                         and sentences and isinstance(sentences[0], str))):
            raise TypeError("document=True takes the document's sentences as a list (of strings, or of word lists "
                            "with is_split_into_words=True), not one sentence.")
        texts, spans, single = self._inputs(sentences, is_split_into_words, custom_tokenizer)
        if return_offsets and any(s is None for sent in spans for _, s, _ in sent):
            i, w = next((i, w) for i, sent in enumerate(spans) for w, s, _ in sent if s is None)
            raise ValueError(f"custom_tokenizer returned the word {w!r} for sentences[{i}], which is not in that "
                             "sentence where expected; return_offsets needs words cut from the text unchanged.")
        words = [[w for w, _, _ in sent] for sent in spans]
        tags, probas = [[]] * len(words), [[]] * len(words)
        if any(words):
            data = self.preproc.encode(words, None, verbose=0, documents=[0] * len(words) if document else None)
            outputs = self._outputs(data)
            tags = self.preproc.word_tags(outputs, data)
            if return_proba:
                probas = [[float(np.max(p)) for p in sent] for sent in self.preproc.word_tags(outputs, data,
                                                                                               proba=True)]
        results = []
        for text, sent, ts, ps in zip(texts, spans, tags, probas):
            ps = ps if return_proba else [None] * len(ts)
            if merge_tokens:
                results.append([entity_output(e, return_proba, return_offsets, as_dict)
                                for e in merge_entities(text, sent, ts, ps)])
            else:
                results.append([word_output(w, t, p, (s, e), return_proba, return_offsets, as_dict)
                                for (w, s, e), t, p in zip(sent, ts, ps)])
        return results[0] if single else results


def input_names(model):
    """The names of a model's inputs."""
    names = list(model.input.keys()) if isinstance(model.input, dict) else [t.name for t in model.inputs]
    return [n.split(":")[0] for n in names]


def word_output(word, tag, prob, offsets, return_proba, return_offsets, as_dict):
    if as_dict:
        out = {"word": word, "tag": tag, "start": offsets[0], "end": offsets[1]}
        if return_proba:
            out["score"] = prob
        return out
    out = (word, tag) + ((prob,) if return_proba else ())
    return out + ((offsets,) if return_offsets else ())


def entity_output(entity, return_proba, return_offsets, as_dict):
    score = float(np.mean(entity["probs"])) if return_proba else None
    if as_dict:
        out = {"entity": entity["entity"], "text": entity["text"], "start": entity["start"], "end": entity["end"]}
        if return_proba:
            out["score"] = score
        return out
    # ktrain's order: offsets before the probability
    out = (entity["text"], entity["entity"]) + (((entity["start"], entity["end"]),) if return_offsets else ())
    return out + ((score,) if return_proba else ())


def merge_entities(text, spans, tags, probs):
    """IOB2 tags → entities {"entity", "text", "start", "end", "probs"}. B-X starts an entity;
    I-X continues an open X entity, or starts one (after O or an entity of another type, as
    seqeval counts it); O closes. The text is the sentence's own characters from the first
    word's start to the last word's end (the words joined by spaces when offsets are unknown)."""
    entities, current = [], None
    for (w, s, e), tag, p in zip(spans, tags, probs):
        kind = tag[2:] if tag != "O" else None
        if tag.startswith("B-") or (tag.startswith("I-") and (current is None or current["entity"] != kind)):
            current = {"entity": kind, "start": s, "end": e, "words": [w], "probs": [p]}
            entities.append(current)
        elif tag.startswith("I-"):
            current["end"] = e
            current["words"].append(w)
            current["probs"].append(p)
        else:
            current = None
    for ent in entities:
        located = ent["start"] is not None and ent["end"] is not None
        ent["text"] = text[ent["start"]:ent["end"]] if located else " ".join(ent.pop("words"))
    return entities
