"""Explanations of predictions: which words pushed them (LIME and integrated gradients).

`predictor.explain(text, method="lime"|"gradients")` returns an `Explanation`; this package
takes the predictor as an argument, so that it sits below kbert.predictors.
"""

from kbert.explain.classification import explain_text
from kbert.explain.explanation import Explanation
from kbert.explain.ner import explain_entity
from kbert.explain.qa import explain_answer
from kbert.explain.words import split_words

__all__ = ["Explanation", "explain_answer", "explain_entity", "explain_text", "split_words"]
