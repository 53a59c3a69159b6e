"""Text classification and regression: labels, loaders, preprocessor, model, ktrain's Transformer.

    trn, val, preproc = texts_from_df(train_df, "text", "label", val_df=val_df, preset="minilm")
    model = text_classifier(preproc)          # or ktrain's text_classifier("bert", train_data=trn, preproc=preproc)
"""

from kbert.errors import DataError
from kbert.text.classification.folders import texts_from_folder
from kbert.text.classification.labels import MULTICLASS, MULTILABEL, REGRESSION, LabelEncoder
from kbert.text.classification.loaders import PREPROCESS_MODES, texts_from_array, texts_from_csv, texts_from_df
from kbert.text.classification.model import (
    build_classifier,
    print_text_classifiers,
    print_text_regression_models,
    text_classifier,
    text_regression_model,
)
from kbert.text.classification.preprocessor import TextClassificationPreprocessor, TextData
from kbert.text.classification.transformer import Transformer

__all__ = [
    "DataError", "LabelEncoder", "MULTICLASS", "MULTILABEL", "PREPROCESS_MODES", "REGRESSION",
    "TextClassificationPreprocessor", "TextData", "Transformer", "build_classifier", "print_text_classifiers",
    "print_text_regression_models", "text_classifier", "text_regression_model", "texts_from_array",
    "texts_from_csv", "texts_from_df", "texts_from_folder",
]
