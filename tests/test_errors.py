import pandas as pd
import pytest

from kbert.errors import DataError, format_rows, require_columns


def test_format_rows_shows_the_first_rows_and_the_count():
    assert format_rows([3, 7, 12]) == "[3, 7, 12] (3 rows)"
    assert format_rows(range(25), limit=3) == "[0, 1, 2, …] (25 rows)"
    assert format_rows(pd.Index(["a", "b"])) == "[a, b] (2 rows)"


def test_require_columns_names_the_missing_column_and_the_frame():
    df = pd.DataFrame({"text": ["x"], "label": [1]})
    require_columns(df, ["text", "label"], "train_df")
    with pytest.raises(DataError, match=r"Column 'labels' not found in train_df; its columns are \['text', 'label'\]"):
        require_columns(df, "labels", "train_df")
