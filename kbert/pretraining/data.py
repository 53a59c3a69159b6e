"""Pretraining data: sentence pairs for next-sentence prediction (or full-sentence
packing) and dynamic masked-LM masking in the tf.data pipeline.

    trn, val, preproc = pretraining_data(corpus, vocabulary=vocab, maxlen=128, nsp=True)

Examples (fixed once, seeded) follow the BERT paper's `create_instances_from_document`:
sentences of a document are gathered into a chunk of about maxlen - 3 pieces (10 % of
chunks get a shorter random target, `short_seq_prob`), the chunk is cut at a random
sentence boundary into segment A and B, and with probability 0.5 B is replaced by a
random stretch of another document (NSP label 1 = "random next"). The longer segment
is trimmed (at a random end) until [CLS] A [SEP] B [SEP] fits maxlen; trimmed pairs are
counted. nsp=False packs whole consecutive sentences of one document up to maxlen - 2
(RoBERTa's DOC-SENTENCES), segment ids all 0, no NSP head.

Masking is drawn anew for every batch of every epoch (stateless random ops seeded by the
epoch's seed and the batch number, so a resumed run replays them): `mask_rate` of
the maskable pieces (never [CLS], [SEP] or padding) are chosen — per row, exactly
floor(rate · n + U) of them, an unbiased stochastic rounding — of which 80 % become
[MASK], 10 % a random piece and 10 % stay. whole_word=True chooses words (a piece and
its "##" continuations) instead of pieces. Validation data gets the same masks at every
evaluation.
"""

import random

import numpy as np
import tensorflow as tf

from kbert.data import TaskData, set_fixed_shapes
from kbert.encoders import load_tokenizer, tokenizer_from_vocabulary
from kbert.errors import DataError
from kbert.pretraining.preprocessor import PretrainingPreprocessor
from kbert.pretraining.vocab import load_vocabulary


class PretrainingData(TaskData):
    """Packed examples; masks (and the MLM targets) are made per batch in the pipeline."""

    @property
    def has_targets(self):
        return True

    def map_batches(self, ds, training, seed, with_targets, fixed_length=None, epoch_seed=None):
        preproc = self.preprocessor
        if epoch_seed is not None:
            # training: an epoch's masks depend on its seed and the batch number only
            seeds = tf.data.Dataset.counter().map(lambda i: tf.stack([epoch_seed, i]))
        else:
            # evaluation: the same masks every time
            seeds = tf.data.Dataset.random(seed=preproc.seed + 104729).batch(2)
        fixed = fixed_length is not None or self.fixed_shapes

        def mask(element, s):
            x, nsp = element if with_targets else (element, None)
            num = preproc.max_predictions(tf.shape(x["token_ids"])[1]) if fixed else None
            inputs, mlm = preproc.mask_batch(x, s, num)
            if not with_targets:
                return inputs
            y = {"mlm": mlm}
            if preproc.nsp:
                y["nsp"] = nsp
            return inputs, y

        return tf.data.Dataset.zip((ds, seeds)).map(mask, num_parallel_calls=tf.data.AUTOTUNE)


def pretraining_data(corpus, vocabulary="minilm", maxlen=128, nsp=True, mask_rate=0.15, whole_word=False,
                     val_corpus=None, val_pct=0.05, lowercase=True, short_seq_prob=0.1, seed=0, fixed_shapes=False,
                     verbose=1):
    """A corpus → (train PretrainingData, val PretrainingData, preprocessor).

    vocabulary: a list of tokens or a vocab.txt path (from build_vocabulary), or an
        encoder spec ("minilm", a preset folder) whose tokenizer (and later weights) to use.
    val_corpus: a separate validation corpus; otherwise val_pct of the examples (chosen
        at random, seeded) are held out.
    """
    preset = None
    if isinstance(vocabulary, (list, tuple)):
        tokenizer = tokenizer_from_vocabulary(vocabulary, lowercase=lowercase)
    elif isinstance(vocabulary, str) and vocabulary.endswith(".txt"):
        tokenizer = tokenizer_from_vocabulary(load_vocabulary(vocabulary), lowercase=lowercase)
    else:
        tokenizer = load_tokenizer(vocabulary)
        preset = vocabulary
    preproc = PretrainingPreprocessor(tokenizer, maxlen=maxlen, nsp=nsp, mask_rate=mask_rate, whole_word=whole_word,
                                      short_seq_prob=short_seq_prob, seed=seed, preset=preset)
    trn = build_examples(preproc, corpus, seed, "train", verbose)
    if val_corpus is not None:
        val = build_examples(preproc, val_corpus, seed + 1, "val", verbose)
    else:
        if not 0 < val_pct < 1:
            raise ValueError(f"val_pct must be between 0 and 1, got {val_pct}.")
        order = np.random.default_rng(seed).permutation(len(trn))
        n_val = max(1, int(round(len(trn) * val_pct)))
        if len(trn) - n_val < 1:
            raise DataError(f"The corpus gave {len(trn)} examples: too few to hold out val_pct={val_pct}.")
        val = trn.subset(np.sort(order[:n_val]))
        trn = trn.subset(np.sort(order[n_val:]))
        if verbose:
            print(f"kbert: held out {len(val)} of {len(val) + len(trn)} examples ({val_pct:.0%}) for validation.")
    set_fixed_shapes(fixed_shapes, trn, val)
    return trn, val, preproc


def build_examples(preproc, corpus, seed, name, verbose):
    dropped = {}
    documents = list(preproc.tokenize_documents(corpus, dropped))
    stats = {"documents": len(documents), "sentences": sum(len(d) for d in documents),
             "pieces": int(sum(len(s) for d in documents for s in d)), **dropped}
    features, labels = preproc.pack(preproc.examples(documents, random.Random(seed), stats))
    lengths = features["token_ids"].row_lengths().numpy()
    stats.update(examples=len(lengths), mean_length=float(lengths.mean()))
    if preproc.nsp:
        stats["random_next_share"] = float(labels.mean())
    if verbose:
        msg = (f"kbert: {name}: {stats['documents']} documents, {stats['sentences']} sentences, "
               f"{stats['pieces']} word pieces → {stats['examples']} examples of {stats['mean_length']:.1f} "
               f"pieces on average (maxlen {preproc.maxlen})")
        if preproc.nsp:
            msg += f", {stats['random_next_share']:.1%} with a random next segment"
        print(msg)
        if stats.get("truncated"):
            print(f"kbert: {name}: {stats['truncated']} of {stats['examples']} sentence pairs overran maxlen and were "
                  "trimmed at a random end of their longer segment (as in BERT, chunks fill up to maxlen).")
        if stats.get("empty_sentences"):
            print(f"kbert: {name}: {stats['empty_sentences']} sentences gave no word pieces (only characters the "
                  "tokenizer drops) and were left out.")
        if stats.get("split_sentences"):
            print(f"kbert: {name}: {stats['split_sentences']} sentences longer than maxlen were split.")
    pad = {"token_ids": preproc.tokenizer.pad_token_id}
    return PretrainingData(features, labels, preproc, pad_values=pad, stats=stats)
