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

    Example:
    >>> # trn, val, preproc = kbert.text.entities_from_conll("eng.train", val_filepath="eng.testa")
    >>> # preproc.encode([["George", "Washington"]]) → TaskData of one window
    """

    task = "ner"
    per_piece = True

    def __init__(self, tokenizer, tags, maxlen=128, stride=None, preset="minilm"):
        if maxlen < 8:
            raise ValueError(f"maxlen must be at least 8, got {maxlen}.")
        self.tokenizer = tokenizer
        self.tags = list(tags)
        self.tag_index = {t: i for i, t in enumerate(self.tags)}
        self.maxlen = int(maxlen)
        # words shared by consecutive windows: a quarter of the window by default
        self.stride = int(stride) if stride is not None else max(1, (maxlen - 2) // 4)
        self.preset = preset

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

    def encode(self, sentences, tags=None, name="data", verbose=1):
        """Sentences (lists of words) and optional tags → TaskData of windows."""
        if tags is not None and len(tags) != len(sentences):
            raise DataError(f"{name}: {len(sentences)} sentences but {len(tags)} tag lists.")
        check_words(sentences, name)
        flat = [w for s in sentences for w in s]
        counts = {}
        pieces = self.word_pieces(flat, counts)
        specials = special_ids(self.tokenizer)
        cls_id, sep_id = specials["start"], specials["end"]
        ids, targets, rows = [], [], []
        windowed = cut_words = pos = 0
        for si, words in enumerate(sentences):
            wp = pieces[pos:pos + len(words)]
            pos += len(words)
            if tags is not None:
                if len(tags[si]) != len(words):
                    raise DataError(f"{name}: sentence {si} has {len(words)} words but {len(tags[si])} tags.")
                tag_ids = []
                for wi, t in enumerate(tags[si]):
                    if t not in self.tag_index:
                        raise DataError(f"{name}: tag {t!r} of sentence {si} (word {wi}, {words[wi]!r}) was not "
                                        f"seen in the training data; known tags: {self.tags}.")
                    tag_ids.append(self.tag_index[t])
            spans = self.windows([len(p) for p in wp])
            windowed += len(spans) > 1
            for start, end, own_s, own_e in spans:
                seq, tgt, word_ids = [cls_id], [IGNORE_INDEX], [-1]
                for wi in range(start, end):
                    p = wp[wi]
                    if len(p) > self.maxlen - 2:
                        p = p[: self.maxlen - 2]
                        cut_words += 1
                    seq.extend(p)
                    word_ids.extend([wi] + [-1] * (len(p) - 1))
                    first = tag_ids[wi] if tags is not None else IGNORE_INDEX
                    tgt.extend([first] + [IGNORE_INDEX] * (len(p) - 1))
                seq.append(sep_id)
                tgt.append(IGNORE_INDEX)
                word_ids.append(-1)
                ids.append(seq)
                targets.append(tgt)
                rows.append({"sentence": si, "start": start, "end": end, "own_start": own_s, "own_end": own_e,
                             "word_ids": np.asarray(word_ids, dtype=np.int32)})
        if verbose:
            print(f"kbert: {name}: {len(sentences)} sentences, {len(flat)} words, {len(ids)} windows")
        if windowed:
            print(f"kbert: {name}: {windowed} sentences longer than maxlen={self.maxlen} word pieces were split "
                  f"into overlapping windows (every word keeps one tag).")
        if cut_words:
            print(f"kbert: {name}: {cut_words} single words longer than maxlen were cut to their first pieces.")
        empty = counts.get("empty_words", 0)
        if empty:
            print(f"kbert: {name}: {empty} words have no word pieces (empty, spaces or control characters only) and "
                  "are read as the unknown piece; they keep their tags.")
        token_ids = tf.ragged.constant(ids, dtype=tf.int32) if ids else tf.ragged.constant([], tf.int32, 1)
        features = {"token_ids": token_ids, "segment_ids": tf.zeros_like(token_ids)}
        source = pd.DataFrame(rows)
        data = NERData(features, tf.ragged.constant(targets, dtype=tf.int32) if tags is not None else None,
                       self, source=source, pad_values={"token_ids": specials["pad"]},
                       target_pad=IGNORE_INDEX,
                       stats={"sentences": len(sentences), "windowed": windowed, "cut_words": cut_words,
                              "empty_words": empty})
        data.sentences = [list(s) for s in sentences]
        data.sentence_tags = None if tags is None else [list(t) for t in tags]
        return data

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
                "lowercase": bool(getattr(self.tokenizer, "lowercase", False))}

    @classmethod
    def from_config(cls, config, tokenizer):
        return cls(tokenizer, config["tags"], config["maxlen"], config["stride"], config.get("preset"))


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


class NERData(TaskData):
    """TaskData of windows that remembers its sentences (for reports and predictions)."""

    sentences = None
    sentence_tags = None

    def subset(self, indices):
        sub = super().subset(indices)
        sub.sentences, sub.sentence_tags = self.sentences, self.sentence_tags
        return sub

    def validation_targets(self):
        return self.sentence_tags
