"""Text tasks: classification / regression (more task families to come)."""

from kbert.text.classification import (  # noqa: F401
    DataError,
    TextClassificationPreprocessor,
    Transformer,
    text_classifier,
    texts_from_array,
    texts_from_csv,
    texts_from_df,
)
