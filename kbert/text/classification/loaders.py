"""Text classification loaders, as ktrain's: texts_from_df, texts_from_csv, texts_from_array
(and texts_from_folder in kbert.text.classification.folders).

    trn, val, preproc = texts_from_df(train_df, "text", "label", val_df=val_df, preset="minilm")

ktrain's arguments are accepted: `preprocess_mode` picks the encoder when no `preset` is
given; `max_features`, `ngram_range` and `lang` size ktrain's word-id vocabulary, which a
pretrained encoder does not have, so they are noted and ignored.
"""

import math

import numpy as np
import pandas as pd

from kbert import io
from kbert.data import set_fixed_shapes
from kbert.encoders import load_tokenizer
from kbert.errors import DataError, format_rows
from kbert.text.classification.labels import MULTICLASS, MULTILABEL, LabelEncoder, plain
from kbert.text.classification.preprocessor import TextClassificationPreprocessor, check_texts
from kbert.text.classification.windows import DEFAULT_MAX_WINDOWS

DEFAULT_PRESET = "minilm"
# ktrain's preprocess_mode → encoder: "bert" is kbert's default BERT; "distilbert" is
# keras-hub's preset name (a download: offline it fails with EncoderNotAvailable)
PREPROCESS_MODES = {"bert": DEFAULT_PRESET, "distilbert": "distil_bert_base_en_uncased"}
KTRAIN_ONLY = {
    "max_features": "sizes ktrain's word-id vocabulary",
    "ngram_range": "adds ktrain's n-gram ids",
    "lang": "picks ktrain's word tokenizer (WordPiece needs no language: it splits CJK characters itself)",
    "use_char": "adds ktrain's character embeddings",
}


def encoder_for(preprocess_mode, preset):
    """The encoder spec: `preset` if given, else ktrain's `preprocess_mode` mapped (see
    PREPROCESS_MODES), else "minilm"."""
    if preprocess_mode is not None and preprocess_mode not in PREPROCESS_MODES:
        hint = (" ktrain's 'standard' mode feeds word ids to fasttext/nbsvm/GRU models, which kbert does not "
                "have; kbert fine-tunes a pretrained encoder:" if preprocess_mode == "standard" else "")
        raise ValueError(f"preprocess_mode={preprocess_mode!r} is not one of {sorted(PREPROCESS_MODES)}.{hint} "
                         "use preprocess_mode='bert' (or leave it out), or preset=<an encoder>.")
    if preset is not None:
        if preprocess_mode is not None and PREPROCESS_MODES[preprocess_mode] != preset:
            print(f"kbert: preset={preset!r} is used; preprocess_mode={preprocess_mode!r} only picks an encoder "
                  "when no preset is given.")
        return preset
    return PREPROCESS_MODES.get(preprocess_mode, DEFAULT_PRESET)


def note_unused(**given):
    """One printed note naming ktrain arguments that have no effect on a pretrained encoder."""
    used = {k: v for k, v in given.items() if v is not None and v is not False}
    if used:
        parts = "; ".join(f"{k}={v!r} {KTRAIN_ONLY[k]}" for k, v in used.items())
        print(f"kbert: note: {parts} — no effect on a pretrained encoder's word pieces; ignored.")


def split_frame(df, val_pct, random_state, targets=None, mode=None, classes=None):
    """Holds out ceil(len(df) * val_pct) rows for validation (stratified by class when every
    class can be), and keeps every class in the training part: validation rows of a class
    the training part lost are moved back (and counted), or the split is refused."""
    from sklearn.model_selection import train_test_split

    n = len(df)
    if not 0 < val_pct < 1:
        raise DataError(f"val_pct must be between 0 and 1 (exclusive), got {val_pct}.")
    n_val = math.ceil(n * val_pct)
    if n < 2 or n - n_val < 1:
        raise DataError(f"train_df has {n} rows: too few to hold out val_pct={val_pct} for validation "
                        f"({n_val} rows) and still train. Pass val_df or use more rows.")
    stratify = None
    if mode == MULTICLASS:
        counts = pd.Series(targets).value_counts()
        if counts.min() >= 2 and n_val >= len(counts) and n - n_val >= len(counts):
            stratify = targets
    trn, val = train_test_split(np.arange(n), test_size=n_val, random_state=random_state, stratify=stratify)
    trn, val = keep_classes(trn, val, targets, mode, classes, val_pct, df.index)
    return df.iloc[trn], df.iloc[val]


