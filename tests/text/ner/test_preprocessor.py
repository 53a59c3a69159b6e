"""kbert.text.ner.preprocessor: the tagger's loss (only first pieces count) and the checks
of the words it is given."""

import numpy as np
import pytest

import kbert
from kbert.errors import DataError
from kbert.text import ner
from conftest import tiny_spec


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


def test_words_that_are_not_strings_are_named_and_empty_words_counted(capsys):
    pre = ner.NERPreprocessor(kbert.encoders.load_tokenizer(tiny_spec()), ["O", "B-PER"], maxlen=16)
    with pytest.raises(DataError, match=r"train: sentence 1, word 2 is a float \(nan\), not a string"):
        pre.encode([["a", "b"], ["c", "d", float("nan")]], [["O", "O"], ["O", "O", "O"]], "train", verbose=0)
    with pytest.raises(DataError, match=r"train: sentence 0 is a str \('George went'\), not a list of words"):
        pre.encode(["George went"], None, "train", verbose=0)
    data = pre.encode([["happy", "", "\x00"], ["sad"]], [["O", "B-PER", "O"], ["O"]], "train", verbose=0)
    assert data.stats["empty_words"] == 2
    assert "train: 2 words have no word pieces" in capsys.readouterr().out
