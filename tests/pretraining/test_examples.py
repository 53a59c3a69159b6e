"""kbert.pretraining.examples: NSP pairs (balance, packing, provenance) and full-sentence packing."""

import random

import numpy as np
import pytest

from kbert.errors import DataError

from .helpers import make_preproc, synthetic_documents


def test_nsp_pairs_balance_packing_and_provenance():
    pre = make_preproc(maxlen=64)
    docs = synthetic_documents(n_docs=150)
    doc_of = {int(p): d for d, doc in enumerate(docs) for s in doc for p in s}
    examples = list(pre.examples(docs, random.Random(0), {}))
    labels = np.array([e[2] for e in examples])
    assert len(examples) > 1800
    assert abs(labels.mean() - 0.5) < 0.03
    for a, b, label in examples:
        assert len(a) + len(b) + 3 <= 64 and len(a) and len(b)
        assert (np.diff(a) == 1).all() and (np.diff(b) == 1).all()  # contiguous text
        if label == 0:  # the real continuation: same document, after A
            assert doc_of[int(b[0])] == doc_of[int(a[0])] and b[0] > a[-1]
        else:
            assert doc_of[int(b[0])] != doc_of[int(a[0])]
    features, nsp = pre.pack(examples[:50])
    for ids, segs, (a, b, _) in zip(features["token_ids"].to_list(), features["segment_ids"].to_list(), examples):
        assert len(ids) <= 64
        assert ids == [pre.tokenizer.cls_token_id, *a, pre.tokenizer.sep_token_id, *b, pre.tokenizer.sep_token_id]
        assert segs == [0] * (len(a) + 2) + [1] * (len(b) + 1)
    np.testing.assert_array_equal(nsp, labels[:50])


def test_full_sentence_packing_without_nsp_and_nsp_needs_two_documents():
    pre = make_preproc(maxlen=32, nsp=False)
    docs = synthetic_documents(n_docs=3, sentences=20)
    examples = list(pre.examples(docs, random.Random(0), {}))
    assert all(b is None and len(a) <= 30 for a, b, _ in examples)
    # every piece is used exactly once, in order
    np.testing.assert_array_equal(np.concatenate([a for a, _, _ in examples]),
                                  np.concatenate([s for d in docs for s in d]))
    with pytest.raises(DataError, match="at least 2 documents"):
        list(make_preproc().examples(docs[:1], random.Random(0), {}))