def keep_classes(trn, val, targets, mode, classes, val_pct, index):
    if mode == MULTICLASS:
        have = set(targets[trn].tolist())
        move = np.array([t not in have for t in targets[val]])
        lost = sorted({classes[t] for t in targets[val][move]}, key=str)
    elif mode == MULTILABEL:
        gone = targets[trn].sum(axis=0) == 0
        move = (targets[val][:, gone] > 0).any(axis=1)
        lost = [c for c, g in zip(classes, gone) if g and (targets[val][:, classes.index(c)] > 0).any()]
    else:
        return trn, val
    if not move.any():
        return trn, val
    if move.all():
        raise DataError(f"The validation split (val_pct={val_pct}) holds out every row of class(es) {lost} "
                        f"(train_df index {format_rows(index[val[move]])}): the training part would lose them, and moving "
                        "them back would leave no validation rows. Pass val_df, lower val_pct or add rows.")
    print(f"kbert: the validation split (val_pct={val_pct}) held out every row of class(es) {lost}; "
          f"{int(move.sum())} of them (train_df index {format_rows(index[val[move]], 5)}) were moved back to "
          f"training, so validation has {int((~move).sum())} rows instead of {len(val)}.")
    return np.concatenate([trn, val[move]]), val[~move]


def texts_from_df(train_df, text_column, label_columns=None, val_df=None, val_pct=0.1, maxlen=128,
                  preset=None, text_pair_column=None, is_regression=None, random_state=42,
                  class_names=None, fixed_shapes=False, verbose=1, preprocess_mode=None, max_features=None,
                  ngram_range=None, lang=None, long_document="truncate", stride=None,
                  max_windows=DEFAULT_MAX_WINDOWS, pooling="mean"):
    """DataFrames → (train TaskData, val TaskData, preprocessor), as ktrain's texts_from_df.

    Args:
        train_df, val_df: DataFrames (val_df None: `val_pct` of train_df is held out,
            stratified by class, every class kept in the training part).
        text_column, text_pair_column: the column of texts (and of second texts, for pairs).
        label_columns: one column (strings or integers: classes; floats: regression) or a
            list of 0/1 columns (one-hot or multi-label). None or []: the one column that is
            not a text column.
        is_regression: None: floats are regression targets, other labels classes; True:
            numbers are regression targets; False: floats are classes.
        class_names: names for integer labels 0..k-1 (None or []: found from the labels).
        maxlen: word pieces per text (pair); longer texts are truncated and counted.
        preset: the encoder spec (default: picked by preprocess_mode, else "minilm").
        preprocess_mode: ktrain's "bert" (→ "minilm") or "distilbert" (→ keras-hub's
            "distil_bert_base_en_uncased", a download).
        max_features, ngram_range, lang: ktrain's word-id options; noted and ignored.
        fixed_shapes: static batch shapes for TPUs (widths from a few buckets).
        long_document: "truncate" (ktrain's: texts longer than maxlen are cut, counted and
            reported) or "windows": each text is read in overlapping windows of maxlen
            pieces and `text_classifier` builds a document model that pools the windows
            into one prediction per text (training sees every window); single texts only.
        stride: with windows, pieces shared by consecutive windows (default maxlen // 4).
        max_windows: with windows, the most windows read per text (its first ones; None:
            all); the texts it cuts are counted and reported.
        pooling: with windows, "mean", "max" (of the windows' [CLS]/pooled vectors) or
            "attention" (a learned weighting of them).

    Returns:
        (trn, val, preproc); trn and val also unpack as ktrain's `(x, y)`.

    Example:
    >>> # trn, val, preproc = kbert.text.texts_from_df(df, "text", "label", val_df=val_df)
    """
    preset = encoder_for(preprocess_mode, preset)
    note_unused(max_features=max_features, ngram_range=ngram_range, lang=lang)
    if not isinstance(train_df, pd.DataFrame):
        raise TypeError(f"train_df must be a pandas DataFrame, got {type(train_df).__name__}.")
    if len(train_df) == 0:
        raise DataError("train_df has no rows.")
    if val_df is not None and len(val_df) == 0:
        raise DataError("val_df has no rows.")
    check_texts(train_df, text_column, "train_df")
    if text_pair_column is not None:
        check_texts(train_df, text_pair_column, "train_df")
    if label_columns is None or (not isinstance(label_columns, str) and len(label_columns) == 0):
        others = [c for c in train_df.columns if c not in (text_column, text_pair_column)]
        if len(others) != 1:
            raise DataError(f"label_columns not given and train_df has {len(others)} other columns "
                            f"({others}); name the label column(s).")
        label_columns = others[0]
    labels = LabelEncoder.fit(train_df, label_columns, "train_df", classes=class_names,
                              is_regression=is_regression)
    tokenizer = load_tokenizer(preset)
    preproc = TextClassificationPreprocessor(tokenizer, maxlen, labels, preset, text_column, text_pair_column,
                                             long_document=long_document, stride=stride, max_windows=max_windows,
                                             pooling=pooling)
    # check the whole of train_df before splitting, so errors name its rows
    targets = labels.transform(train_df, "train_df")
    if val_df is None:
        train_df, val_df = split_frame(train_df, val_pct, random_state, targets, labels.mode, labels.classes)
    trn = preproc.preprocess_df(train_df, "train_df", verbose=verbose)
    val = preproc.preprocess_df(val_df, "val_df", verbose=verbose)
    set_fixed_shapes(fixed_shapes, trn, val)
    return trn, val, preproc


