"""kbert's errors, and the helpers that make their messages name the place.

Bottom floor: imports no kbert module.
"""


class DataError(ValueError):
    """Bad input data: the message names the column, rows, file or line, and what to do."""


class EncoderNotAvailable(RuntimeError):
    """An encoder spec can not be loaded here (missing package, no network, damaged folder)."""


class PredictorLoadError(RuntimeError):
    """A predictor folder can not be loaded: the message names the folder and the problem."""


class StrategyError(RuntimeError):
    """A tf.distribute strategy can not be created or used as asked."""


def format_rows(index, limit=10):
    """Row labels for a message: `[3, 7, 12] (3 rows)`, the first `limit` of them shown.

    Args:
        index: an iterable of row labels (a pandas Index, a list of ints).
        limit: how many labels to show before "…".

    Returns:
        A string.

    Example:
    >>> format_rows([3, 7, 12])
    '[3, 7, 12] (3 rows)'
    """
    index = list(index)
    shown = ", ".join(str(i) for i in index[:limit])
    return f"[{shown}{', …' if len(index) > limit else ''}] ({len(index)} rows)"


def require_columns(df, columns, df_name="df"):
    """Raises DataError naming the first of `columns` that `df` lacks or holds twice (pandas
    gives a DataFrame for a repeated name, and then "the truth value of a Series is ambiguous").

    Example:
    >>> import pandas as pd
    >>> require_columns(pd.DataFrame({"text": []}), ["text"], "train_df")
    """
    for column in [columns] if isinstance(columns, str) else columns:
        if column not in df.columns:
            raise DataError(f"Column {column!r} not found in {df_name}; its columns are {list(df.columns)}.")
        positions = [i for i, name in enumerate(df.columns) if name == column]
        if len(positions) > 1:
            raise DataError(f"{df_name} has {len(positions)} columns named {column!r} (at positions {positions}); "
                            f"rename or drop the extra ones, e.g. {df_name}.loc[:, ~{df_name}.columns.duplicated()].")
