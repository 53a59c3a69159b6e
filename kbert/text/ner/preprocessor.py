"""The NER preprocessor: sentences of words (and tags) → TaskData of windows, with the
tagger's loss, metrics and seqeval report.

Each word's tag goes to its first word piece; the other pieces, the start and end pieces
([CLS]/[SEP], <s>/</s>) and padding carry IGNORE_INDEX and are left out of the loss and the metrics.
"""

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from kbert import metrics as M
from kbert.data import TaskData
from kbert.errors import DataError
from kbert.families import special_ids
from kbert.metrics import IGNORE_INDEX
from kbert.tasks import TaskPreprocessor
from kbert.text.ner.alignment import windows, word_outputs, word_pieces
from kbert.text.ner.context import context_words, document_spans, documents_of
from kbert.text.ner.shapes import shape_ids


class NERPreprocessor(TaskPreprocessor):
    """Word-piece alignment and windowing for token classification; knows the tagger's
    loss, metrics and reports.

    Args:
        tokenizer: a keras-hub tokenizer (`kbert.encoders.load_tokenizer`).
        tags: the tag names (IOB2), in output order.
        maxlen: pieces per window, the start and end pieces included.
        stride: words shared by consecutive windows of a long sentence (default: a quarter
            of a window).
        preset: the encoder spec the words are tokenized for.
        document_context: the data was read with document context (the loaders'
            `document_context=True`; `encode(..., documents=...)`); kept for the predictor.
        word_shapes: whether the data carries each word's shape ("shape_ids", see
            kbert.text.ner.shapes) for the model; None until `sequence_tagger` decides.

    Example:
    >>> # trn, val, preproc = kbert.text.entities_from_conll("eng.train", val_filepath="eng.testa")
    >>> # preproc.encode([["George", "Washington"]]) → TaskData of one window
    """

    task = "ner"
    per_piece = True

    def __init__(self, tokenizer, tags, maxlen=128, stride=None, preset="minilm", document_context=False,
                 word_shapes=None):
        if maxlen < 8:
            raise ValueError(f"maxlen must be at least 8, got {maxlen}.")
        self.tokenizer = tokenizer
        self.tags = list(tags)
        self.tag_index = {t: i for i, t in enumerate(self.tags)}
        self.maxlen = int(maxlen)
        # words shared by consecutive windows: a quarter of the window by default
        self.stride = int(stride) if stride is not None else max(1, (maxlen - 2) // 4)
        self.preset = preset
        self.document_context = bool(document_context)
        # None until a tagger decides (sequence_tagger(word_shapes=...)); True adds "shape_ids" to the data
        self.word_shapes = word_shapes

    def get_classes(self):
        return list(self.tags)

    @property
    def num_outputs(self):
        return len(self.tags)

    def loss(self):
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE_INDEX)

    def metrics(self):
        return [M.MaskedAccuracy(name="accuracy")]

    # --- alignment
    def word_pieces(self, words, stats=None):
        """Word pieces of each word (see kbert.text.ner.alignment.word_pieces)."""
        return word_pieces(self.tokenizer, words, stats)

    def windows(self, n_pieces):
        """The windows of a sentence of words with these piece counts (see alignment.windows)."""
        return windows(n_pieces, self.maxlen - 2, self.stride)

    def encode(self, sentences, tags=None, name="data", verbose=1, documents=None):
        """Sentences (lists of words) and optional tags → TaskData of windows.

        Args:
            sentences: lists of words.
            tags: one tag list per sentence (None: prediction only).
            name: names the data in messages.
            verbose: print counts.
            documents: one document id per sentence (consecutive sentences with one id are a
                document), or None. Given, each sentence that fits a window is read in one
                window filled with whole words of its document's neighbouring sentences
                (`kbert.text.ner.context.context_words`); only its own words carry tags and
                are tagged. A sentence longer than a window is read in windows of its own.
        """
        if tags is not None and len(tags) != len(sentences):
            raise DataError(f"{name}: {len(sentences)} sentences but {len(tags)} tag lists.")
        check_words(sentences, name)
        flat = [w for s in sentences for w in s]
        counts = {}
        pieces = self.word_pieces(flat, counts)
        shapes = shape_ids(flat)
        offsets = np.cumsum([0] + [len(s) for s in sentences])
        docs = None if documents is None else document_spans(documents_of(documents, len(sentences), name), offsets)
        specials = special_ids(self.tokenizer)
        budget = self.maxlen - 2
        ids, targets, shape_rows, rows = [], [], [], []
        windowed = cut_words = with_context = 0
        cache = {}
        for si, words in enumerate(sentences):
            base = int(offsets[si])
            tag_ids = self.tag_ids(tags[si], words, si, name) if tags is not None else None
            n_pieces = [len(p) for p in pieces[base:base + len(words)]]
            spans = self.windows(n_pieces)
            if docs is not None and len(spans) == 1 and words:
                first, last = docs[si]
                if (first, last) not in cache:  # documents come in order: one cached at a time
                    cache = {(first, last): [len(p) for p in pieces[first:last]]}
                doc_pieces = cache[first, last]
                start, end = context_words(doc_pieces, base - first, base - first + len(words), budget)
                # the document's words start..end-1; the centre's own are word ids 0..len(words)-1
                refs = [(first + k, first + k - base) for k in range(start, end)]
                with_context += (end - start) > len(words)
                spans = [(0, len(words), 0, len(words), refs)]
            else:
                windowed += len(spans) > 1
                spans = [(s, e, os_, oe, [(base + k, k) for k in range(s, e)]) for s, e, os_, oe in spans]
            for start, end, own_s, own_e, refs in spans:
                seq, tgt, word_ids, shp = [specials["start"]], [IGNORE_INDEX], [-1], [0]
                for k, wi in refs:
                    p = pieces[k]
                    if len(p) > budget:
                        p = p[:budget]
                        cut_words += 1
                    centre = 0 <= wi < len(words)
                    seq.extend(p)
                    word_ids.extend([wi if centre else -1] + [-1] * (len(p) - 1))
                    tgt.extend([tag_ids[wi] if centre and tag_ids is not None else IGNORE_INDEX]
                               + [IGNORE_INDEX] * (len(p) - 1))
                    shp.extend([shapes[k]] + [0] * (len(p) - 1))
                seq.append(specials["end"])
                tgt.append(IGNORE_INDEX)
                word_ids.append(-1)
                shp.append(0)
                ids.append(seq)
                targets.append(tgt)
                shape_rows.append(shp)
                rows.append({"sentence": si, "start": start, "end": end, "own_start": own_s, "own_end": own_e,
                             "context_words": len(refs) - (end - start),
                             "word_ids": np.asarray(word_ids, dtype=np.int32)})
        if verbose:
            print(f"kbert: {name}: {len(sentences)} sentences, {len(flat)} words, {len(ids)} windows"
                  + (f" ({with_context} with document context)" if docs is not None else ""))
        if windowed:
            print(f"kbert: {name}: {windowed} sentences longer than maxlen={self.maxlen} word pieces were split "
                  f"into overlapping windows (every word keeps one tag).")
        if cut_words:
            print(f"kbert: {name}: {cut_words} single words longer than maxlen were cut to their first pieces.")
        empty = counts.get("empty_words", 0)
        if empty:
            print(f"kbert: {name}: {empty} words have no word pieces (empty, spaces or control characters only) and "
                  "are read as the unknown piece; they keep their tags.")
        token_ids = ragged(ids)
        features = {"token_ids": token_ids, "segment_ids": tf.zeros_like(token_ids), "shape_ids": ragged(shape_rows)}
        data = NERData(features, ragged(targets) if tags is not None else None,
                       self, source=pd.DataFrame(rows), pad_values={"token_ids": specials["pad"]},
                       target_pad=IGNORE_INDEX,
                       stats={"sentences": len(sentences), "windowed": windowed, "cut_words": cut_words,
                              "empty_words": empty, "with_context": with_context})
        data.sentences = [list(s) for s in sentences]
        data.sentence_tags = None if tags is None else [list(t) for t in tags]
        return data

    def tag_ids(self, tags, words, si, name):
        if len(tags) != len(words):
            raise DataError(f"{name}: sentence {si} has {len(words)} words but {len(tags)} tags.")
        out = []
        for wi, t in enumerate(tags):
            if t not in self.tag_index:
                raise DataError(f"{name}: tag {t!r} of sentence {si} (word {wi}, {words[wi]!r}) was not "
                                f"seen in the training data; known tags: {self.tags}.")
            out.append(self.tag_index[t])
        return out

    # --- predictions
    def word_tags(self, outputs, data, proba=False):
        """Per-window piece logits → one tag (or probability row) per word of each sentence."""
        rows = data.source.to_dict("records")
        per_word = word_outputs(outputs, rows, data.sentences)
        if proba:
            return [[M.softmax(v) for v in sent] for sent in per_word]
        return [[self.tags[int(np.argmax(v))] for v in sent] for sent in per_word]

    def report(self, outputs, data, class_names=None, print_report=True):
        """Prints seqeval's entity-level report; returns the micro F1."""
        from seqeval.metrics import classification_report, f1_score

        pred = self.word_tags(outputs, data)
        true = data.sentence_tags
        if print_report:
            print(classification_report(true, pred, digits=4, zero_division=0))
        return float(f1_score(true, pred, average="micro", zero_division=0))

    def example_losses(self, outputs, targets):
        return M.masked_cross_entropy(outputs, targets)

    def describe(self, logits, targets):
        t = np.asarray(targets)[: len(logits)]
        keep = t != IGNORE_INDEX
        truth = [self.tags[i] for i in t[keep]]
        pred = [self.tags[i] for i in np.asarray(logits)[keep].argmax(axis=-1)]
        return truth, pred

    def source_text(self, data, row):
        r = data.source.iloc[row]
        return " ".join(data.sentences[r["sentence"]][r["start"]:r["end"]])

    # --- saving
    def get_config(self):
        return {"tags": self.tags, "maxlen": self.maxlen, "stride": self.stride,
                "preset": self.preset if isinstance(self.preset, str) else None,
                "lowercase": bool(getattr(self.tokenizer, "lowercase", False)),
                "document_context": self.document_context, "word_shapes": bool(self.word_shapes)}

    @classmethod
    def from_config(cls, config, tokenizer):
        return cls(tokenizer, config["tags"], config["maxlen"], config["stride"], config.get("preset"),
                   config.get("document_context", False), config.get("word_shapes", False))


