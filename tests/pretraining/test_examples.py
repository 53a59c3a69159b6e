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


def test_sentence_order_pairs_swap_consecutive_segments_of_one_document():
    """ALBERT's SOP: label 0 = A then B as in the text, label 1 = the same two consecutive
    segments swapped; never text of another document, so one document is enough."""
    pre = make_preproc(maxlen=64, objective="mlm+sop")
    assert pre.pair_head == "sop" and not pre.nsp
    docs = synthetic_documents(n_docs=40)
    doc_of = {int(p): d for d, doc in enumerate(docs) for s in doc for p in s}
    stats = {}
    examples = list(pre.examples(docs, random.Random(0), stats))
    labels = np.array([e[2] for e in examples])
    assert len(examples) > 400 and abs(labels.mean() - 0.5) < 0.06
    for a, b, label in examples:
        assert len(a) and len(b) and len(a) + len(b) + 3 <= 64
        assert (np.diff(a) == 1).all() and (np.diff(b) == 1).all()
        assert doc_of[int(a[0])] == doc_of[int(b[0])]  # one document, always
        first, second = (a, b) if label == 0 else (b, a)
        assert second[0] > first[-1]  # label 1: B's text comes before A's
        assert second[0] == first[-1] + 1  # adjacent text: a long pair is trimmed at its outer ends
    assert stats["truncated"] > 100
    # one document suffices (NSP needs two)
    assert list(pre.examples(docs[:1], random.Random(0), {}))
    features, sop = pre.pack(examples[:5])
    a, b, _ = examples[0]
    assert features["token_ids"][0].numpy().tolist() == [pre.ids["start"], *a, pre.ids["end"], *b, pre.ids["end"]]
    np.testing.assert_array_equal(sop, labels[:5])
