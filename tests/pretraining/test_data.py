"""kbert.pretraining.data: masks drawn anew each epoch (seeded), fixed for validation."""

import random

from kbert.metrics import IGNORE_INDEX as IGNORE
from kbert.pretraining import PretrainingData

from .helpers import make_preproc, synthetic_documents


def make_data(pre, n=64, seed=0):
    examples = list(pre.examples(synthetic_documents(n_docs=10, sentences=30, seed=seed), random.Random(seed), {}))
    # real vocabulary ids, so that masking has ordinary pieces to work with
    cands = pre.masker.random_candidates
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
