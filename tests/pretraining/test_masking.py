"""kbert.pretraining.masking: BERT's 80/10/10 rule over 100k positions, and whole-word masking."""

import numpy as np
import pytest
import tensorflow as tf

from conftest import tiny_family_spec
from kbert.encoders import load_tokenizer
from kbert.metrics import IGNORE_INDEX as IGNORE
from kbert.pieces import starts_word, style_of, vocabulary_list
from kbert.pretraining import PretrainingPreprocessor

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


@pytest.mark.parametrize("family", ["roberta", "albert"])
def test_whole_words_and_random_pieces_in_sentencepiece_and_byte_bpe(family):
    """Word starts come from the piece style ("▁", "Ġ"), specials are never chosen, and random
    replacements are ordinary pieces."""
    tokenizer = load_tokenizer(tiny_family_spec(family))
    pre = PretrainingPreprocessor(tokenizer, maxlen=64, whole_word=True, mask_rate=0.3)
    vocab, style = vocabulary_list(tokenizer), style_of(tokenizer)
    assert not {pre.ids["start"], pre.ids["end"], pre.ids["pad"], pre.mask_id} & set(pre.masker.random_candidates)
    assert not [vocab[i] for i in pre.masker.random_candidates if vocab[i][0] in "<[" and vocab[i][-1] in ">]"]
    text = "Café naïve résumé, 3.50 dollars! the happy cat is gloomy today and the sky is blue"
    body = [int(i) for i in np.asarray(tokenizer(text))]
    row = [pre.ids["start"], *body, pre.ids["end"]]
    ids = np.full((64, 80), pre.ids["pad"], np.int32)
    ids[:, :len(row)] = row
    x = {"token_ids": tf.constant(ids), "padding_mask": tf.constant((np.arange(80) < len(row)).astype(np.int32)[None]
                                                                  .repeat(64, 0))}
    inputs, targets = pre.mask_batch(x, tf.constant([1, 2], tf.int64))
    starts = [True] + [starts_word(vocab[i], style) for i in body[1:]]  # the text's first piece starts a word
    words = np.cumsum(starts)  # word number of each body piece
    for r, (pos, tgt) in enumerate(zip(inputs["mask_positions"].numpy(), targets.numpy())):
        chosen = set(int(p) for p, t in zip(pos, tgt) if t != IGNORE)
        assert chosen and not chosen & {0, len(row) - 1} and max(chosen) < len(row)  # never specials or padding
        chosen_words = {int(words[p - 1]) for p in chosen}
        # a word is chosen whole: every piece of it
        assert chosen == {i + 1 for i, w in enumerate(words) if w in chosen_words}
