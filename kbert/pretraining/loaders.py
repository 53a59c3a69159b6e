"""pretraining_data: a corpus (in memory) or a shard folder (streamed) → train and validation
data and the preprocessor (the examples and masking are kbert.pretraining.data's)."""

import numpy as np

from kbert.data import set_fixed_shapes
from kbert.errors import DataError
from kbert.pretraining.data import build_examples, make_preprocessor
from kbert.pretraining.shard_data import shard_data


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
