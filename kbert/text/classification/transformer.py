"""ktrain's `text.Transformer` API over kbert's classification task."""

import numpy as np
import pandas as pd

from kbert.data import set_fixed_shapes
from kbert.encoders import load_tokenizer
from kbert.errors import DataError
from kbert.text.classification.labels import MULTILABEL, REGRESSION, LabelEncoder
from kbert.text.classification.loaders import array_frame, split_texts
from kbert.text.classification.model import text_classifier
from kbert.text.classification.preprocessor import TextClassificationPreprocessor, check_texts
from kbert.text.classification.windows import DEFAULT_MAX_WINDOWS


class Transformer(TextClassificationPreprocessor):
    """ktrain's `text.Transformer`: a preprocessor that learns its classes from the first
    `preprocess_train` call.

    Args:
        model_name: the encoder spec of any family: "minilm", a keras-hub preset, a Hugging
            Face name as ktrain's tutorials write them ("bert-base-uncased", "roberta-base",
            "distilbert-base-uncased", "albert-base-v1"), a local folder or an encoder dict.
        maxlen: word pieces per text (pair).
        class_names, classes: names for integer labels 0..k-1; None or [] finds the
            classes from the labels (floats: regression).
        multilabel: None finds out from the labels; False refuses multi-label rows.
        fixed_shapes: static batch shapes for TPUs.
        long_document, stride, max_windows, pooling: long texts read in overlapping windows
            and pooled by a document model (see TextClassificationPreprocessor).

    Example:
    >>> # t = Transformer("minilm", maxlen=128, class_names=["neg", "pos"])
    >>> # trn = t.preprocess_train(x_train, y_train); val = t.preprocess_test(x_val, y_val)
    >>> # model = t.get_classifier()
    >>> # pairs (ktrain's MRPC recipe): t.preprocess_train([("a text", "its paraphrase?"), ...], y)
    """

    def __init__(self, model_name="minilm", maxlen=128, class_names=None, classes=None, batch_size=None,
                 multilabel=None, use_with_learner=True, precision=None, fixed_shapes=False,
                 long_document="truncate", stride=None, max_windows=DEFAULT_MAX_WINDOWS, pooling="mean"):
        class_names = None if class_names is None or len(class_names) == 0 else list(class_names)
        classes = None if classes is None or len(classes) == 0 else list(classes)
        if class_names is not None and classes is not None and class_names != classes:
            raise ValueError("Give class_names or classes, not two different lists.")
        names = class_names if class_names is not None else classes
        super().__init__(load_tokenizer(model_name), maxlen, None, model_name, long_document=long_document,
                         stride=stride, max_windows=max_windows, pooling=pooling)
        self.class_names = names
        self.batch_size = batch_size
        self.multilabel = multilabel
        self.precision = precision
        self.fixed_shapes = fixed_shapes

    def _frame(self, texts, y, name):
        df, columns, pair = array_frame(texts, y, self.class_names if np.ndim(y) == 2 else None, name)
        return df, columns, pair

    def _check_pairs(self, pair, name):
        expected = self.text_pair_column is not None
        if (pair is not None) != expected:
            raise DataError(f"{name}: this Transformer was trained on "
                            f"{'sentence pairs' if expected else 'single texts'}; give "
                            f"{'(text, second text) tuples' if expected else 'strings'} here too.")

    def preprocess_train(self, texts, y=None, mode="train", verbose=1, is_regression=None):
        """Training texts (or ktrain's sentence-pair tuples) and labels → TaskData.

        Args:
            texts: a list of texts, or of (text, second text) tuples.
            y: strings or integers (classes), floats (regression), or a 2-D 0/1 array.
            is_regression: None decides by the labels' type; True/False override.

        Returns:
            A TaskData for `kbert.get_learner`.
        """
        if y is None:
            raise DataError("preprocess_train needs the labels y.")
        df, columns, pair = self._frame(texts, y, "training texts")
        if self.labels is None:
            self.text_pair_column = pair
            names = None if isinstance(columns, list) else self.class_names
            labels = LabelEncoder.fit(df, columns, "training labels", classes=names, is_regression=is_regression)
            if self.multilabel is False and labels.mode == MULTILABEL:
                raise DataError("multilabel=False but some training rows have several labels.")
            self.labels = labels
        self._check_pairs(pair, "training texts")
        targets = self.labels.transform(df, "training labels")
        return self._encode(df, targets, "train", verbose)

    def preprocess_test(self, texts, y=None, mode="test", verbose=1):
        """Validation or test texts (labels optional) → TaskData."""
        if self.labels is None:
            raise RuntimeError("Call preprocess_train first: it learns the classes.")
        if y is None:
            first, second = split_texts(texts, "test texts")
            df = pd.DataFrame({"text": pd.Series(first, dtype=object)})
            pair = None
            if second is not None:
                pair = "text_b"
                df[pair] = pd.Series(second, dtype=object)
            self._check_pairs(pair, "test texts")
            return self._encode(df, None, "test", verbose)
        df, _, pair = self._frame(texts, y, "test texts")
        self._check_pairs(pair, "test texts")
        return self._encode(df, self.labels.transform(df, "test labels"), "test", verbose)

    def _encode(self, df, targets, name, verbose):
        first = check_texts(df, "text", f"{name} texts")
        second = None if self.text_pair_column is None else check_texts(df, self.text_pair_column, f"{name} texts")
        data = self.transform(first, second, targets, source=df, name=name, verbose=verbose)
        return set_fixed_shapes(self.fixed_shapes, data)[0]

    def get_classifier(self, dropout=0.1, precision=None, strategy=None, *, multilabel=None, metrics=None):
        """The compiled model for the classes (or the regression targets) of preprocess_train.

        Args:
            dropout: dropout before the dense head.
            precision, strategy: as text_classifier's.
            multilabel, metrics: ktrain's keywords: multilabel is checked against the labels,
                metrics other than the task's are noted (the Learner compiles the task's).

        Returns:
            A compiled keras.Model on this Transformer's encoder (any family).

        Example:
        >>> # t = Transformer("roberta-base", maxlen=128, class_names=["neg", "pos"])
        >>> # trn = t.preprocess_train(x_train, y_train); model = t.get_classifier()
        """
        if self.labels is None:
            raise RuntimeError("Call preprocess_train first: the classifier's size depends on the classes.")
        return text_classifier(self, multilabel=multilabel, metrics=metrics, dropout=dropout,
                               precision=precision or self.precision, strategy=strategy)

    def get_regression_model(self, dropout=0.1, precision=None, strategy=None):
        """The compiled regression model (one output, mean squared error), as ktrain's."""
        if self.labels is None:
            raise RuntimeError("Call preprocess_train with numeric targets first.")
        if self.labels.mode != REGRESSION:
            raise DataError(f"The training labels are classes {self.labels.classes}, not regression targets: "
                            "use get_classifier(), or give float targets (or is_regression=True) to "
                            "preprocess_train.")
        return self.get_classifier(dropout, precision, strategy)

    def get_model(self, dropout=0.1, precision=None, strategy=None):
        """ktrain's get_model: the classifier or the regression model, as the labels say."""
        return self.get_classifier(dropout, precision, strategy)

    def get_classes(self):
        if self.labels is None:
            return list(self.class_names or [])
        return super().get_classes()
