"""The text classification preprocessor: tokenizes texts (or pairs) into TaskData and
knows the loss, metrics and reports of classification, multi-label and regression."""

import keras
import keras_hub
import numpy as np
import tensorflow as tf

from kbert import metrics as M
from kbert.data import TaskData
from kbert.errors import DataError, format_rows
from kbert.families import family_of, special_ids
from kbert.tasks import TaskPreprocessor
from kbert.text.classification.labels import MULTICLASS, MULTILABEL, REGRESSION, LabelEncoder, check_columns
from kbert.text.classification.windows import (
    DEFAULT_MAX_WINDOWS,
    WindowBatches,
    check_options,
    merge_windows,
    split_windows,
    window_stats,
)

TOKENIZE_BATCH = 1024
EAGER_ROWS = TOKENIZE_BATCH  # up to this many texts are tokenized eagerly (no graph to trace)
PAIRS_IN_WINDOWS = ("long_document='windows' reads single texts, not text pairs; use long_document='truncate' "
                    "for pairs (both texts packed into one window of maxlen pieces).")


def check_texts(df, column, df_name):
    check_columns(df, column, df_name)
    values = df[column]
    missing = values.isna()
    if missing.any():
        raise DataError(
            f"{df_name} column {column!r} has missing texts (NaN/None) at index {format_rows(df.index[missing])}. "
            f"Fill them (df[{column!r}].fillna('')) or drop those rows."
        )
    bad = ~values.map(lambda v: isinstance(v, str))
    if bad.any():
        raise DataError(
            f"{df_name} column {column!r} must hold strings; index {format_rows(df.index[bad])} hold other "
            f"types (e.g. {values[bad].iloc[0]!r}). Convert with df[{column!r}].astype(str)."
        )
    return values.tolist()


def _ragged(pieces):
    if isinstance(pieces, tf.RaggedTensor):
        return pieces
    return tf.ragged.constant(pieces, dtype=tf.int32, ragged_rank=1, inner_shape=())


def _text(value):
    value = value.numpy() if hasattr(value, "numpy") else value
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


class TextData(TaskData):
    """TaskData of texts that also unpacks as ktrain's BERT-mode `(x, y)` tuple:
    `(x_train, y_train), (x_test, y_test), preproc = texts_from_array(...)` gives
    x_train = the TaskData itself (features, rows and targets) and y_train = its targets
    (class ids, multi-hot rows or values). Pass `x_train` (or the pair) on to the Learner.
    """

    def __iter__(self):
        return iter((self, self.targets))


class DocumentData(WindowBatches, TextData):
    """TextData of long documents read in windows: features [texts, (windows), (pieces)]."""


