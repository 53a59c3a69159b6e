"""Predictors: `get_predictor(model, preproc)` and `load_predictor(folder)`."""

from kbert.predictors.base import Predictor, PredictorLoadError, load_predictor  # noqa: F401
from kbert.predictors.classification import TextClassificationPredictor  # noqa: F401
from kbert.predictors.ner import NERPredictor  # noqa: F401
from kbert.predictors.qa import QAPredictor  # noqa: F401


def get_predictor(model, preproc, batch_size=32):
    """A predictor for a trained model and the preprocessor its data came from."""
    cls = getattr(preproc, "predictor_class", None)
    if cls is None:
        raise TypeError(f"{type(preproc).__name__} is not a kbert preprocessor.")
    return cls(model, preproc, batch_size=batch_size)
