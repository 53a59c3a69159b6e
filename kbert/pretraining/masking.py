"""Dynamic masked-LM masking in the tf.data pipeline (BERT's 80/10/10 rule, optionally by
whole words), drawn with stateless random ops so that any batch can be replayed.
"""

import math

import numpy as np
import tensorflow as tf

from kbert.families import special_ids
from kbert.metrics import IGNORE_INDEX
from kbert.pieces import vocabulary_list, word_start_table


def is_marked_special(piece):
    """[CLS], <s>, <mask>, [unused5] …: pieces no text is tokenized into."""
    return (piece.startswith("[") and piece.endswith("]") or piece.startswith("<") and piece.endswith(">")) \
        and len(piece) > 2


class DynamicMasker:
    """Chooses and masks pieces of padded batches.

    Args:
        vocabulary: the tokenizer's pieces in id order (`kbert.pieces.vocabulary_list`).
        special_ids: ids never masked (start, end, pad, mask: `kbert.families.special_ids`).
        mask_id: the mask piece's id.
        mask_rate: share of the maskable pieces (or words) chosen per row.
        whole_word: choose words (a word's first piece and the pieces that continue it)
            instead of pieces.
        mask_token_rate, random_token_rate: of the chosen, the share set to the mask piece
            and the share set to a random ordinary piece (the rest stay).
        word_starts: a boolean array over the vocabulary, which pieces begin a word
            (`kbert.pieces.word_start_table`); default: WordPiece's rule (no "##").

    Example:
    >>> # masker = DynamicMasker.for_tokenizer(tokenizer, whole_word=True)
    >>> # inputs, targets = masker.mask_batch({"token_ids": ids, "padding_mask": mask}, seed=[0, 1])
    """

    def __init__(self, vocabulary, special_ids, mask_id, mask_rate=0.15, whole_word=False, mask_token_rate=0.8,
                 random_token_rate=0.1, word_starts=None):
        self.special_ids = [int(i) for i in special_ids]
        self.mask_id = int(mask_id)
        self.mask_rate = float(mask_rate)
        self.whole_word = bool(whole_word)
        self.mask_token_rate = float(mask_token_rate)
        self.random_token_rate = float(random_token_rate)
        if word_starts is None:
            self.continuation = np.array([t.startswith("##") for t in vocabulary])
        else:
            self.continuation = np.logical_not(np.asarray(word_starts, bool))
        # random replacements are ordinary pieces, never [CLS], <mask>, [unused5] and the like
        special = set(self.special_ids)
        self.random_candidates = np.array(
            [i for i, t in enumerate(vocabulary) if i not in special and not is_marked_special(t)], dtype=np.int32)
        if len(self.random_candidates) == 0:
            raise ValueError("The vocabulary has no ordinary pieces.")

    @classmethod
    def for_tokenizer(cls, tokenizer, mask_rate=0.15, whole_word=False, mask_token_rate=0.8, random_token_rate=0.1):
        """The masker of any keras-hub tokenizer: its specials, mask piece and word starts."""
        ids = special_ids(tokenizer)
        return cls(vocabulary_list(tokenizer), [ids["start"], ids["end"], ids["pad"], ids["mask"]], ids["mask"],
                   mask_rate, whole_word, mask_token_rate, random_token_rate, word_starts=word_start_table(tokenizer))

    def max_predictions(self, length):
        """Predictions per row under fixed shapes, for a batch width (int or tensor): enough
        for rate · width pieces (twice that for whole words); rarer extra picks are masked
        in the input but not predicted."""
        factor = 2.0 if self.whole_word else 1.0
        if isinstance(length, int):
            return int(min(length, math.ceil(self.mask_rate * length * factor) + 1))
        n = tf.cast(tf.math.ceil(self.mask_rate * factor * tf.cast(length, tf.float32)), tf.int32) + 1
        return tf.minimum(n, tf.cast(length, tf.int32))

    def mask_batch(self, x, seed, num_predictions=None):
        """Masks a padded batch. Returns (inputs with masked token_ids and mask_positions,
        original ids at those positions (IGNORE where a row has fewer))."""
        ids = x["token_ids"]
        shape = tf.shape(ids)
        batch, width = shape[0], shape[1]
        seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 5)
        special = tf.reduce_any(ids[..., None] == tf.constant(self.special_ids, ids.dtype), axis=-1)
        selectable = tf.logical_and(tf.logical_not(special), x["padding_mask"] > 0)
        if self.whole_word:
            continuation = tf.gather(tf.constant(self.continuation), ids)
            prev = tf.pad(selectable[:, :-1], [[0, 0], [1, 0]])
            is_unit = selectable & (tf.logical_not(continuation) | tf.logical_not(prev))
        else:
            is_unit = selectable
        n_units = tf.reduce_sum(tf.cast(is_unit, tf.float32), axis=1)
        jitter = tf.random.stateless_uniform([batch], seeds[0])
        k = tf.floor(self.mask_rate * n_units + jitter)
        scores = tf.where(is_unit, tf.random.stateless_uniform(shape, seeds[1]), 2.0)
        ranks = tf.argsort(tf.argsort(scores, axis=1, stable=True), axis=1, stable=True)
        chosen = is_unit & (tf.cast(ranks, tf.float32) < k[:, None])
        if self.whole_word:
            # a word is chosen through its first piece; its continuations follow it
            word = tf.cumsum(tf.cast(is_unit, tf.int32), axis=1) - 1
            flat = word + tf.range(batch)[:, None] * width
            dummy = batch * width
            chosen_word = tf.math.unsorted_segment_max(
                tf.cast(chosen, tf.int32), tf.where(is_unit, flat, dummy), dummy + 1)
            selected = selectable & (tf.gather(chosen_word, tf.where(selectable, flat, dummy)) > 0)
        else:
            selected = chosen
        r = tf.random.stateless_uniform(shape, seeds[2])
        to_mask = selected & (r < self.mask_token_rate)
        to_random = selected & (r >= self.mask_token_rate) & (r < self.mask_token_rate + self.random_token_rate)
        candidates = tf.constant(self.random_candidates, ids.dtype)
        pick = tf.random.stateless_uniform(shape, seeds[3], minval=0, maxval=len(self.random_candidates),
                                           dtype=tf.int32)
        new_ids = tf.where(to_mask, tf.cast(self.mask_id, ids.dtype), tf.where(to_random, tf.gather(candidates, pick), ids))
        where = tf.where(selected)
        positions = tf.RaggedTensor.from_value_rowids(tf.cast(where[:, 1], tf.int32), where[:, 0], nrows=tf.cast(batch, tf.int64))
        if num_predictions is None:
            num_predictions = tf.maximum(tf.reduce_max(positions.row_lengths()), 1)
        dense_positions = positions.to_tensor(default_value=0, shape=tf.stack([tf.cast(batch, tf.int64), tf.cast(num_predictions, tf.int64)]))
        valid = tf.sequence_mask(tf.minimum(positions.row_lengths(), tf.cast(num_predictions, tf.int64)),
                                 num_predictions)
        targets = tf.where(valid, tf.gather(ids, dense_positions, batch_dims=1), IGNORE_INDEX)
        inputs = dict(x)
        inputs["token_ids"] = new_ids
        inputs["mask_positions"] = dense_positions
        return inputs, targets
