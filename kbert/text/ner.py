"""Named-entity recognition: CoNLL / DataFrame loaders, word↔piece alignment, the tagger.

    trn, val, preproc = entities_from_conll("eng.train", val_filepath="eng.testa", preset="minilm")
    model = sequence_tagger(preproc)

Each word's tag goes to its first word piece; the other pieces, [CLS], [SEP] and padding
carry the target -100 and are left out of the loss and the metrics. Sentences longer than
maxlen are split into overlapping windows of words (not cut): every word is predicted
from the window where it has the most context on both sides, so every word gets exactly
one tag back.
"""

import os
import re

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from kbert import distribute, optimizers
from kbert.data import TaskData, set_fixed_shapes
from kbert.encoders import load_encoder, load_tokenizer
from kbert.precision import dtype_policy
from kbert.text.classification import DataError, _rows

IGNORE = -100
_TOKENIZE_BATCH = 4096

# ----------------------------------------------------------------------------- tags


def iob1_to_iob2(tags):
    """IOB1 → IOB2: an I-X that starts an entity (after O, or after another type) becomes B-X.
    IOB2 input comes back unchanged."""
    out, prev = [], "O"
    for tag in tags:
        if tag.startswith("I-") and (prev == "O" or prev[2:] != tag[2:]):
            tag = "B-" + tag[2:]
        out.append(tag)
        prev = tag
    return out


def _check_tag(tag, where):
    if tag != "O" and not re.fullmatch(r"[BIES]-.+", tag):
        raise DataError(f"{where}: tag {tag!r} is not IOB (O, B-TYPE or I-TYPE).")


# -------------------------------------------------------------------------- readers