def texts_from_csv(train_filepath, text_column, label_columns=None, val_filepath=None, sep=None,
                   encoding="utf-8", **kwargs):
    """CSV (or ;/tab-separated) files → (train, val, preprocessor); the separator is sniffed
    unless given. Other arguments: as texts_from_df (ktrain's included).

    Example:
    >>> # trn, val, preproc = kbert.text.texts_from_csv("train.csv", "text", "label")
    """
    train_df = read_file(train_filepath, sep, encoding)
    val_df = None if val_filepath is None else read_file(val_filepath, sep, encoding)
    return texts_from_df(train_df, text_column, label_columns, val_df=val_df, **kwargs)


def read_file(path, sep, encoding):
    encoding = encoding or "utf-8"
    try:
        return io.read_table(path, sep, encoding)
    except UnicodeDecodeError as e:
        raise DataError(f"{path!r} is not {encoding} text ({e.reason} at byte {e.start}); "
                        "pass its encoding, e.g. encoding='latin-1'.") from None


def split_texts(x, name):
    """Texts, or ktrain's sentence pairs (tuples (a, b)) → (texts, second texts or None)."""
    x = [x] if isinstance(x, str) else list(x)
    if any(isinstance(t, tuple) for t in x):
        bad = [i for i, t in enumerate(x) if not (isinstance(t, tuple) and len(t) == 2)]
        if bad:
            raise DataError(f"{name}: some items are sentence pairs (tuples) but the items at index "
                            f"{format_rows(bad)} are not (text, second text) tuples (e.g. {x[bad[0]]!r}). "
                            "Give all items as strings, or all as pairs.")
        return [t[0] for t in x], [t[1] for t in x]
    bad = [i for i, t in enumerate(x) if isinstance(t, (list, np.ndarray))]
    if bad:
        raise DataError(f"{name}: the items at index {format_rows(bad)} are {type(x[bad[0]]).__name__}s, not "
                        "texts. Sentence pairs are tuples (text, second text), as in ktrain: "
                        "list(map(tuple, df[['a', 'b']].values)).")
    return x, None


