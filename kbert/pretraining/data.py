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

import tensorflow as tf

from kbert.data import TaskData
from kbert.encoders import load_tokenizer, tokenizer_from_vocabulary
from kbert.families import family_by_name, family_of
from kbert.pretraining.preprocessor import PretrainingPreprocessor
from kbert.pretraining.vocab import load_vocabulary


class PretrainingData(TaskData):
    """Packed examples; masks (and the MLM targets) are made per batch in the pipeline.

    Batches take few shapes (widths from bucket_lengths(), the predictions per row a function
    of the width): with a shape per batch, the peak memory of a process training from the
    shared corpus's shards grew by 96 MB (+5.9 %) from the first epoch's end to the fourth's
    and kept growing (jemalloc or glibc's mmap threshold changed nothing: caches per shape,
    not fragmentation); with few shapes, by 4 MB (+0.3 %).
    """

    bucket_widths = True

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
        fixed = fixed_length is not None or self.bucketed

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