class TextClassificationPreprocessor(TaskPreprocessor):
    """Tokenizes texts (or text pairs) for a classifier or regressor, and knows the task's
    loss, metrics and reports.

    Args:
        tokenizer: a keras-hub tokenizer of any family (`kbert.encoders.load_tokenizer`).
        maxlen: word pieces per text (pair), the special pieces included; longer texts are
            truncated, counted and reported. A pair is packed in the family's own form:
            `[CLS] a [SEP] b [SEP]` (BERT, ALBERT, ELECTRA, DistilBERT, DeBERTa-v3) or
            `<s> a </s></s> b </s>` (RoBERTa, XLM-RoBERTa).
        labels: a `LabelEncoder` (None until ktrain's `Transformer.preprocess_train`).
        preset: the encoder spec the texts are tokenized for.
        text_column, text_pair_column: the DataFrame columns of texts (and second texts).
        long_document: "truncate" (texts longer than maxlen are cut, as ktrain does) or
            "windows" (read in overlapping windows of maxlen pieces, pooled into one
            prediction per text by the document model; single texts only).
        stride: pieces shared by consecutive windows (default maxlen // 4).
        max_windows: the most windows read per text (its first ones; None: all); texts
            cut by the cap are counted and reported.
        pooling: how the document model pools its windows' vectors: "mean", "max" or
            "attention" (learned weights over the windows).

    Example:
    >>> # trn, val, preproc = kbert.text.texts_from_df(df, "text", "label")
    >>> # preproc.transform(["I feel great"]) → TaskData of one row
    """

    task = "text_classification"

    def __init__(self, tokenizer, maxlen=128, labels=None, preset="minilm", text_column="text",
                 text_pair_column=None, long_document="truncate", stride=None, max_windows=DEFAULT_MAX_WINDOWS,
                 pooling="mean"):
        if not isinstance(maxlen, int) or maxlen < 3:
            raise ValueError(f"maxlen must be an integer of at least 3, got {maxlen!r}.")
        self.stride = check_options(long_document, maxlen, stride, max_windows, pooling)
        self.long_document = long_document
        self.max_windows = None if max_windows is None else int(max_windows)
        self.pooling = pooling
        if long_document == "windows" and text_pair_column is not None:
            raise DataError(PAIRS_IN_WINDOWS)
        self.tokenizer = tokenizer
        self.maxlen = maxlen
        self.labels = labels
        self.preset = preset
        self.text_column = text_column
        self.text_pair_column = text_pair_column
        self.special = special_ids(tokenizer)
        self.separators = family_of(tokenizer).pair_separators
        self.packer = keras_hub.layers.MultiSegmentPacker(
            sequence_length=maxlen, start_value=self.special["start"], end_value=self.special["end"],
            sep_value=[self.special["end"]] * self.separators, pad_value=self.special["pad"],
            truncate="round_robin",
        )

    # --- labels and task
    @property
    def mode(self):
        return self.labels.mode

    def get_classes(self):
        return [] if self.labels.mode == REGRESSION else list(self.labels.classes)

    @property
    def num_outputs(self):
        return 1 if self.mode == REGRESSION else len(self.labels.classes)

    def loss(self):
        if self.mode == MULTICLASS:
            return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        if self.mode == MULTILABEL:
            return keras.losses.BinaryCrossentropy(from_logits=True)
        return keras.losses.MeanSquaredError()

    def metrics(self):
        if self.mode == MULTICLASS:
            return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        if self.mode == MULTILABEL:
            return [keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)]  # on logits
        return [keras.metrics.MeanAbsoluteError(name="mae")]

    def postprocess(self, logits):
        """Model outputs (logits) → probabilities (or values for regression)."""
        if self.mode == MULTICLASS:
            return M.softmax(logits)
        if self.mode == MULTILABEL:
            return M.sigmoid(logits)
        return np.asarray(logits, dtype="float32")

    # --- tokenization
    def tokenize(self, texts, pairs=None):
        """Texts (and optional second texts) → ({"token_ids", "segment_ids"} ragged, truncated count)."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        if pairs is not None:
            pairs = [pairs] if isinstance(pairs, str) else list(pairs)
            if len(pairs) != len(texts):
                raise DataError(f"Got {len(texts)} texts but {len(pairs)} second texts.")
        inputs = (texts,) if pairs is None else (texts, pairs)
        # a few texts (a predictor's call) run eagerly; more run through one traced graph per
        # preprocessor, reused by later calls (tracing a byte-level BPE tokenizer takes seconds)
        tokenize = self._tokenize_batch if len(texts) <= EAGER_ROWS else self._traced(len(inputs))
        ids, segs, lens, raw = [], [], [], []
        for start in range(0, len(texts), TOKENIZE_BATCH):
            batch = tuple(tf.constant(x[start:start + TOKENIZE_BATCH], dtype=tf.string) for x in inputs)
            i, s, r = (np.asarray(t) for t in tokenize(*batch))
            # ragged rows cut in NumPy: eager RaggedTensor.from_tensor / tf.concat cost most of a
            # single predictor call's tokenization
            lengths = np.minimum(r, self.maxlen)
            keep = np.arange(i.shape[1])[None, :] < lengths[:, None]
            ids.append(i[keep])
            segs.append(s[keep])
            lens.append(lengths)
            raw.append(r)
        if not ids:
            empty = tf.ragged.constant([], dtype=tf.int32, ragged_rank=1)
            return {"token_ids": empty, "segment_ids": empty}, 0
        lengths, raw = np.concatenate(lens), np.concatenate(raw)
        features = {name: tf.RaggedTensor.from_row_lengths(np.concatenate(v), lengths, validate=False)
                    for name, v in (("token_ids", ids), ("segment_ids", segs))}
        return features, int((raw > self.maxlen).sum())

    def _traced(self, segments):
        traced = self.__dict__.setdefault("_traced_tokenize", {})
        if segments not in traced:
            signature = [tf.TensorSpec([None], tf.string)] * segments
            traced[segments] = tf.function(self._tokenize_batch, input_signature=signature)
        return traced[segments]

    def _tokenize_batch(self, *segments):
        # keras-hub hands eager results back as lists of lists
        pieces = tuple(_ragged(self.tokenizer(s)) for s in segments)
        # the packed length before truncation: start + pieces + separators between texts + end
        raw = tf.add_n([p.row_lengths() for p in pieces]) + 2 + (len(pieces) - 1) * self.separators
        ids, segs = self.packer(pieces)
        return tf.cast(ids, tf.int32), tf.cast(segs, tf.int32), tf.cast(raw, tf.int32)

    @property
    def windows(self):
        return self.long_document == "windows"

    def _pieces_batch(self, texts):
        return tf.cast(_ragged(self.tokenizer(texts)), tf.int32)

    def tokenize_windows(self, texts):
        """Texts → ({"token_ids", "segment_ids"} ragged [texts, (windows), (pieces)], stats)."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        pieces = self._pieces_batch
        if len(texts) > EAGER_ROWS:
            traced = self.__dict__.setdefault("_traced_tokenize", {})
            if "pieces" not in traced:
                traced["pieces"] = tf.function(self._pieces_batch, input_signature=[tf.TensorSpec([None], tf.string)])
            pieces = traced["pieces"]
        rows = []
        for start in range(0, len(texts), TOKENIZE_BATCH):
            rows.extend(pieces(tf.constant(texts[start:start + TOKENIZE_BATCH], dtype=tf.string)).to_list())
        ids, per_text, lengths, full = split_windows(rows, self.maxlen, self.stride, self.max_windows,
                                                     self.special["start"], self.special["end"])
        token_ids = tf.RaggedTensor.from_nested_row_lengths(tf.constant(ids, tf.int32), [per_text, lengths])
        features = {"token_ids": token_ids, "segment_ids": token_ids.with_flat_values(tf.zeros_like(token_ids.flat_values))}
        stats = window_stats(per_text, full)
        stats["pieces"] = np.array([len(r) + 2 for r in rows], np.int64)
        return features, stats

    def _transform_windows(self, texts, pairs, targets, source, name, verbose):
        if pairs is not None:
            raise DataError(PAIRS_IN_WINDOWS)
        features, w = self.tokenize_windows(texts)
        lengths = w.pop("pieces")
        stats = {"rows": len(lengths), "truncated": w["capped"], **w}
        if len(lengths):
            stats.update(mean_pieces=float(lengths.mean()), max_pieces=int(lengths.max()),
                         p95_pieces=float(np.percentile(lengths, 95)))
        if verbose:
            msg = f"kbert: {name}: {stats['rows']} texts"
            if len(lengths):
                msg += (f", word pieces per text: mean {stats['mean_pieces']:.1f}, 95th pct {stats['p95_pieces']:.0f}, "
                        f"max {stats['max_pieces']}; windows per text: min {w['windows_min']}, mean "
                        f"{w['windows_mean']:.1f}, max {w['windows_max']} ({w['windowed']} texts longer than "
                        f"maxlen={self.maxlen} read in windows, stride {self.stride})")
            print(msg)
        if w["capped"]:
            print(f"kbert: {name}: {w['capped']} of {len(lengths)} texts need more than max_windows={self.max_windows} "
                  f"windows; only their first {self.max_windows} are read ({w['windows_dropped']} windows left out). "
                  "Raise max_windows (or maxlen) to read them whole.")
        pad = {"token_ids": self.special["pad"]}
        return DocumentData(features, targets, self, source=source, pad_values=pad, stats=stats)

    def transform(self, texts, pairs=None, targets=None, source=None, name="data", verbose=1):
        """Texts → TaskData (targets optional). Reports how many texts were truncated; with
        long_document="windows", the windows per text (and the texts cut by max_windows)."""
        if self.windows:
            return self._transform_windows(texts, pairs, targets, source, name, verbose)
        features, truncated = self.tokenize(texts, pairs)
        lengths = features["token_ids"].row_lengths().numpy()
        stats = {"rows": len(lengths), "truncated": truncated}
        if len(lengths):
            stats.update(mean_pieces=float(lengths.mean()), max_pieces=int(lengths.max()),
                         p95_pieces=float(np.percentile(lengths, 95)))
        if verbose:
            msg = f"kbert: {name}: {stats['rows']} texts"
            if len(lengths):
                msg += (f", word pieces per text: mean {stats['mean_pieces']:.1f}, "
                        f"95th pct {stats['p95_pieces']:.0f}, max {stats['max_pieces']}")
            print(msg)
        if truncated:
            print(f"kbert: {name}: {truncated} of {len(lengths)} texts ({100 * truncated / len(lengths):.1f}%) "
                  f"are longer than maxlen={self.maxlen} word pieces and were truncated.")
        pad = {"token_ids": self.special["pad"]}
        return TextData(features, targets, self, source=source, pad_values=pad, stats=stats)

    def preprocess_df(self, df, df_name="df", with_labels=True, verbose=1):
        texts = check_texts(df, self.text_column, df_name)
        pairs = None if self.text_pair_column is None else check_texts(df, self.text_pair_column, df_name)
        targets = self.labels.transform(df, df_name) if with_labels else None
        return self.transform(texts, pairs, targets, source=df, name=df_name, verbose=verbose)

    # --- reports
    def report(self, logits, data, class_names=None, print_report=True):
        """Prints sklearn's classification report and returns what ktrain's validate returns:
        the confusion matrix (rows: true classes); for regression `[("mae", …), ("mse", …)]`
        (also printed, with R²); for multi-label None (a confusion matrix does not apply;
        sklearn's per-label report is printed)."""
        from sklearn import metrics as skm

        probs = self.postprocess(logits)
        y = np.asarray(data.targets)
        names = [str(c) for c in (class_names if class_names is not None else self.get_classes())]
        if self.mode == REGRESSION:
            pred, y = probs.reshape(-1), y.reshape(-1)
            result = [("mae", float(skm.mean_absolute_error(y, pred))), ("mse", float(skm.mean_squared_error(y, pred)))]
            if print_report:
                print("  ".join(f"{k}: {v:.4f}" for k, v in result) + f"  r2: {skm.r2_score(y, pred):.4f}")
            return result
        if names and len(names) != self.num_outputs:
            raise ValueError(f"class_names has {len(names)} names but the model has {self.num_outputs} classes.")
        if self.mode == MULTILABEL:
            pred = (probs >= 0.5).astype(int)
            if print_report:
                print(skm.classification_report(y.astype(int), pred, target_names=names, zero_division=0))
            return None
        pred = probs.argmax(axis=-1)
        labels = list(range(self.num_outputs))
        if print_report:
            print(skm.classification_report(y, pred, labels=labels, target_names=names, zero_division=0))
        return skm.confusion_matrix(y, pred, labels=labels)

    def example_losses(self, logits, targets):
        """Per-example loss, the same formula as the training loss."""
        if self.mode == MULTICLASS:
            return M.softmax_cross_entropy(logits, targets)
        if self.mode == MULTILABEL:
            return M.sigmoid_cross_entropy(logits, targets)
        return M.squared_error(logits, targets)

    def describe(self, logits, targets):
        """(truth, prediction) in label terms for one example."""
        probs = self.postprocess(np.asarray(logits)[None])[0]
        classes = self.get_classes()
        if self.mode == MULTICLASS:
            return classes[int(targets)], classes[int(probs.argmax())]
        if self.mode == MULTILABEL:
            return ([c for c, t in zip(classes, targets) if t >= 0.5],
                    [c for c, p in zip(classes, probs) if p >= 0.5])
        return float(np.asarray(targets).reshape(-1)[0]), float(probs.reshape(-1)[0])

    def source_text(self, data, row):
        if data.source is not None and self.text_column in data.source.columns:
            text = data.source[self.text_column].iloc[row]
            if self.text_pair_column and self.text_pair_column in data.source.columns:
                text = f"{text}  {self.separator_text()}  {data.source[self.text_pair_column].iloc[row]}"
            return text
        if self.windows:
            # each window is [start] pieces [end]; the windows' shared pieces are read once
            pieces = merge_windows([w[1:-1] for w in data.features["token_ids"][row].to_list()], self.stride)
            return self.decode(pieces)
        return self.decode(data.features["token_ids"][row].numpy())

    def separator_text(self):
        """The family's separator piece(s) as text: "[SEP]", "</s></s>", …."""
        return self.tokenizer.id_to_token(self.special["end"]) * self.separators

    def decode(self, ids):
        """Packed token ids → the text(s) they stand for, specials left out (the texts of a
        pair joined by the family's separator)."""
        ids = [int(i) for i in np.asarray(ids).reshape(-1)]
        texts, current = [], []
        for i in ids:
            if i == self.special["end"]:
                if current:
                    texts.append(current)
                current = []
            elif i not in (self.special["start"], self.special["pad"]):
                current.append(i)
        if current:  # truncated before its end piece
            texts.append(current)
        return f"  {self.separator_text()}  ".join(_text(self.tokenizer.detokenize(t)) for t in texts)

    # --- saving
    def get_config(self):
        return {"maxlen": self.maxlen, "labels": self.labels.get_config(),
                "preset": self.preset if isinstance(self.preset, str) else None,
                "text_column": self.text_column, "text_pair_column": self.text_pair_column,
                "lowercase": bool(getattr(self.tokenizer, "lowercase", False)),
                "long_document": self.long_document, "stride": self.stride, "max_windows": self.max_windows,
                "pooling": self.pooling}

    @classmethod
    def from_config(cls, config, tokenizer):
        return TextClassificationPreprocessor(
            tokenizer, maxlen=config["maxlen"], labels=LabelEncoder.from_config(config["labels"]),
            preset=config.get("preset"), text_column=config.get("text_column", "text"),
            text_pair_column=config.get("text_pair_column"),
            long_document=config.get("long_document", "truncate"), stride=config.get("stride"),
            max_windows=config.get("max_windows", DEFAULT_MAX_WINDOWS), pooling=config.get("pooling", "mean"),
        )