def check_words(sentences, name):
    """Every sentence a list of strings: else a DataError naming the sentence and word."""
    for si, words in enumerate(sentences):
        if isinstance(words, str) or not hasattr(words, "__len__"):
            raise DataError(f"{name}: sentence {si} is a {type(words).__name__} ({str(words)[:50]!r}), not a list "
                            "of words; give each sentence as a list of word strings.")
        for wi, w in enumerate(words):
            if not isinstance(w, str):
                raise DataError(f"{name}: sentence {si}, word {wi} is a {type(w).__name__} ({w!r}), not a string; "
                                "give words as strings (a missing value in a DataFrame is NaN).")


def ragged(rows):
    return tf.ragged.constant(rows, dtype=tf.int32) if rows else tf.ragged.constant([], tf.int32, 1)


class NERData(TaskData):
    """TaskData of windows that remembers its sentences (for reports and predictions).

    Its word shapes ("shape_ids") are kept aside and are among `features` only while its
    preprocessor's `word_shapes` is on: the tagger built last decides whether the model
    reads them (`sequence_tagger(preproc, word_shapes=...)`), after the data was made.
    """

    sentences = None
    sentence_tags = None
    shape_ids = None

    @property
    def features(self):
        pre = getattr(self, "preprocessor", None)
        if self.shape_ids is not None and pre is not None and pre.word_shapes:
            self._features["shape_ids"] = self.shape_ids
        else:
            self._features.pop("shape_ids", None)
        return self._features

    @features.setter
    def features(self, value):
        value = dict(value)
        if "shape_ids" in value:
            self.shape_ids = value.pop("shape_ids")
        self._features = value

    def subset(self, indices):
        sub = super().subset(indices)
        sub.sentences, sub.sentence_tags = self.sentences, self.sentence_tags
        if self.shape_ids is not None:
            sub.shape_ids = tf.gather(self.shape_ids, np.asarray(indices, dtype=np.int64))
        return sub

    def validation_targets(self):
        return self.sentence_tags
