"""Pretraining data: each family's examples — sentence pairs for next-sentence prediction
(BERT), segment pairs for sentence-order prediction (ALBERT), full-sentence packing (the
masked-LM-only families) — and dynamic masked-LM masking in the tf.data pipeline.

    trn, val, preproc = pretraining_data(corpus, vocabulary=vocab, maxlen=128)             # BERT: MLM + NSP
    trn, val, preproc = pretraining_data(corpus, vocabulary="roberta_base_en", maxlen=128)  # MLM only

Examples (fixed once, seeded) follow the BERT paper's `create_instances_from_document`:
sentences of a document are gathered into a chunk of about maxlen - 3 pieces (10 % of
chunks get a shorter random target, `short_seq_prob`), the chunk is cut at a random
sentence boundary into segment A and B, and with probability 0.5 B is replaced by a
random stretch of another document (NSP label 1 = "random next"). The longer segment
is trimmed (at a random end) until [CLS] A [SEP] B [SEP] fits maxlen; trimmed pairs are
counted. RoBERTa and XLM-R pairs read `<s> A </s></s> B </s>`.

Sentence-order prediction (ALBERT) cuts the same chunks into A and B, and swaps half of
the pairs (SOP label 1 = swapped): both segments always come from one document.

Masked LM only (nsp=False, or objective="mlm": RoBERTa, XLM-R, DistilBERT, ELECTRA,
DeBERTa-v3 by default) packs whole consecutive sentences of one document up to maxlen - 2
(RoBERTa's DOC-SENTENCES), segment ids all 0, no second head.

Masking is drawn anew for every batch of every epoch (stateless random ops seeded by the
epoch's seed and the batch number, so a resumed run replays them): `mask_rate` of
the maskable pieces (never the start, end, mask or padding pieces) are chosen — per row, exactly
floor(rate · n + U) of them, an unbiased stochastic rounding — of which 80 % become
the mask piece, 10 % a random ordinary piece and 10 % stay. whole_word=True chooses words
(a word's first piece and the pieces continuing it, in any piece style) instead of pieces. Validation data gets the same masks at every
evaluation.
"""

import random

import numpy as np
import tensorflow as tf

from kbert.data import TaskData, set_fixed_shapes
from kbert.encoders import load_tokenizer, tokenizer_from_vocabulary
from kbert.errors import DataError
from kbert.families import family_by_name, family_of
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
            x, pair = element if with_targets else (element, None)
            num = preproc.max_predictions(tf.shape(x["token_ids"])[1]) if fixed else None
            inputs, mlm = preproc.mask_batch(x, s, num)
            if not with_targets:
                return inputs
            y = {"mlm": mlm}
            if preproc.pair_head:
                y[preproc.pair_head] = pair
            return inputs, y

        return tf.data.Dataset.zip((ds, seeds)).map(mask, num_parallel_calls=tf.data.AUTOTUNE)


def pretraining_data(corpus=None, vocabulary="minilm", maxlen=None, nsp=None, mask_rate=0.15, whole_word=False,
                     val_corpus=None, val_pct=0.05, lowercase=True, short_seq_prob=0.1, seed=0, fixed_shapes=False,
                     verbose=1, objective=None, family=None, shards=None, val_shards=1, shuffle_buffer=10_000,
                     verify=True):
    """A corpus → (train PretrainingData, val PretrainingData, preprocessor).

    Args:
        corpus: a kbert Corpus (corpus_from_files, corpus_from_texts); or None with `shards`.
        vocabulary: a list of tokens or a vocab.txt path (from build_vocabulary: a WordPiece
            vocabulary), or an encoder spec of any family ("minilm", "roberta_base_en", a
            preset or Hugging Face folder, an encoder dict with tokenizer files) whose
            tokenizer (and later weights) to use.
        maxlen: pieces per example (default 128, or the shards').
        nsp, objective: the pretraining objective (see PretrainingPreprocessor); default:
            the family's own — BERT "mlm+nsp", ALBERT "mlm+sop", the others "mlm".
        family: the WordPiece family of a vocabulary list or vocab.txt ("bert" default,
            "distilbert", "electra"), which sets the default objective and the encoder.
        mask_rate, whole_word: the masking rule.
        val_corpus: a separate validation corpus; otherwise val_pct of the examples (chosen
            at random, seeded) are held out.
        lowercase: of a vocabulary list or vocab.txt.
        short_seq_prob, seed, fixed_shapes, verbose: as the names say.
        shards: a folder written by `kbert.pretraining.write_shards`, instead of `corpus`: the
            examples are read from its TFRecord files as training goes (corpora larger
            than memory). vocabulary, maxlen and the objective must be those the shards
            were written with (maxlen and the objective default to theirs).
        val_shards: with shards and no val_corpus, how many of the folder's files (its
            last ones) are held out for validation. val_corpus may also be a shard folder.
        shuffle_buffer: with shards, examples shuffled together (and sorted by length
            in chunks) within each window of this many; the file order is shuffled too.
        verify: with shards, read every file once up front (CRC checks, record counts),
            so that a damaged file is named before training starts.

    Returns:
        (train data, validation data, PretrainingPreprocessor).

    Example:
    >>> # trn, val, pre = pretraining_data(corpus, vocabulary=build_vocabulary(corpus), maxlen=128)
    >>> # write_shards(corpus, "shards/", vocabulary="vocab.txt", maxlen=128)
    >>> # trn, val, pre = pretraining_data(shards="shards/", vocabulary="vocab.txt")
    """
    if shards is not None:
        if corpus is not None:
            raise ValueError("Give corpus or shards=, not both.")
        from kbert.pretraining.shards import shard_data  # shards imports this module

        return shard_data(shards, vocabulary=vocabulary, maxlen=maxlen, nsp=nsp, objective=objective,
                          family=family, lowercase=lowercase, mask_rate=mask_rate, whole_word=whole_word,
                          short_seq_prob=short_seq_prob, seed=seed, val_corpus=val_corpus, val_shards=val_shards,
                          shuffle_buffer=shuffle_buffer, fixed_shapes=fixed_shapes, verify=verify,
                          verbose=verbose)
    if corpus is None:
        raise ValueError("pretraining_data needs a corpus (or shards=, a folder from write_shards).")
    preproc = make_preprocessor(vocabulary, 128 if maxlen is None else maxlen, nsp=nsp, mask_rate=mask_rate,
                                whole_word=whole_word, lowercase=lowercase, short_seq_prob=short_seq_prob,
                                seed=seed, objective=objective, family=family)
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


