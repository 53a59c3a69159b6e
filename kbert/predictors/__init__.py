"""Predictors: `get_predictor(model, preproc)` and `load_predictor(folder)`, one small class per task,
and ktrain's `AnswerExtractor` on top of the QA predictor.

Predictors sit above the tasks: they import the tasks, never the other way round. Each
class registers itself under its task's name (Predictor.registry).
"""

from kbert.predictors.base import Predictor, get_predictor
from kbert.predictors.classification import TextClassificationPredictor
from kbert.predictors.fill_mask import FillMaskPredictor
from kbert.predictors.load import load_predictor
from kbert.predictors.ner import NERPredictor
from kbert.predictors.qa import QAPredictor
from kbert.predictors.answer_extractor import AnswerExtractor

from kbert.errors import PredictorLoadError  # noqa: E402  (kbert.predictors.PredictorLoadError, as before)

__all__ = [
    "AnswerExtractor", "FillMaskPredictor", "NERPredictor", "Predictor", "PredictorLoadError", "QAPredictor",
    "TextClassificationPredictor", "get_predictor", "load_predictor",
]
