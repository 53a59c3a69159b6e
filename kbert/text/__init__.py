"""Text tasks: classification / regression, named-entity recognition, question answering."""

from kbert.text.classification import (  # noqa: F401
    DataError,
    TextClassificationPreprocessor,
    Transformer,
    text_classifier,
    texts_from_array,
    texts_from_csv,
    texts_from_df,
)
from kbert.text.ner import (  # noqa: F401
    NERPreprocessor,
    entities_from_array,
    entities_from_conll,
    entities_from_df,
    sequence_tagger,
)
from kbert.text.qa import QAPreprocessor, qa_from_df, qa_from_squad, qa_model  # noqa: F401,E402
