"""kbert.text.ner.preprocessor: the tagger's loss (only first pieces count)."""

import numpy as np
import pytest

from kbert.text import ner


def test_masked_loss_ignores_non_first_pieces():
    loss = ner.NERPreprocessor.loss(None)
    y = np.array([[ner.IGNORE, 1, ner.IGNORE, 0, ner.IGNORE]])
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(1, 5, 3)).astype("float32")
    base = float(loss(y, logits))
    logits2 = logits.copy()
    logits2[0, [0, 2, 4]] = rng.normal(size=(3, 3)) * 100  # change only ignored positions
    assert float(loss(y, logits2)) == pytest.approx(base, rel=1e-6)
    z = logits[0, [1, 3]].astype("float64")
    manual = np.mean(np.log(np.exp(z).sum(-1)) - z[[0, 1], [1, 0]])
    assert base == pytest.approx(manual, rel=1e-5)
