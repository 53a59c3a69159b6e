"""Labels of text classification: one column of strings or integers (multi-class), several
0/1 columns (one-hot → multi-class, several 1s in a row → multi-label), or floats (regression).

The values' type decides: floats are regression targets, integers, strings and booleans are
classes; `is_regression=True` makes numbers regression targets, `is_regression=False` makes
floats classes.
"""

import numpy as np

from kbert.errors import DataError, format_rows, require_columns

MULTICLASS, MULTILABEL, REGRESSION = "multiclass", "multilabel", "regression"


def is_number(v):
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def is_float(v):
    return isinstance(v, (float, np.floating))


def check_columns(df, columns, df_name):
    """Each column exists, once (kbert.errors.require_columns)."""
    require_columns(df, columns, df_name)


def check_present(df, columns, df_name):
    check_columns(df, columns, df_name)
    for c in columns:
        missing = df[c].isna()
        if missing.any():
            raise DataError(f"{df_name} label column {c!r} has missing values (NaN) at index "
                            f"{format_rows(df.index[missing])}.")


def check_finite(df, col, df_name):
    """Regression targets: numbers, and finite."""
    values = df[col]
    numeric = values.map(is_number)
    if not numeric.all():
        raise DataError(f"{df_name} regression target column {col!r} holds non-numbers at index "
                        f"{format_rows(df.index[~numeric])} (e.g. {values[~numeric].iloc[0]!r}).")
    bad = ~np.isfinite(values.to_numpy(dtype="float64"))
    if bad.any():
        raise DataError(f"{df_name} regression target column {col!r} holds infinite values at index "
                        f"{format_rows(df.index[bad])}; drop or fix those rows.")


def check_whole(values, col, df_name, index, hint=""):
    """Numbers used as class ids must be whole (0.5 is not class 0)."""
    floats = values.to_numpy(dtype="float64")
    bad = np.mod(floats, 1) != 0
    if bad.any():
        raise DataError(f"{df_name} label column {col!r} holds class ids that are not whole numbers at index "
                        f"{format_rows(index[bad])} (e.g. {floats[bad][0]!r}).{hint}")


def check_binary(df, columns, df_name):
    values = df[columns]
    ok = values.isin([0, 1, True, False]).all(axis=1)
    if not ok.all():
        raise DataError(f"{df_name} label columns {columns} must hold 0/1 values; index "
                        f"{format_rows(df.index[~ok])} hold others.")
    return values.astype(int)


