"""Text classification and regression: data loaders, the preprocessor, the model builder.

    trn, val, preproc = texts_from_df(train_df, "text", "label", val_df=val_df, preset="minilm")
    model = text_classifier(preproc)

Labels may be one column of strings or integers (multi-class), several 0/1 columns
(one-hot → multi-class, several 1s in a row → multi-label) or floats (regression).
"""

import csv
import math
import os

import keras
import keras_hub
import numpy as np
import pandas as pd
import tensorflow as tf

from kbert import distribute, optimizers
from kbert.data import TaskData, set_fixed_shapes
from kbert.encoders import load_encoder, load_tokenizer
from kbert.precision import dtype_policy

MULTICLASS, MULTILABEL, REGRESSION = "multiclass", "multilabel", "regression"
_TOKENIZE_BATCH = 1024


class DataError(ValueError):
    """Bad input data: the message names the column, rows or file."""


def _rows(index, limit=10):
    index = list(index)
    shown = ", ".join(str(i) for i in index[:limit])
    return f"[{shown}{', …' if len(index) > limit else ''}] ({len(index)} rows)"


# ---------------------------------------------------------------------------- labels


def _is_number(v):
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _check_column(df, column, df_name):
    if column not in df.columns:
        raise DataError(f"Column {column!r} not found in {df_name}; its columns are {list(df.columns)}.")


def _check_texts(df, column, df_name):
    _check_column(df, column, df_name)
    values = df[column]
    missing = values.isna()
    if missing.any():
        raise DataError(
            f"{df_name} column {column!r} has missing texts (NaN/None) at index {_rows(df.index[missing])}. "
            f"Fill them (df[{column!r}].fillna('')) or drop those rows."
        )
    bad = ~values.map(lambda v: isinstance(v, str))
    if bad.any():
        raise DataError(
            f"{df_name} column {column!r} must hold strings; index {_rows(df.index[bad])} hold other "
            f"types (e.g. {values[bad].iloc[0]!r}). Convert with df[{column!r}].astype(str)."
        )
    return values.tolist()