def read_conll(path, word_column=0, tag_column=-1, encoding="utf-8"):
    """Reads CoNLL column format → (sentences, tags): lists of word lists and tag lists.

    -DOCSTART- lines are dropped; blank lines separate sentences; every token line must
    have the same number of columns as the file's first one (else an error names the
    file and line). IOB1 tags are converted to IOB2.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"CoNLL file {path!r} does not exist.")
    sentences, tags, words, wtags = [], [], [], []
    n_columns, converted = None, 0
    with open(path, encoding=encoding) as f:
        for lineno, line in enumerate(f, start=1):
            parts = line.split()
            if not parts:
                if words:
                    sentences.append(words)
                    tags.append(wtags)
                    words, wtags = [], []
                continue
            if parts[0] == "-DOCSTART-":
                continue
            if n_columns is None:
                n_columns = len(parts)
                if max(word_column, tag_column) >= n_columns or min(word_column, tag_column) < -n_columns:
                    raise DataError(f"{path}, line {lineno}: has {n_columns} columns; word_column={word_column} "
                                    f"and tag_column={tag_column} do not fit.")
            if len(parts) != n_columns:
                raise DataError(f"{path}, line {lineno}: {len(parts)} columns where the file's first token line "
                                f"has {n_columns}: {line.rstrip()!r}")
            _check_tag(parts[tag_column], f"{path}, line {lineno}")
            words.append(parts[word_column])
            wtags.append(parts[tag_column])
    if words:
        sentences.append(words)
        tags.append(wtags)
    if not sentences:
        raise DataError(f"CoNLL file {path!r} holds no sentences.")
    normalised = []
    for t in tags:
        n = iob1_to_iob2(t)
        converted += sum(a != b for a, b in zip(t, n))
        normalised.append(n)
    if converted:
        print(f"kbert: {path}: IOB1 tags detected; {converted} tags converted to IOB2.")
    return sentences, normalised


def _sentences_from_df(df, word_column, tag_column, sentence_column, df_name):
    for c in (word_column, tag_column, sentence_column):
        if c not in df.columns:
            raise DataError(f"Column {c!r} not found in {df_name}; its columns are {list(df.columns)}.")
    # ktrain's format: the sentence id is given on a sentence's first row only
    ids = df[sentence_column].ffill()
    if ids.isna().any():
        raise DataError(f"{df_name} column {sentence_column!r} is empty before the first sentence id "
                        f"(index {_rows(df.index[ids.isna()])}).")
    for c in (word_column, tag_column):
        missing = df[c].isna()
        if missing.any():
            raise DataError(f"{df_name} column {c!r} has missing values at index {_rows(df.index[missing])}.")
    sentences, tags = [], []
    for _, group in df.groupby(ids, sort=False):
        sentences.append([str(w) for w in group[word_column]])
        t = [str(x) for x in group[tag_column]]
        for tag, idx in zip(t, group.index):
            _check_tag(tag, f"{df_name} index {idx}")
        tags.append(iob1_to_iob2(t))
    return sentences, tags


# ---------------------------------------------------------------------- preprocessor


class NERPreprocessor:
    """Word-piece alignment and windowing for token classification; knows the tagger's
    loss, metrics, reports and predictor."""

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
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE)

    def metrics(self):
        return [MaskedAccuracy(name="accuracy")]

    # --- alignment
    def word_pieces(self, words):
        """Word pieces of each word (a flat list of words → list of id lists); a word with no
        pieces (e.g. a control character) gets [UNK], so every word can be tagged."""
        if not words:
            return []
        ds = tf.data.Dataset.from_tensor_slices(tf.constant(words, dtype=tf.string)).batch(_TOKENIZE_BATCH)
        out = []
        for batch in ds.map(self.tokenizer):
            out.extend(batch.to_list())
        unk = self.tokenizer.token_to_id(self.tokenizer.oov_token) if hasattr(self.tokenizer, "oov_token") else 100
        return [p if p else [unk] for p in out]

    def windows(self, n_pieces):
        """Split a sentence's words into windows of at most maxlen-2 pieces.

        n_pieces: pieces per word. Returns [(start, end, own_start, own_end)]: the window
        holds words start..end-1 and is the one that tags words own_start..own_end-1 (the
        words nearer its middle than any other window's).
        """
        budget = self.maxlen - 2
        n = len(n_pieces)
        if sum(n_pieces) <= budget:
            return [(0, n, 0, n)]
        spans, start = [], 0
        while True:
            end, used = start, 0
            while end < n and used + n_pieces[end] <= budget:
                used += n_pieces[end]
                end += 1
            end = max(end, start + 1)  # a single over-long word still gets a window (its pieces cut)
            spans.append((start, end))
            if end >= n:
                break
            start = max(start + 1, end - self.stride)
        owned = []
        for i, (s, e) in enumerate(spans):
            own_s = s if i == 0 else (spans[i - 1][1] + s + 1) // 2
            own_e = e if i == len(spans) - 1 else (e + spans[i + 1][0] + 1) // 2
            owned.append((s, e, own_s, own_e))
        return owned

    def encode(self, sentences, tags=None, name="data", verbose=1):
        """Sentences (lists of words) and optional tags → TaskData of windows."""
        if tags is not None and len(tags) != len(sentences):
            raise DataError(f"{name}: {len(sentences)} sentences but {len(tags)} tag lists.")
        flat = [w for s in sentences for w in s]
        pieces = self.word_pieces(flat)
        cls_id, sep_id = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
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
                seq, tgt, word_ids = [cls_id], [IGNORE], [-1]
                for wi in range(start, end):
                    p = wp[wi]
                    if len(p) > self.maxlen - 2:
                        p = p[: self.maxlen - 2]
                        cut_words += 1
                    seq.extend(p)
                    word_ids.extend([wi] + [-1] * (len(p) - 1))
                    first = tag_ids[wi] if tags is not None else IGNORE
                    tgt.extend([first] + [IGNORE] * (len(p) - 1))
                seq.append(sep_id)
                tgt.append(IGNORE)
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
        token_ids = tf.ragged.constant(ids, dtype=tf.int32) if ids else tf.ragged.constant([], tf.int32, 1)
        features = {"token_ids": token_ids, "segment_ids": tf.zeros_like(token_ids)}
        source = pd.DataFrame(rows)
        data = NERData(features, tf.ragged.constant(targets, dtype=tf.int32) if tags is not None else None,
                       self, source=source, pad_values={"token_ids": self.tokenizer.pad_token_id},
                       target_pad=IGNORE,
                       stats={"sentences": len(sentences), "windowed": windowed, "cut_words": cut_words})
        data.sentences = [list(s) for s in sentences]
        data.sentence_tags = None if tags is None else [list(t) for t in tags]
        return data

    # --- predictions
    def word_tags(self, outputs, data, proba=False):
        """Per-window piece logits → one tag (or probability row) per word of each sentence."""
        n_sent = len(data.sentences)
        result = [[None] * len(s) for s in data.sentences]
        for logits, (_, row) in zip(outputs, data.source.iterrows()):
            word_ids = row["word_ids"][: len(logits)]
            for p, wi in enumerate(word_ids):
                if wi >= 0 and row["own_start"] <= wi < row["own_end"]:
                    result[row["sentence"]][wi] = logits[p]
        assert n_sent == len(result)
        out = []
        for sent in result:
            if proba:
                out.append([_softmax(v) for v in sent])
            else:
                out.append([self.tags[int(np.argmax(v))] for v in sent])
        return out

    def validate(self, outputs, data, class_names=None, print_report=True):
        """Prints seqeval's entity-level report; returns the micro F1."""
        from seqeval.metrics import classification_report, f1_score

        pred = self.word_tags(outputs, data)
        true = data.sentence_tags
        if print_report:
            print(classification_report(true, pred, digits=4, zero_division=0))
        return float(f1_score(true, pred, average="micro", zero_division=0))

    def example_losses(self, outputs, targets):
        losses = []
        for logits, t in zip(outputs, targets):
            t = np.asarray(t)[: len(logits)]
            keep = t != IGNORE
            if not keep.any():
                losses.append(0.0)
                continue
            z = np.asarray(logits, dtype="float64")[keep]
            m = z.max(axis=-1, keepdims=True)
            logz = np.log(np.exp(z - m).sum(axis=-1)) + m[:, 0]
            losses.append(float((logz - z[np.arange(len(z)), t[keep]]).mean()))
        return np.asarray(losses)

    def describe(self, logits, targets):
        t = np.asarray(targets)[: len(logits)]
        keep = t != IGNORE
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
                "lowercase": bool(self.tokenizer.lowercase)}

    @classmethod
    def from_config(cls, config, vocabulary):
        import keras_hub

        tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocabulary, lowercase=config["lowercase"])
        return cls(tokenizer, config["tags"], config["maxlen"], config["stride"], config.get("preset"))

    @property
    def predictor_class(self):
        from kbert.predictors.ner import NERPredictor

        return NERPredictor


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