def array_frame(x, y, class_names, name):
    """Texts (or pairs) and labels → (DataFrame, label column(s), pair column or None)."""
    first, second = split_texts(x, name)
    if len(first) == 0:
        raise DataError(f"{name} has no texts.")
    if y is None:
        raise DataError(f"y for {name} is missing.")
    y = np.asarray(y) if not isinstance(y, pd.Series) else y.to_numpy()
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if len(y) != len(first):
        raise DataError(f"{name} has {len(first)} texts but {len(y)} labels.")
    df = pd.DataFrame({"text": pd.Series(first, dtype=object)})
    pair = None
    if second is not None:
        pair = "text_b"
        df[pair] = pd.Series(second, dtype=object)
    if y.ndim == 2:
        names = list(class_names) if class_names else [str(i) for i in range(y.shape[1])]
        if len(names) != y.shape[1]:
            raise DataError(f"class_names has {len(names)} names but y has {y.shape[1]} columns.")
        for i, c in enumerate(names):
            df[c] = y[:, i]
        return df, names, pair
    df["label"] = pd.Series(list(y), dtype=object).map(plain)
    return df, "label", pair


def texts_from_array(x_train, y_train, x_test=None, y_test=None, class_names=None, maxlen=128,
                     preset=None, val_pct=0.1, random_state=42, is_regression=None, fixed_shapes=False,
                     verbose=1, preprocess_mode=None, max_features=None, ngram_range=None, lang=None,
                     long_document="truncate", stride=None, max_windows=DEFAULT_MAX_WINDOWS, pooling="mean"):
    """Lists of texts (or (text, second text) pairs) and labels → (train, val, preprocessor),
    as ktrain's texts_from_array.

    Args:
        x_train, x_test: lists of texts, or of ktrain's sentence-pair tuples.
        y_train, y_test: strings or integers (classes; integers 0..k-1 index class_names),
            floats (regression), or a 2-D 0/1 array (one-hot or multi-label).
        class_names: None or []: found from the labels.
        long_document, stride, max_windows, pooling: long texts read in windows (texts_from_df).
        Others: as texts_from_df.

    Returns:
        (trn, val, preproc); `(x_train, y_train), (x_test, y_test), preproc = ...` also works.

    Example:
    >>> # trn, val, preproc = kbert.text.texts_from_array(x, y, class_names=["neg", "pos"])
    """
    train_df, label_columns, pair = array_frame(x_train, y_train, class_names, "x_train")
    val_df = None
    if x_test is not None or y_test is not None:
        if x_test is None or y_test is None:
            raise DataError("Give both x_test and y_test (or neither: val_pct of the training data is held out).")
        val_df, _, val_pair = array_frame(x_test, y_test, class_names, "x_test")
        if (pair is None) != (val_pair is None):
            raise DataError("x_train and x_test must both be texts or both be sentence pairs.")
    names = None if isinstance(label_columns, list) else class_names
    return texts_from_df(train_df, "text", label_columns, val_df=val_df, val_pct=val_pct, maxlen=maxlen,
                         preset=preset, text_pair_column=pair, is_regression=is_regression,
                         random_state=random_state, class_names=names, fixed_shapes=fixed_shapes, verbose=verbose,
                         preprocess_mode=preprocess_mode, max_features=max_features, ngram_range=ngram_range,
                         lang=lang, long_document=long_document, stride=stride, max_windows=max_windows,
                         pooling=pooling)