class LabelEncoder:
    """Maps label columns to targets and back. mode: multiclass, multilabel or regression."""

    def __init__(self, mode, classes=None, columns=None):
        self.mode = mode
        self.classes = None if classes is None else [_plain(c) for c in classes]
        self.columns = columns

    @classmethod
    def fit(cls, df, columns, df_name="train_df", classes=None, is_regression=False):
        columns = [columns] if isinstance(columns, str) else list(columns)
        if not columns:
            raise DataError("No label column given.")
        for c in columns:
            _check_column(df, c, df_name)
            missing = df[c].isna()
            if missing.any():
                raise DataError(f"{df_name} label column {c!r} has missing values (NaN) at index "
                                f"{_rows(df.index[missing])}.")
        if len(columns) > 1:
            return cls._fit_columns(df, columns, df_name)
        col = columns[0]
        values = df[col]
        kinds = values.map(lambda v: "string" if isinstance(v, str) else
                           "number" if _is_number(v) else "bool" if isinstance(v, (bool, np.bool_))
                           else type(v).__name__)
        if kinds.nunique() > 1:
            parts = "; ".join(f"{k}s at index {_rows(df.index[kinds == k], 5)}" for k in kinds.unique())
            raise DataError(f"{df_name} label column {col!r} mixes types: {parts}. "
                            "Use one type of label (all strings, or all numbers).")
        kind = kinds.iloc[0] if len(kinds) else "string"
        if is_regression:
            if kind != "number":
                raise DataError(f"is_regression=True but {df_name} label column {col!r} holds {kind}s.")
            return cls(REGRESSION, columns=columns)
        if kind == "number" and not np.all(np.mod(values.to_numpy(dtype=float), 1) == 0):
            return cls(REGRESSION, columns=columns)
        if classes is not None:
            classes = list(classes)
            if kind == "number" and not all(isinstance(c, (int, np.integer)) for c in classes):
                # integer labels with names: 0..k-1 index class_names (ktrain's convention)
                ints = values.astype(int)
                bad = (ints < 0) | (ints >= len(classes))
                if bad.any():
                    raise DataError(f"{df_name} label column {col!r} holds integers outside 0..{len(classes) - 1} "
                                    f"(class_names has {len(classes)} names) at index {_rows(df.index[bad])}.")
                enc = cls(MULTICLASS, classes=classes, columns=columns)
                enc.integer_labels = True
                return enc
            return cls(MULTICLASS, classes=classes, columns=columns)
        uniques = sorted(values.unique().tolist())
        if len(uniques) < 2:
            raise DataError(f"{df_name} label column {col!r} holds a single class ({uniques}); "
                            "a classifier needs at least two.")
        return cls(MULTICLASS, classes=uniques, columns=columns)

    @classmethod
    def _fit_columns(cls, df, columns, df_name):
        values = df[columns]
        ok = values.isin([0, 1, True, False]).all(axis=1)
        if not ok.all():
            raise DataError(f"{df_name} label columns {columns} must hold 0/1 values; index "
                            f"{_rows(df.index[~ok])} hold others.")
        ones = values.astype(int).sum(axis=1)
        mode = MULTICLASS if (ones == 1).all() else MULTILABEL
        return cls(mode, classes=list(columns), columns=columns)

    integer_labels = False

    def transform(self, df, df_name):
        columns = self.columns
        for c in columns:
            _check_column(df, c, df_name)
            missing = df[c].isna()
            if missing.any():
                raise DataError(f"{df_name} label column {c!r} has missing values (NaN) at index "
                                f"{_rows(df.index[missing])}.")
        if self.mode == REGRESSION:
            return df[columns[0]].to_numpy(dtype="float32").reshape(-1, 1)
        if len(columns) > 1:
            values = df[columns].astype(int).to_numpy()
            if self.mode == MULTICLASS:
                ones = values.sum(axis=1)
                if not (ones == 1).all():
                    raise DataError(f"{df_name}: rows at index {_rows(df.index[ones != 1])} do not have "
                                    f"exactly one 1 in {columns} (train_df was one-hot).")
                return values.argmax(axis=1).astype("int32")
            return values.astype("float32")
        values = df[columns[0]]
        if self.integer_labels:
            ints = values.astype(int)
            bad = (ints < 0) | (ints >= len(self.classes))
            if bad.any():
                raise DataError(f"{df_name} label column {columns[0]!r} holds integers outside "
                                f"0..{len(self.classes) - 1} at index {_rows(df.index[bad])}.")
            return ints.to_numpy(dtype="int32")
        lookup = {c: i for i, c in enumerate(self.classes)}
        codes = values.map(lambda v: lookup.get(_plain(v), -1))
        unseen = codes < 0
        if unseen.any():
            names = sorted({str(v) for v in values[unseen]})
            raise DataError(f"{df_name} label column {columns[0]!r} has labels not seen in the training "
                            f"data: {names} at index {_rows(df.index[unseen])}. Known classes: {self.classes}.")
        return codes.to_numpy(dtype="int32")

    def get_config(self):
        return {"mode": self.mode, "classes": self.classes, "columns": self.columns,
                "integer_labels": self.integer_labels}

    @classmethod
    def from_config(cls, config):
        enc = cls(config["mode"], config["classes"], config["columns"])
        enc.integer_labels = config.get("integer_labels", False)
        return enc


def _plain(v):
    """numpy scalars → Python scalars (JSON-serialisable, hashable alike)."""
    return v.item() if isinstance(v, np.generic) else v


# ----------------------------------------------------------------------- preprocessor


