"""Pretraining examples: sentence pairs for next-sentence prediction (or full-sentence
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

import math
import random

import keras
import numpy as np
import tensorflow as tf

from kbert.data import TaskData, set_fixed_shapes
from kbert.encoders import load_tokenizer
from kbert.text.classification import DataError

IGNORE = -100
_TOKENIZE_BATCH = 2048


class PretrainingPreprocessor:
    """Tokenizer + packing and masking rules for masked-LM (+ NSP) pretraining."""

    task = "pretraining"

    def __init__(self, tokenizer, maxlen=128, nsp=True, mask_rate=0.15, whole_word=False,
                 mask_token_rate=0.8, random_token_rate=0.1, short_seq_prob=0.1, seed=0, preset=None):
        if not isinstance(maxlen, int) or maxlen < 8:
            raise ValueError(f"maxlen must be an integer of at least 8, got {maxlen!r}.")
        if not 0 < mask_rate < 1:
            raise ValueError(f"mask_rate must be between 0 and 1, got {mask_rate}.")
        if mask_token_rate < 0 or random_token_rate < 0 or mask_token_rate + random_token_rate > 1:
            raise ValueError("mask_token_rate and random_token_rate must be ≥ 0 and sum to at most 1.")
        self.tokenizer = tokenizer
        self.maxlen = maxlen
        self.nsp = bool(nsp)
        self.mask_rate = float(mask_rate)
        self.whole_word = bool(whole_word)
        self.mask_token_rate = float(mask_token_rate)
        self.random_token_rate = float(random_token_rate)
        self.short_seq_prob = float(short_seq_prob)
        self.seed = int(seed)
        self.preset = preset
        vocab = tokenizer.get_vocabulary()
        self.vocabulary_size = len(vocab)
        self.special_ids = [tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id,
                            tokenizer.mask_token_id]
        self.mask_id = tokenizer.mask_token_id
        self._continuation = np.array([t.startswith("##") for t in vocab])
        # random replacements are ordinary pieces, never [CLS], [MASK], [unused5] and the like
        self._random_candidates = np.array(
            [i for i, t in enumerate(vocab) if not (t.startswith("[") and t.endswith("]"))], dtype=np.int32)
        if len(self._random_candidates) == 0:
            raise ValueError("The vocabulary has no ordinary pieces.")

    # --- task interface used by the Learner
    def get_classes(self):
        return []

    def loss(self):
        losses = {"mlm": keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE)}
        if self.nsp:
            losses["nsp"] = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        return losses

    def metrics(self):
        from kbert.text.ner import MaskedAccuracy

        metrics = {"mlm": [MaskedAccuracy(name="accuracy")]}
        if self.nsp:
            metrics["nsp"] = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        return metrics

    def validate_model(self, model, data, batch_size, print_report=True):
        """Masked-LM loss, perplexity and accuracy (masked positions only), NSP accuracy."""
        from kbert.data import pad_multiple_for

        ds = data.dataset(batch_size, training=False, pad_multiple=pad_multiple_for(model))
        logs = model.evaluate(ds, return_dict=True, verbose=0)
        mlm_loss = logs.get("mlm_loss", logs["loss"] - logs.get("nsp_loss", 0.0))
        result = {"loss": float(logs["loss"]), "mlm_loss": float(mlm_loss),
                  "mlm_perplexity": float(math.exp(min(mlm_loss, 50.0))),
                  # with one output (nsp=False) Keras names the metric plainly "accuracy"
                  "mlm_accuracy": float(logs.get("mlm_accuracy", logs.get("accuracy")))}
        if self.nsp:
            result["nsp_loss"] = float(logs["nsp_loss"])
            result["nsp_accuracy"] = float(logs["nsp_accuracy"])
        if print_report:
            line = (f"masked LM: loss {result['mlm_loss']:.4f}, perplexity {result['mlm_perplexity']:.1f}, "
                    f"accuracy {result['mlm_accuracy']:.4f}")
            if self.nsp:
                line += f" | next sentence: loss {result['nsp_loss']:.4f}, accuracy {result['nsp_accuracy']:.4f}"
            print(line)
        return result

    def example_losses(self, *_):
        raise NotImplementedError("top_losses is not defined for pretraining data; use learner.validate().")

    # --- tokenization and examples
    def tokenize_documents(self, corpus):
        """Yields each document as a list of int32 arrays of word pieces (one per sentence)."""
        for doc in corpus:
            sentences = []
            for start in range(0, len(doc), _TOKENIZE_BATCH):
                # keras-hub returns Python lists when called eagerly on strings
                pieces = self.tokenizer(doc[start:start + _TOKENIZE_BATCH])
                if isinstance(pieces, tf.RaggedTensor):
                    pieces = pieces.to_list()
                sentences.extend(np.asarray(p, dtype=np.int32) for p in pieces)
            sentences = [s for s in sentences if len(s)]
            if sentences:
                yield sentences

    def examples(self, documents, rng, stats):
        """Documents of tokenized sentences → (pieces A, pieces B or None, random_next)."""
        if self.nsp:
            if len(documents) < 2:
                raise DataError(
                    f"Next-sentence prediction needs at least 2 documents; the corpus gave {len(documents)}. "
                    "Split files into documents with doc_separator=… (e.g. chapter headings) or pass nsp=False.")
            yield from self._nsp_examples(documents, rng, stats)
        else:
            yield from self._packed_examples(documents, stats)

    def _nsp_examples(self, documents, rng, stats):
        max_tokens = self.maxlen - 3
        for d, doc in enumerate(documents):
            chunk, length, i = [], 0, 0
            target = self._target(rng, max_tokens)
            while i < len(doc):
                chunk.append(doc[i])
                length += len(doc[i])
                if i == len(doc) - 1 or length >= target:
                    random_next = rng.random() < 0.5
                    if len(chunk) >= 2:
                        a_end = rng.randint(1, len(chunk) - 1)
                    else:
                        a_end = 1
                    a = np.concatenate(chunk[:a_end])
                    if random_next:
                        b = self._random_segment(documents, d, max(1, target - len(a)), rng)
                        i -= len(chunk) - a_end  # the unused sentences start the next chunk
                    elif len(chunk) >= 2:
                        b = np.concatenate(chunk[a_end:])
                    else:
                        # one long sentence: its two halves are a real "next" pair
                        if len(a) < 2:
                            chunk, length = [], 0
                            i += 1
                            continue
                        cut = rng.randint(1, len(a) - 1)
                        a, b = a[:cut], a[cut:]
                    a, b = self._truncate_pair(a, b, max_tokens, rng, stats)
                    yield a, b, int(random_next)
                    chunk, length = [], 0
                    target = self._target(rng, max_tokens)
                i += 1

    def _target(self, rng, max_tokens):
        return rng.randint(2, max_tokens) if rng.random() < self.short_seq_prob else max_tokens

    @staticmethod
    def _random_segment(documents, d, target, rng):
        r = rng.randrange(len(documents) - 1)
        r += r >= d  # another document
        other = documents[r]
        start = rng.randrange(len(other))
        pieces, n = [], 0
        for sentence in other[start:]:
            pieces.append(sentence)
            n += len(sentence)
            if n >= target:
                break
        return np.concatenate(pieces)

    @staticmethod
    def _truncate_pair(a, b, max_tokens, rng, stats):
        if len(a) + len(b) <= max_tokens:
            return a, b
        stats["truncated"] = stats.get("truncated", 0) + 1
        a, b = list(a), list(b)
        while len(a) + len(b) > max_tokens:
            longer = a if len(a) > len(b) else b
            if rng.random() < 0.5:
                del longer[0]
            else:
                longer.pop()
        return np.array(a, np.int32), np.array(b, np.int32)

    def _packed_examples(self, documents, stats):
        max_tokens = self.maxlen - 2
        for doc in documents:
            current = []
            for sentence in doc:
                # a sentence longer than a whole example is cut into example-sized slices
                if len(sentence) > max_tokens:
                    stats["split_sentences"] = stats.get("split_sentences", 0) + 1
                    if current:
                        yield np.concatenate(current), None, 0
                        current = []
                    for s in range(0, len(sentence), max_tokens):
                        piece = sentence[s:s + max_tokens]
                        if s + max_tokens < len(sentence):
                            yield piece, None, 0
                        else:
                            current = [piece]
                    continue
                if current and sum(len(c) for c in current) + len(sentence) > max_tokens:
                    yield np.concatenate(current), None, 0
                    current = []
                current.append(sentence)
            if current:
                yield np.concatenate(current), None, 0

    def pack(self, examples):
        """(A, B, label) examples → ragged token_ids, segment_ids and NSP labels."""
        cls_id, sep_id = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        ids, segs, lengths, labels = [], [], [], []
        for a, b, label in examples:
            if b is None:
                row = np.concatenate([[cls_id], a, [sep_id]]).astype(np.int32)
                seg = np.zeros(len(row), np.int32)
            else:
                row = np.concatenate([[cls_id], a, [sep_id], b, [sep_id]]).astype(np.int32)
                seg = np.concatenate([np.zeros(len(a) + 2, np.int32), np.ones(len(b) + 1, np.int32)])
            ids.append(row)
            segs.append(seg)
            lengths.append(len(row))
            labels.append(label)
        if not ids:
            raise DataError("The corpus gave no pretraining examples.")
        lengths = np.array(lengths, np.int64)
        features = {
            "token_ids": tf.RaggedTensor.from_row_lengths(np.concatenate(ids), lengths),
            "segment_ids": tf.RaggedTensor.from_row_lengths(np.concatenate(segs), lengths),
        }
        return features, np.array(labels, np.int32)

    # --- dynamic masking (in the tf.data pipeline)
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
            continuation = tf.gather(tf.constant(self._continuation), ids)
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
        candidates = tf.constant(self._random_candidates, ids.dtype)
        pick = tf.random.stateless_uniform(shape, seeds[3], minval=0, maxval=len(self._random_candidates),
                                           dtype=tf.int32)
        new_ids = tf.where(to_mask, tf.cast(self.mask_id, ids.dtype), tf.where(to_random, tf.gather(candidates, pick), ids))
        where = tf.where(selected)
        positions = tf.RaggedTensor.from_value_rowids(tf.cast(where[:, 1], tf.int32), where[:, 0], nrows=tf.cast(batch, tf.int64))
        if num_predictions is None:
            num_predictions = tf.maximum(tf.reduce_max(positions.row_lengths()), 1)
        dense_positions = positions.to_tensor(default_value=0, shape=tf.stack([tf.cast(batch, tf.int64), tf.cast(num_predictions, tf.int64)]))
        valid = tf.sequence_mask(tf.minimum(positions.row_lengths(), tf.cast(num_predictions, tf.int64)),
                                 num_predictions)
        targets = tf.where(valid, tf.gather(ids, dense_positions, batch_dims=1), IGNORE)
        inputs = dict(x)
        inputs["token_ids"] = new_ids
        inputs["mask_positions"] = dense_positions
        return inputs, targets

    # --- saving
    def get_config(self):
        return {"maxlen": self.maxlen, "nsp": self.nsp, "mask_rate": self.mask_rate, "whole_word": self.whole_word,
                "mask_token_rate": self.mask_token_rate, "random_token_rate": self.random_token_rate,
                "short_seq_prob": self.short_seq_prob, "seed": self.seed,
                "preset": self.preset if isinstance(self.preset, str) else None,
                "lowercase": bool(self.tokenizer.lowercase)}


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
        import keras_hub

        tokenizer = keras_hub.models.BertTokenizer(vocabulary=list(vocabulary), lowercase=lowercase)
    elif isinstance(vocabulary, str) and vocabulary.endswith(".txt"):
        import keras_hub

        from kbert.pretraining.vocab import load_vocabulary

        tokenizer = keras_hub.models.BertTokenizer(vocabulary=load_vocabulary(vocabulary), lowercase=lowercase)
    else:
        tokenizer = load_tokenizer(vocabulary)
        preset = vocabulary
    preproc = PretrainingPreprocessor(tokenizer, maxlen=maxlen, nsp=nsp, mask_rate=mask_rate, whole_word=whole_word,
                                      short_seq_prob=short_seq_prob, seed=seed, preset=preset)
    trn = _build(preproc, corpus, seed, "train", verbose)
    if val_corpus is not None:
        val = _build(preproc, val_corpus, seed + 1, "val", verbose)
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


def _build(preproc, corpus, seed, name, verbose):
    documents = list(preproc.tokenize_documents(corpus))
    stats = {"documents": len(documents), "sentences": sum(len(d) for d in documents),
             "pieces": int(sum(len(s) for d in documents for s in d))}
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
        if stats.get("split_sentences"):
            print(f"kbert: {name}: {stats['split_sentences']} sentences longer than maxlen were split.")
    pad = {"token_ids": preproc.tokenizer.pad_token_id}
    return PretrainingData(features, labels, preproc, pad_values=pad, stats=stats)
