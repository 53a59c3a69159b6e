"""Text tasks: classification / regression, named-entity recognition, question answering.

    trn, val, preproc = kbert.text.texts_from_df(train_df, "text", "label", val_df=val_df)
    model = kbert.text.text_classifier(preproc)
"""

from kbert.errors import DataError
from kbert.text.classification import (
    TextClassificationPreprocessor,
    Transformer,
    print_text_classifiers,
    print_text_regression_models,
    text_classifier,
    text_regression_model,
    texts_from_array,
    texts_from_csv,
    texts_from_df,
    texts_from_folder,
)
from kbert.text.ner import (
    NERPreprocessor,
    entities_from_array,
    entities_from_conll,
    entities_from_conll2003,
    entities_from_df,
    entities_from_txt,
    print_sequence_taggers,
    sequence_tagger,
)
from kbert.text.qa import QAPreprocessor, qa_from_df, qa_from_squad, qa_model
from kbert.text.embedding import TransformerEmbedding

__all__ = [
    "DataError", "NERPreprocessor", "QAPreprocessor", "TextClassificationPreprocessor", "Transformer",
    "TransformerEmbedding",
    "entities_from_array", "entities_from_conll", "entities_from_conll2003", "entities_from_df", "entities_from_txt",
    "print_sequence_taggers", "print_text_classifiers", "print_text_regression_models", "qa_from_df",
    "qa_from_squad", "qa_model", "sequence_tagger", "text_classifier", "text_regression_model", "texts_from_array",
    "texts_from_csv", "texts_from_df", "texts_from_folder",
]
