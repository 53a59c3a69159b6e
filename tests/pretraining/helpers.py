"""Helpers shared by the pretraining tests: a preprocessor on the tiny vocabulary, synthetic
tokenized documents, a toy corpus and the tiny encoder sizes."""

import keras_hub
import numpy as np

from conftest import NEGATIVE, POSITIVE, tiny_vocabulary
from kbert import pretraining as P
from kbert.pretraining import PretrainingPreprocessor

TINY = {"num_layers": 2, "hidden_dim": 32, "num_heads": 2, "intermediate_dim": 64, "dropout": 0.0}


def make_preproc(**kwargs):
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=tiny_vocabulary(), lowercase=True)
    return PretrainingPreprocessor(tokenizer, **{"maxlen": 128, **kwargs})


def synthetic_documents(n_docs=100, sentences=40, seed=0):
    """Each document's pieces are one increasing run of integers, so pairs can be traced."""
    rng = np.random.default_rng(seed)
    docs, base = [], 1000
    for _ in range(n_docs):
        doc = []
        for _ in range(sentences):
            n = int(rng.integers(3, 30))
            doc.append(np.arange(base, base + n, dtype=np.int32))
            base += n
        docs.append(doc)
    return docs


def toy_corpus(n_docs=20, sentences=60, seed=0):
    """Documents with a learnable structure: each sentence repeats a pattern of words."""
    rng = np.random.default_rng(seed)
    docs = []
    for d in range(n_docs):
        words = POSITIVE if d % 2 else NEGATIVE
        lines = []
        for _ in range(sentences):
            w = str(rng.choice(words))
            lines.append(f"I feel {w} today and {w} now. ".capitalize())
        docs.append("".join(lines))
    return P.corpus_from_texts(docs)