def make_preprocessor(vocabulary, maxlen, nsp=None, mask_rate=0.15, whole_word=False, lowercase=True,
                      short_seq_prob=0.1, seed=0, objective=None, family=None):
    """The PretrainingPreprocessor of a vocabulary (list, vocab.txt or encoder spec): see
    `pretraining_data` for the arguments."""
    preset = None
    if isinstance(vocabulary, (list, tuple)) or (isinstance(vocabulary, str) and vocabulary.endswith(".txt")):
        tokens = list(vocabulary) if isinstance(vocabulary, (list, tuple)) else load_vocabulary(vocabulary)
        tokenizer = tokenizer_from_vocabulary(tokens, lowercase=lowercase, family=family or "bert")
    else:
        tokenizer = load_tokenizer(vocabulary)
        preset = vocabulary
        if family is not None and family_by_name(family) != family_of(tokenizer):
            raise ValueError(f"family={family!r} differs from the family of vocabulary={describe_spec(vocabulary)} "
                             f"({family_of(tokenizer).name}); family= only picks the family of a WordPiece "
                             "vocabulary list or vocab.txt.")
    return PretrainingPreprocessor(tokenizer, maxlen=maxlen, nsp=nsp, mask_rate=mask_rate, whole_word=whole_word,
                                   short_seq_prob=short_seq_prob, seed=seed, preset=preset, objective=objective)


def describe_spec(spec):
    return f"{{'family': {spec.get('family', 'bert')!r}, …}}" if isinstance(spec, dict) else repr(spec)


def build_examples(preproc, corpus, seed, name, verbose):
    dropped = {}
    documents = list(preproc.tokenize_documents(corpus, dropped))
    stats = {"documents": len(documents), "sentences": sum(len(d) for d in documents),
             "pieces": int(sum(len(s) for d in documents for s in d)), **dropped}
    features, labels = preproc.pack(preproc.examples(documents, random.Random(seed), stats))
    lengths = features["token_ids"].row_lengths().numpy()
    stats.update(examples=len(lengths), mean_length=float(lengths.mean()))
    if preproc.pair_head == "nsp":
        stats["random_next_share"] = float(labels.mean())
    elif preproc.pair_head == "sop":
        stats["swapped_share"] = float(labels.mean())
    if verbose:
        msg = (f"kbert: {name}: {stats['documents']} documents, {stats['sentences']} sentences, "
               f"{stats['pieces']} word pieces → {stats['examples']} examples of {stats['mean_length']:.1f} "
               f"pieces on average (maxlen {preproc.maxlen})")
        if preproc.pair_head == "nsp":
            msg += f", {stats['random_next_share']:.1%} with a random next segment"
        elif preproc.pair_head == "sop":
            msg += f", {stats['swapped_share']:.1%} with their two segments swapped (sentence order)"
        print(msg)
        if stats.get("truncated"):
            how = ("at their outer ends (A's start, B's end), so that A and B stay adjacent"
                   if preproc.pair_head == "sop" else "at a random end of their longer segment (as in BERT)")
            print(f"kbert: {name}: {stats['truncated']} of {stats['examples']} sentence pairs overran maxlen and were "
                  f"trimmed {how}; chunks fill up to maxlen.")
        if stats.get("empty_sentences"):
            print(f"kbert: {name}: {stats['empty_sentences']} sentences gave no word pieces (only characters the "
                  "tokenizer drops) and were left out.")
        if stats.get("unpaired_sentences"):
            print(f"kbert: {name}: {stats['unpaired_sentences']} one-piece sentences alone in their chunk gave no "
                  "sentence-order pair and were left out.")
        if stats.get("split_sentences"):
            print(f"kbert: {name}: {stats['split_sentences']} sentences longer than maxlen were split.")
    pad = {"token_ids": preproc.ids["pad"]}
    return PretrainingData(features, labels, preproc, pad_values=pad, stats=stats)