class TextClassificationPreprocessor:
    """Tokenizes texts (or text pairs) for a BERT classifier and knows the task's loss,
    metrics, reports and predictor."""

    task = "text_classification"

    def __init__(self, tokenizer, maxlen=128, labels=None, preset="minilm", text_column="text",
                 text_pair_column=None):
        if not isinstance(maxlen, int) or maxlen < 3:
            raise ValueError(f"maxlen must be an integer of at least 3, got {maxlen!r}.")
        self.tokenizer = tokenizer
        self.maxlen = maxlen
        self.labels = labels
        self.preset = preset
        self.text_column = text_column
        self.text_pair_column = text_pair_column
        self.packer = keras_hub.layers.MultiSegmentPacker(
            sequence_length=maxlen, start_value=tokenizer.cls_token_id,
            end_value=tokenizer.sep_token_id, pad_value=tokenizer.pad_token_id,
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
        logits = np.asarray(logits, dtype="float64")
        if self.mode == MULTICLASS:
            z = np.exp(logits - logits.max(axis=-1, keepdims=True))
            return (z / z.sum(axis=-1, keepdims=True)).astype("float32")
        if self.mode == MULTILABEL:
            return (1.0 / (1.0 + np.exp(-logits))).astype("float32")
        return logits.astype("float32")

    # --- tokenization
    def tokenize(self, texts, pairs=None):
        """Texts (and optional second texts) → ({"token_ids", "segment_ids"} ragged, truncated count)."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        if pairs is not None:
            pairs = [pairs] if isinstance(pairs, str) else list(pairs)
            if len(pairs) != len(texts):
                raise DataError(f"Got {len(texts)} texts but {len(pairs)} second texts.")
        inputs = (texts,) if pairs is None else (texts, pairs)
        ds = tf.data.Dataset.from_tensor_slices(tuple(tf.constant(x, dtype=tf.string) for x in inputs))
        ds = ds.batch(_TOKENIZE_BATCH).map(self._tokenize_batch)
        ids, segs, raw = [], [], []
        for i, s, r in ds:
            lengths = tf.minimum(r, self.maxlen)
            ids.append(tf.RaggedTensor.from_tensor(i, lengths=lengths))
            segs.append(tf.RaggedTensor.from_tensor(s, lengths=lengths))
            raw.append(r.numpy())
        if not ids:
            empty = tf.ragged.constant([], dtype=tf.int32, ragged_rank=1)
            return {"token_ids": empty, "segment_ids": empty}, 0
        raw = np.concatenate(raw)
        features = {"token_ids": tf.concat(ids, axis=0), "segment_ids": tf.concat(segs, axis=0)}
        return features, int((raw > self.maxlen).sum())

    def _tokenize_batch(self, *segments):
        pieces = tuple(self.tokenizer(s) for s in segments)
        raw = tf.add_n([p.row_lengths() for p in pieces]) + len(pieces) + 1
        ids, segs = self.packer(pieces)
        return tf.cast(ids, tf.int32), tf.cast(segs, tf.int32), tf.cast(raw, tf.int32)

    def transform(self, texts, pairs=None, targets=None, source=None, name="data", verbose=1):
        """Texts → TaskData (targets optional). Reports how many texts were truncated."""
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
        pad = {"token_ids": self.tokenizer.pad_token_id}
        return TaskData(features, targets, self, source=source, pad_values=pad, stats=stats)

    def preprocess_df(self, df, df_name="df", with_labels=True, verbose=1):
        texts = _check_texts(df, self.text_column, df_name)
        pairs = None if self.text_pair_column is None else _check_texts(df, self.text_pair_column, df_name)
        targets = self.labels.transform(df, df_name) if with_labels else None
        return self.transform(texts, pairs, targets, source=df, name=df_name, verbose=verbose)

    # --- reports
    def validate(self, logits, data, class_names=None, print_report=True):
        """Prints sklearn's classification report; returns the confusion matrix
        (multi-label: one 2×2 matrix per class; regression: a dict of errors)."""
        from sklearn import metrics as skm

        probs = self.postprocess(logits)
        y = np.asarray(data.targets)
        names = [str(c) for c in (class_names if class_names is not None else self.get_classes())]
        if self.mode == REGRESSION:
            pred, y = probs.reshape(-1), y.reshape(-1)
            result = {"mae": float(skm.mean_absolute_error(y, pred)),
                      "mse": float(skm.mean_squared_error(y, pred)), "r2": float(skm.r2_score(y, pred))}
            if print_report:
                print("  ".join(f"{k}: {v:.4f}" for k, v in result.items()))
            return result
        if names and len(names) != self.num_outputs:
            raise ValueError(f"class_names has {len(names)} names but the model has {self.num_outputs} classes.")
        if self.mode == MULTILABEL:
            pred = (probs >= 0.5).astype(int)
            if print_report:
                print(skm.classification_report(y.astype(int), pred, target_names=names, zero_division=0))
            return skm.multilabel_confusion_matrix(y.astype(int), pred)
        pred = probs.argmax(axis=-1)
        labels = list(range(self.num_outputs))
        if print_report:
            print(skm.classification_report(y, pred, labels=labels, target_names=names, zero_division=0))
        return skm.confusion_matrix(y, pred, labels=labels)

    def example_losses(self, logits, targets):
        """Per-example loss, the same formula as the training loss."""
        logits = np.asarray(logits, dtype="float64")
        y = np.asarray(targets)
        if self.mode == MULTICLASS:
            m = logits.max(axis=-1, keepdims=True)
            logz = np.log(np.exp(logits - m).sum(axis=-1)) + m[:, 0]
            return logz - logits[np.arange(len(y)), y.astype(int)]
        if self.mode == MULTILABEL:
            bce = np.maximum(logits, 0) - logits * y + np.log1p(np.exp(-np.abs(logits)))
            return bce.mean(axis=-1)
        return ((logits - y) ** 2).mean(axis=-1)

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
                text = f"{text}  [SEP]  {data.source[self.text_pair_column].iloc[row]}"
            return text
        ids = data.features["token_ids"][row].numpy()
        return self.tokenizer.detokenize(ids)

    # --- saving
    def get_config(self):
        return {"maxlen": self.maxlen, "labels": self.labels.get_config(),
                "preset": self.preset if isinstance(self.preset, str) else None,
                "text_column": self.text_column, "text_pair_column": self.text_pair_column,
                "lowercase": bool(self.tokenizer.lowercase)}

    @classmethod
    def from_config(cls, config, vocabulary):
        tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocabulary, lowercase=config["lowercase"])
        return TextClassificationPreprocessor(
            tokenizer, maxlen=config["maxlen"], labels=LabelEncoder.from_config(config["labels"]),
            preset=config.get("preset"), text_column=config.get("text_column", "text"),
            text_pair_column=config.get("text_pair_column"),
        )

    @property
    def predictor_class(self):
        from kbert.predictors.classification import TextClassificationPredictor

        return TextClassificationPredictor


# -------------------------------------------------------------------------- loaders


def _split(df, val_pct, random_state, stratify_on=None):
    from sklearn.model_selection import train_test_split

    n = len(df)
    if not 0 < val_pct < 1:
        raise DataError(f"val_pct must be between 0 and 1 (exclusive), got {val_pct}.")
    n_val = math.ceil(n * val_pct)
    if n < 2 or n - n_val < 1:
        raise DataError(f"train_df has {n} rows: too few to hold out val_pct={val_pct} for validation "
                        f"({n_val} rows) and still train. Pass val_df or use more rows.")
    stratify = None
    if stratify_on is not None:
        counts = pd.Series(stratify_on).value_counts()
        if counts.min() >= 2 and n_val >= len(counts) and n - n_val >= len(counts):
            stratify = stratify_on
    return train_test_split(df, test_size=n_val, random_state=random_state, stratify=stratify)


def texts_from_df(train_df, text_column, label_columns=None, val_df=None, val_pct=0.1, maxlen=128,
                  preset="minilm", text_pair_column=None, is_regression=False, random_state=42,
                  class_names=None, fixed_shapes=False, verbose=1):
    """DataFrames → (train TaskData, val TaskData, preprocessor), as ktrain's texts_from_df.

    label_columns: one column (strings or integers: classes; floats: regression) or a
    list of 0/1 columns (one-hot or multi-label). None: the one column that is not a
    text column. class_names: names for integer labels 0..k-1. fixed_shapes: static
    batch shapes for TPUs (widths from a few buckets, no partial training batch).
    """
    if not isinstance(train_df, pd.DataFrame):
        raise TypeError(f"train_df must be a pandas DataFrame, got {type(train_df).__name__}.")
    if len(train_df) == 0:
        raise DataError("train_df has no rows.")
    if val_df is not None and len(val_df) == 0:
        raise DataError("val_df has no rows.")
    _check_column(train_df, text_column, "train_df")
    if text_pair_column is not None:
        _check_column(train_df, text_pair_column, "train_df")
    if label_columns is None:
        others = [c for c in train_df.columns if c not in (text_column, text_pair_column)]
        if len(others) != 1:
            raise DataError(f"label_columns not given and train_df has {len(others)} other columns "
                            f"({others}); name the label column(s).")
        label_columns = others[0]
    labels = LabelEncoder.fit(train_df, label_columns, "train_df", classes=class_names,
                              is_regression=is_regression)
    tokenizer = load_tokenizer(preset)
    preproc = TextClassificationPreprocessor(tokenizer, maxlen, labels, preset, text_column, text_pair_column)
    # check the whole of train_df before splitting, so errors name its rows
    targets = labels.transform(train_df, "train_df")
    _check_texts(train_df, text_column, "train_df")
    if text_pair_column is not None:
        _check_texts(train_df, text_pair_column, "train_df")
    if val_df is None:
        strat = targets if labels.mode == MULTICLASS else None
        train_df, val_df = _split(train_df, val_pct, random_state, strat)
    trn = preproc.preprocess_df(train_df, "train_df", verbose=verbose)
    val = preproc.preprocess_df(val_df, "val_df", verbose=verbose)
    set_fixed_shapes(fixed_shapes, trn, val)
    return trn, val, preproc


def _read_table(path, sep=None, encoding="utf-8"):
    if not os.path.exists(path):
        raise FileNotFoundError(f"File {path!r} does not exist.")
    if sep is None:
        with open(path, encoding=encoding, newline="") as f:
            head = f.read(64 * 1024)
        try:
            sep = csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
        except csv.Error:
            sep = ","
    try:
        return pd.read_csv(path, sep=sep, encoding=encoding)
    except Exception as e:
        raise DataError(f"Could not read {path!r} as a table with separator {sep!r}: {e}") from e


def texts_from_csv(train_filepath, text_column, label_columns=None, val_filepath=None, sep=None,
                   encoding="utf-8", **kwargs):
    """CSV (or ;/tab-separated) files → (train, val, preprocessor); separator sniffed unless given."""
    train_df = _read_table(train_filepath, sep, encoding)
    val_df = None if val_filepath is None else _read_table(val_filepath, sep, encoding)
    return texts_from_df(train_df, text_column, label_columns, val_df=val_df, **kwargs)


def _array_frame(x, y, class_names, name):
    x = [x] if isinstance(x, str) else list(x)
    if len(x) == 0:
        raise DataError(f"{name} has no texts.")
    if y is None:
        raise DataError(f"y for {name} is missing.")
    y = np.asarray(y) if not isinstance(y, pd.Series) else y.to_numpy()
    if len(y) != len(x):
        raise DataError(f"{name} has {len(x)} texts but {len(y)} labels.")
    df = pd.DataFrame({"text": pd.Series(x, dtype=object)})
    if y.ndim == 2:
        names = list(class_names) if class_names is not None else [str(i) for i in range(y.shape[1])]
        if len(names) != y.shape[1]:
            raise DataError(f"class_names has {len(names)} names but y has {y.shape[1]} columns.")
        for i, c in enumerate(names):
            df[c] = y[:, i]
        return df, names
    df["label"] = pd.Series(list(y), dtype=object).map(_plain)
    return df, "label"


def texts_from_array(x_train, y_train, x_test=None, y_test=None, class_names=None, maxlen=128,
                     preset="minilm", val_pct=0.1, random_state=42, is_regression=False, fixed_shapes=False,
                     verbose=1):
    """Lists of texts and labels → (train, val, preprocessor), as ktrain's texts_from_array.

    y: strings, integers (0..k-1 with class_names), floats (regression) or a 2-D 0/1 array.
    """
    train_df, label_columns = _array_frame(x_train, y_train, class_names, "x_train")
    val_df = None
    if x_test is not None:
        val_df, _ = _array_frame(x_test, y_test, class_names, "x_test")
    names = None if isinstance(label_columns, list) else class_names
    return texts_from_df(train_df, "text", label_columns, val_df=val_df, val_pct=val_pct, maxlen=maxlen,
                         preset=preset, is_regression=is_regression, random_state=random_state,
                         class_names=names, fixed_shapes=fixed_shapes, verbose=verbose)


# ---------------------------------------------------------------------------- model


def text_classifier(preproc, dropout=0.1, precision="float32", strategy=None, encoder=None, seed=None):
    """A compiled `keras.Model`: BertBackbone + dropout + dense head on the [CLS] pooled output.

    Outputs logits; the loss is softmax cross-entropy (multi-class), sigmoid binary
    cross-entropy (multi-label) or mean squared error (regression).
    precision: "float32", "mixed_bfloat16", "mixed_float16" or "auto" (see kbert.precision).
    encoder: a load_encoder spec; defaults to the preset the data was tokenized for.
    seed: seeds the head's (and a fresh encoder's) initial weights.
    """
    if not isinstance(preproc, TextClassificationPreprocessor):
        raise TypeError("text_classifier needs the preprocessor returned by texts_from_df / texts_from_array.")
    policy = dtype_policy(precision)
    spec = preproc.preset if encoder is None else encoder
    if spec is None:
        raise ValueError("The preprocessor has no encoder preset; pass encoder=…")
    strategy = distribute.get_strategy(strategy)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    with strategy.scope():
        backbone, _ = load_encoder(spec, dtype=policy)
        if preproc.maxlen > backbone.max_sequence_length:
            raise ValueError(f"maxlen={preproc.maxlen} exceeds the encoder's {backbone.max_sequence_length} positions.")
        if backbone.vocabulary_size < preproc.tokenizer.vocabulary_size():
            raise ValueError(f"The tokenizer has {preproc.tokenizer.vocabulary_size()} pieces but the encoder "
                             f"embeds only {backbone.vocabulary_size}.")
        model = build_classifier(backbone, preproc.num_outputs, dropout)
        model.compile(optimizer=optimizers.AdamW(2e-5), loss=preproc.loss(), metrics=preproc.metrics())
    return model


def build_classifier(backbone, num_outputs, dropout=0.1):
    inputs = {
        name: keras.Input(shape=(None,), dtype="int32", name=name)
        for name in ("token_ids", "segment_ids", "padding_mask")
    }
    pooled = backbone(inputs)["pooled_output"]
    x = keras.layers.Dropout(dropout, name="classifier_dropout")(pooled)
    # logits in float32 under mixed precision (a stable softmax / loss)
    logits = keras.layers.Dense(
        num_outputs, kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        name="logits", dtype="float32",
    )(x)
    return keras.Model(inputs, logits, name="kbert_text_classifier")


# ----------------------------------------------------------------- ktrain Transformer


class Transformer(TextClassificationPreprocessor):
    """ktrain's `text.Transformer` API:

        t = Transformer("minilm", maxlen=128, class_names=["neg", "pos"])
        trn = t.preprocess_train(x_train, y_train); val = t.preprocess_test(x_val, y_val)
        model = t.get_classifier()
    """

    def __init__(self, model_name="minilm", maxlen=128, class_names=None, classes=None, batch_size=None,
                 multilabel=None, use_with_learner=True, precision="float32", fixed_shapes=False):
        if class_names is not None and classes is not None and list(class_names) != list(classes):
            raise ValueError("Give class_names or classes, not two different lists.")
        names = class_names if class_names is not None else classes
        super().__init__(load_tokenizer(model_name), maxlen, None, model_name)
        self.class_names = None if names is None else list(names)
        self.batch_size = batch_size
        self.multilabel = multilabel
        self.precision = precision
        self.fixed_shapes = fixed_shapes

    def _frame(self, texts, y, name):
        df, columns = _array_frame(texts, y, self.class_names if np.ndim(y) == 2 else None, name)
        return df, columns

    def preprocess_train(self, texts, y=None, mode="train", verbose=1):
        df, columns = self._frame(texts, y, "training texts")
        if self.labels is None:
            names = None if isinstance(columns, list) else self.class_names
            self.labels = LabelEncoder.fit(df, columns, "training labels", classes=names)
            if self.multilabel is False and self.labels.mode == MULTILABEL:
                raise DataError("multilabel=False but some training rows have several labels.")
        targets = self.labels.transform(df, "training labels")
        data = self.transform(df["text"].tolist(), None, targets, source=df, name="train", verbose=verbose)
        return set_fixed_shapes(self.fixed_shapes, data)[0]

    def preprocess_test(self, texts, y=None, mode="test", verbose=1):
        if self.labels is None:
            raise RuntimeError("Call preprocess_train first: it learns the classes.")
        if y is None:
            texts = [texts] if isinstance(texts, str) else list(texts)
            df = pd.DataFrame({"text": texts})
            data = self.transform(texts, None, None, source=df, name="test", verbose=verbose)
        else:
            df, _ = self._frame(texts, y, "test texts")
            targets = self.labels.transform(df, "test labels")
            data = self.transform(df["text"].tolist(), None, targets, source=df, name="test", verbose=verbose)
        return set_fixed_shapes(self.fixed_shapes, data)[0]

    def get_classifier(self, dropout=0.1, precision=None, strategy=None):
        if self.labels is None:
            raise RuntimeError("Call preprocess_train first: the classifier's size depends on the classes.")
        return text_classifier(self, dropout=dropout, precision=precision or self.precision, strategy=strategy)

    def get_regression_model(self, dropout=0.1, precision=None, strategy=None):
        if self.labels is None or self.labels.mode != REGRESSION:
            raise RuntimeError("Call preprocess_train with numeric targets first.")
        return self.get_classifier(dropout, precision, strategy)

    def get_classes(self):
        if self.labels is None:
            return list(self.class_names or [])
        return super().get_classes()
