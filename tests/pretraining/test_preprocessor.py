"""kbert.pretraining.preprocessor: the masked-LM accuracy metric counts masked positions only."""

import numpy as np
import pytest

from kbert.metrics import IGNORE_INDEX as IGNORE
from kbert.metrics import MaskedAccuracy


def test_mlm_accuracy_counts_masked_positions_only():
    metric = MaskedAccuracy()
    y_true = np.array([[5, IGNORE, 7, IGNORE]])
    logits = np.full((1, 4, 10), -5.0, np.float32)
    logits[0, 0, 5] = 5.0  # right
    logits[0, 1, 3] = 5.0  # ignored slot
    logits[0, 2, 1] = 5.0  # wrong
    logits[0, 3, 0] = 5.0  # ignored slot
    metric.update_state(y_true, logits)
    assert float(metric.result()) == pytest.approx(0.5)
