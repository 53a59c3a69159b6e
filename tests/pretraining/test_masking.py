"""kbert.pretraining.masking: BERT's 80/10/10 rule over 100k positions, and whole-word masking."""

import numpy as np
import tensorflow as tf

from kbert.metrics import IGNORE_INDEX as IGNORE

from .helpers import make_preproc


def random_batch(pre, rows, seed=0, words=False):
    """[CLS] pieces… [SEP] [PAD]… rows of random lengths; words=True makes words of 1-3 pieces."""
    rng = np.random.default_rng(seed)
    vocab = pre.tokenizer.get_vocabulary()
    starts = [i for i in pre.masker.random_candidates if not vocab[i].startswith("##")]
    conts = [i for i in pre.masker.random_candidates if vocab[i].startswith("##")]
    ids = np.full((rows, pre.maxlen), pre.tokenizer.pad_token_id, np.int32)
    mask = np.zeros_like(ids)
    for r in range(rows):
        n = int(rng.integers(20, pre.maxlen - 1))
        body = []
        while len(body) < n:
            body.append(int(rng.choice(starts if words else pre.masker.random_candidates)))
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