class LabelEncoder:
    """Maps label columns to targets and back. mode: multiclass, multilabel or regression."""

    def __init__(self, mode, classes=None, columns=None):
        self.mode = mode
        self.classes = None if classes is None else [plain(c) for c in classes]
        self.columns = columns

    @classmethod
    def fit(cls, df, columns, df_name="train_df", classes=None, is_regression=None):
        """Learns the mode and classes from `df[columns]`.

        Args:
            classes: names of the classes (integer labels 0..k-1 index them); None or []
                finds them from the labels.
            is_regression: None decides by the values' type (floats: regression); True
                makes numbers regression targets; False makes floats classes.
        """
        columns = [columns] if isinstance(columns, str) else list(columns)
        if not columns:
            raise DataError("No label column given.")
        check_present(df, columns, df_name)
        classes = None if classes is None or len(classes) == 0 else list(classes)
        if len(columns) > 1:
            if is_regression:
                raise DataError(f"is_regression=True needs one label column; got {columns}.")
            return cls._fit_columns(df, columns, df_name)
        col = columns[0]
        values = df[col]
        kinds = values.map(lambda v: "string" if isinstance(v, str) else
                           "number" if is_number(v) else "bool" if isinstance(v, (bool, np.bool_))
                           else type(v).__name__)
        if kinds.nunique() > 1:
            parts = "; ".join(f"{k}s at index {format_rows(df.index[kinds == k], 5)}" for k in kinds.unique())
            raise DataError(f"{df_name} label column {col!r} mixes types: {parts}. "
                            "Use one type of label (all strings, or all numbers).")
        kind = kinds.iloc[0] if len(kinds) else "string"
        floats = kind == "number" and bool(values.map(is_float).any())
        if is_regression or (is_regression is None and floats and classes is None):
            if kind != "number":
                raise DataError(f"is_regression=True but {df_name} label column {col!r} holds {kind}s.")
            check_finite(df, col, df_name)
            return cls(REGRESSION, columns=columns)
        if floats:
            check_whole(values, col, df_name, df.index, " is_regression=False (or class_names) makes float labels "
                        "classes; leave both out for regression.")
            values = values.map(int)
        if classes is not None:
            if kind == "number" and not all(isinstance(c, (int, np.integer)) for c in classes):
                # integer labels with names: 0..k-1 index class_names (ktrain's convention)
                enc = cls(MULTICLASS, classes=classes, columns=columns)
                enc.integer_labels = True
                enc.transform(df, df_name)  # names the rows outside 0..k-1
                return enc
            return cls(MULTICLASS, classes=classes, columns=columns)
        uniques = sorted(values.unique().tolist())
        if len(uniques) < 2:
            raise DataError(f"{df_name} label column {col!r} holds a single class ({uniques}); "
                            "a classifier needs at least two.")
        return cls(MULTICLASS, classes=uniques, columns=columns)

    @classmethod
    def _fit_columns(cls, df, columns, df_name):
        ones = check_binary(df, columns, df_name).sum(axis=1)
        mode = MULTICLASS if (ones == 1).all() else MULTILABEL
        return cls(mode, classes=list(columns), columns=columns)

    integer_labels = False

    def transform(self, df, df_name):
        columns = self.columns
        check_present(df, columns, df_name)
        if self.mode == REGRESSION:
            check_finite(df, columns[0], df_name)
            return df[columns[0]].to_numpy(dtype="float32").reshape(-1, 1)
        if len(columns) > 1:
            values = check_binary(df, columns, df_name).to_numpy()
            if self.mode == MULTICLASS:
                ones = values.sum(axis=1)
                if not (ones == 1).all():
                    raise DataError(f"{df_name}: rows at index {format_rows(df.index[ones != 1])} do not have "
                                    f"exactly one 1 in {columns} (train_df was one-hot).")
                return values.argmax(axis=1).astype("int32")
            return values.astype("float32")
        values = df[columns[0]]
        if self.integer_labels:
            numeric = values.map(is_number)
            if not numeric.all():
                raise DataError(f"{df_name} label column {columns[0]!r} holds non-numbers at index "
                                f"{format_rows(df.index[~numeric])}; class_names are indexed by integers 0..k-1.")
            check_whole(values, columns[0], df_name, df.index)
            ints = values.astype(int)
            bad = (ints < 0) | (ints >= len(self.classes))
            if bad.any():
                raise DataError(f"{df_name} label column {columns[0]!r} holds integers outside "
                                f"0..{len(self.classes) - 1} (class_names has {len(self.classes)} names) at index "
                                f"{format_rows(df.index[bad])}.")
            return ints.to_numpy(dtype="int32")
        lookup = {c: i for i, c in enumerate(self.classes)}
        codes = values.map(lambda v: lookup.get(plain(v), -1))
        unseen = codes < 0
        if unseen.any():
            names = sorted({str(v) for v in values[unseen]})
            raise DataError(f"{df_name} label column {columns[0]!r} has labels not seen in the training "
                            f"data: {names} at index {format_rows(df.index[unseen])}. Known classes: {self.classes}.")
        return codes.to_numpy(dtype="int32")

    def get_config(self):
        return {"mode": self.mode, "classes": self.classes, "columns": self.columns,
                "integer_labels": self.integer_labels}

    @classmethod
    def from_config(cls, config):
        enc = cls(config["mode"], config["classes"], config["columns"])
        enc.integer_labels = config.get("integer_labels", False)
        return enc


def plain(v):
    """numpy scalars → Python scalars (JSON-serialisable, hashable alike)."""
    return v.item() if isinstance(v, np.generic) else v