def _softmax(v):
    v = np.asarray(v, dtype="float64")
    z = np.exp(v - v.max())
    return (z / z.sum()).astype("float32")


@keras.saving.register_keras_serializable(package="kbert")
class MaskedAccuracy(keras.metrics.Mean):
    """Accuracy over positions whose target is not -100 (first pieces of words)."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = keras.ops.cast(y_true, "int32")
        keep = keras.ops.cast(keras.ops.not_equal(y_true, IGNORE), "float32")
        pred = keras.ops.cast(keras.ops.argmax(y_pred, axis=-1), "int32")
        correct = keras.ops.cast(keras.ops.equal(pred, y_true), "float32")
        return super().update_state(correct, sample_weight=keep)


# --------------------------------------------------------------------------- loaders


def _tag_set(tag_lists):
    tags = sorted({t for ts in tag_lists for t in ts})
    # "O" first, then entity tags grouped by type (B before I)
    return (["O"] if "O" in tags else []) + sorted((t for t in tags if t != "O"), key=lambda t: (t[2:], t[:2]))


def _check_unseen(tags, tag_lists, name):
    known = set(tags)
    bad = {}
    for i, ts in enumerate(tag_lists):
        for t in ts:
            if t not in known:
                bad.setdefault(t, []).append(i)
    if bad:
        parts = "; ".join(f"{t!r} in sentences {_rows(sorted(set(ix)), 5)}" for t, ix in bad.items())
        raise DataError(f"{name} has tags not seen in the training data: {parts}. Known tags: {tags}.")


def entities_from_array(x_train, y_train, x_test=None, y_test=None, val_pct=0.1, maxlen=128, preset="minilm",
                        stride=None, random_state=42, fixed_shapes=False, verbose=1):
    """Lists of word lists and tag lists → (train, val, preprocessor). fixed_shapes: static
    batch shapes for TPUs."""
    x_train, y_train = [list(s) for s in x_train], [list(t) for t in y_train]
    if not x_train:
        raise DataError("x_train has no sentences.")
    y_train = [iob1_to_iob2([str(t) for t in ts]) for ts in y_train]
    if x_test is None:
        from sklearn.model_selection import train_test_split

        n_val = int(np.ceil(len(x_train) * val_pct))
        if len(x_train) - n_val < 1 or n_val < 1:
            raise DataError(f"{len(x_train)} sentences: too few to hold out val_pct={val_pct}; pass validation data.")
        x_train, x_test, y_train, y_test = train_test_split(x_train, y_train, test_size=n_val,
                                                            random_state=random_state)
    else:
        x_test, y_test = [list(s) for s in x_test], [iob1_to_iob2([str(t) for t in ts]) for ts in y_test]
    tags = _tag_set(y_train)
    _check_unseen(tags, y_test, "The validation data")
    preproc = NERPreprocessor(load_tokenizer(preset), tags, maxlen, stride, preset)
    trn = preproc.encode(x_train, y_train, "train", verbose)
    val = preproc.encode(x_test, y_test, "val", verbose)
    set_fixed_shapes(fixed_shapes, trn, val)
    return trn, val, preproc


def entities_from_conll(train_filepath, val_filepath=None, word_column=0, tag_column=-1, val_pct=0.1,
                        maxlen=128, preset="minilm", stride=None, random_state=42, encoding="utf-8",
                        fixed_shapes=False, verbose=1):
    """CoNLL column files → (train, val, preprocessor). IOB1 or IOB2 tags (→ IOB2)."""
    x, y = read_conll(train_filepath, word_column, tag_column, encoding)
    xv = yv = None
    if val_filepath is not None:
        xv, yv = read_conll(val_filepath, word_column, tag_column, encoding)
    return entities_from_array(x, y, xv, yv, val_pct, maxlen, preset, stride, random_state, fixed_shapes, verbose)


def entities_from_df(train_df, word_column="Word", tag_column="Tag", sentence_column="SentenceID", val_df=None,
                     val_pct=0.1, maxlen=128, preset="minilm", stride=None, random_state=42, fixed_shapes=False,
                     verbose=1):
    """One row per word (as ktrain): words, tags and a sentence id (given on a sentence's
    first row at least; empty cells continue the sentence above)."""
    if len(train_df) == 0:
        raise DataError("train_df has no rows.")
    x, y = _sentences_from_df(train_df, word_column, tag_column, sentence_column, "train_df")
    xv = yv = None
    if val_df is not None:
        xv, yv = _sentences_from_df(val_df, word_column, tag_column, sentence_column, "val_df")
    return entities_from_array(x, y, xv, yv, val_pct, maxlen, preset, stride, random_state, fixed_shapes, verbose)


# ---------------------------------------------------------------------------- model


def sequence_tagger(preproc, dropout=0.1, precision="float32", strategy=None, encoder=None, seed=None):
    """A compiled keras.Model: BertBackbone + dropout + a dense tag head on every piece
    (logits [batch, pieces, tags]); masked softmax cross-entropy."""
    if not isinstance(preproc, NERPreprocessor):
        raise TypeError("sequence_tagger needs the preprocessor returned by entities_from_conll/df/array.")
    policy = dtype_policy(precision)
    strategy = distribute.get_strategy(strategy)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    with strategy.scope():
        backbone, _ = load_encoder(preproc.preset if encoder is None else encoder, dtype=policy)
        if preproc.maxlen > backbone.max_sequence_length:
            raise ValueError(f"maxlen={preproc.maxlen} exceeds the encoder's {backbone.max_sequence_length} positions.")
        # the [CLS] pooler is unused by a tagger: frozen, so no optimizer step asks for its gradients
        backbone.get_layer("pooled_dense").trainable = False
        inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name)
                  for name in ("token_ids", "segment_ids", "padding_mask")}
        x = backbone(inputs)["sequence_output"]
        x = keras.layers.Dropout(dropout, name="tagger_dropout")(x)
        logits = keras.layers.Dense(preproc.num_outputs, name="logits", dtype="float32",
                                    kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02))(x)
        model = keras.Model(inputs, logits, name="kbert_sequence_tagger")
        model.compile(optimizer=optimizers.AdamW(5e-5), loss=preproc.loss(), metrics=preproc.metrics())
    return model
