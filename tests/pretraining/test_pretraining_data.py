import random

import keras_hub
import numpy as np
import pytest
import tensorflow as tf

from conftest import tiny_vocabulary
from kbert.pretraining import PretrainingData, PretrainingPreprocessor
from kbert.pretraining.data import IGNORE
from kbert.text.classification import DataError
from kbert.text.ner import MaskedAccuracy


def make_preproc(**kwargs):
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=tiny_vocabulary(), lowercase=True)
    return PretrainingPreprocessor(tokenizer, **{"maxlen": 128, **kwargs})


def random_batch(pre, rows, seed=0, words=False):
    """[CLS] pieces… [SEP] [PAD]… rows of random lengths; words=True makes words of 1-3 pieces."""
    rng = np.random.default_rng(seed)
    vocab = pre.tokenizer.get_vocabulary()
    starts = [i for i in pre._random_candidates if not vocab[i].startswith("##")]
    conts = [i for i in pre._random_candidates if vocab[i].startswith("##")]
    ids = np.full((rows, pre.maxlen), pre.tokenizer.pad_token_id, np.int32)
    mask = np.zeros_like(ids)
    for r in range(rows):
        n = int(rng.integers(20, pre.maxlen - 1))
        body = []
        while len(body) < n:
            body.append(int(rng.choice(starts if words else pre._random_candidates)))
            if words:
                body += [int(c) for c in rng.choice(conts, size=rng.integers(0, 3))]
        row = [pre.tokenizer.cls_token_id] + body[:n] + [pre.tokenizer.sep_token_id]
        ids[r, :len(row)] = row
        mask[r, :len(row)] = 1
    return {"token_ids": tf.constant(ids), "segment_ids": tf.zeros_like(ids), "padding_mask": tf.constant(mask)}


def selected_positions(inputs, targets):
    pos, tgt = inputs["mask_positions"].numpy(), targets.numpy()
    return [(r, int(p)) for r in range(pos.shape[0]) for p, t in zip(pos[r], tgt[r]) if t != IGNORE]


def test_masking_statistics_over_100k_positions():
    pre = make_preproc()
    x = random_batch(pre, 1700)
    inputs, targets = pre.mask_batch(x, tf.constant([3, 4], tf.int64))
    ids, new = x["token_ids"].numpy(), inputs["token_ids"].numpy()
    maskable = (x["padding_mask"].numpy() > 0) & ~np.isin(ids, pre.special_ids)
    assert maskable.sum() > 100_000
    chosen = selected_positions(inputs, targets)
    rows, cols = np.array(chosen).T
    assert abs(len(chosen) / maskable.sum() - 0.15) < 0.005
    # specials and padding are never chosen; targets are the original pieces
    assert maskable[rows, cols].all()
    np.testing.assert_array_equal(targets.numpy()[targets.numpy() != IGNORE], ids[rows, cols])
    to_mask = new[rows, cols] == pre.mask_id
    kept = new[rows, cols] == ids[rows, cols]
    replaced = ~to_mask & ~kept
    assert abs(to_mask.mean() - 0.8) < 0.015
    assert abs(replaced.mean() - 0.1) < 0.015
    assert abs(kept.mean() - 0.1) < 0.015
    assert not np.isin(new[rows, cols][replaced], pre.special_ids).any()
    # nothing outside the chosen positions changes
    untouched = np.ones_like(ids, bool)
    untouched[rows, cols] = False
    np.testing.assert_array_equal(new[untouched], ids[untouched])


def test_whole_word_masking_masks_every_piece_of_a_chosen_word():
    pre = make_preproc(whole_word=True)
    vocab = pre.tokenizer.get_vocabulary()
    x = random_batch(pre, 300, seed=1, words=True)
    inputs, targets = pre.mask_batch(x, tf.constant([5, 6], tf.int64))
    ids = x["token_ids"].numpy()
    chosen = set(selected_positions(inputs, targets))
    maskable = (x["padding_mask"].numpy() > 0) & ~np.isin(ids, pre.special_ids)
    assert abs(len(chosen) / maskable.sum() - 0.15) < 0.015
    n_words = 0
    for r in range(ids.shape[0]):
        word = []
        for p in range(1, int(x["padding_mask"][r].numpy().sum()) - 1):
            if not vocab[ids[r, p]].startswith("##") and word:
                flags = {(r, q) in chosen for q in word}
                assert len(flags) == 1, f"row {r}: word at {word} partly masked"
                n_words += flags == {True}
                word = []
            word.append(p)
    assert n_words > 100


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


def make_data(pre, n=64, seed=0):
    examples = list(pre.examples(synthetic_documents(n_docs=10, sentences=30, seed=seed), random.Random(seed), {}))
    # real vocabulary ids, so that masking has ordinary pieces to work with
    cands = pre._random_candidates
    examples = [(cands[a % len(cands)], cands[b % len(cands)], y) for a, b, y in examples[:n]]
    features, labels = pre.pack(examples)
    return PretrainingData(features, labels, pre, pad_values={"token_ids": pre.tokenizer.pad_token_id})


def epoch_masks(ds):
    """{original row: masked positions} over one pass, independent of batch order."""
    out = {}
    for x, y in ds:
        ids = x["token_ids"].numpy().copy()
        for r, (pos, tgt) in enumerate(zip(x["mask_positions"].numpy(), y["mlm"].numpy())):
            keep = tgt != IGNORE
            ids[r, pos[keep]] = tgt[keep]
            out[tuple(ids[r][x["padding_mask"].numpy()[r] > 0])] = tuple(sorted(pos[keep]))
    return out


def test_masks_are_dynamic_per_epoch_and_seeded():
    pre = make_preproc(maxlen=64)
    data = make_data(pre)
    ds = data.dataset(16, training=True, seed=11)
    first, second = epoch_masks(ds), epoch_masks(ds)
    assert first.keys() == second.keys()
    differ = sum(first[k] != second[k] for k in first)
    assert differ > 0.9 * len(first)
    # the same seed gives the same masks, batch by batch
    a = [x["mask_positions"].numpy().tolist() for x, _ in data.dataset(16, training=True, seed=11)]
    b = [x["mask_positions"].numpy().tolist() for x, _ in data.dataset(16, training=True, seed=11)]
    assert a == b
    # validation masks are the same at every evaluation
    val = data.dataset(16, training=False)
    assert epoch_masks(val) == epoch_masks(val)
    x, y = next(iter(val))
    assert set(y) == {"mlm", "nsp"} and y["nsp"].shape == (16,)


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
