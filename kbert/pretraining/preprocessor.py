"""The pretraining preprocessor: the task contract of masked-LM (+ NSP) pretraining, its
tokenization of documents, and the rules of its examples and masks.
"""

import math

import keras
import numpy as np
import tensorflow as tf

from kbert import metrics as M
from kbert.data import pad_multiple_for
from kbert.errors import DataError
from kbert.metrics import IGNORE_INDEX
from kbert.pretraining.examples import nsp_examples, pack, packed_examples
from kbert.pretraining.masking import DynamicMasker
from kbert.tasks import TaskPreprocessor

TOKENIZE_BATCH = 2048


class PretrainingPreprocessor(TaskPreprocessor):
    """Tokenizer + packing and masking rules for masked-LM (+ NSP) pretraining.

    Args:
        tokenizer: a keras-hub WordPiece tokenizer.
        maxlen: pieces per example.
        nsp: sentence pairs with next-sentence prediction (BERT); False packs whole
            sentences of one document (RoBERTa), with no NSP head.
        mask_rate, whole_word, mask_token_rate, random_token_rate: the masking rule
            (kbert.pretraining.masking.DynamicMasker).
        short_seq_prob: share of NSP chunks with a shorter random target length.
        seed: seeds the examples and the validation masks.
        preset: the encoder spec whose vocabulary is used (None for a new vocabulary).

    Example:
    >>> # trn, val, preproc = kbert.pretraining.pretraining_data(corpus, vocabulary=vocab, maxlen=128)
    """

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
        self.mask_id = tokenizer.mask_token_id
        self.special_ids = [tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id, self.mask_id]
        self.masker = DynamicMasker(vocab, self.special_ids, self.mask_id, mask_rate, whole_word, mask_token_rate,
                                    random_token_rate)

    # --- task interface used by the Learner
    def get_classes(self):
        return []

    def loss(self):
        losses = {"mlm": keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE_INDEX)}
        if self.nsp:
            losses["nsp"] = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        return losses

    def metrics(self):
        metrics = {"mlm": [M.MaskedAccuracy(name="accuracy")]}
        if self.nsp:
            metrics["nsp"] = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        return metrics

    def validate(self, model, data, batch_size, class_names=None, print_report=True):
        """Masked-LM loss, perplexity and accuracy (masked positions only), NSP accuracy: the
        model's own metrics on data's fixed validation masks."""
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

    # --- tokenization and examples
    def tokenize_documents(self, corpus, stats=None):
        """Yields each document as a list of int32 arrays of word pieces (one per sentence).
        Sentences without any piece (e.g. only control characters) are left out and counted
        in stats["empty_sentences"]."""
        for doc in corpus:
            sentences = []
            for start in range(0, len(doc), TOKENIZE_BATCH):
                # keras-hub returns Python lists when called eagerly on strings
                pieces = self.tokenizer(doc[start:start + TOKENIZE_BATCH])
                if isinstance(pieces, tf.RaggedTensor):
                    pieces = pieces.to_list()
                sentences.extend(np.asarray(p, dtype=np.int32) for p in pieces)
            kept = [s for s in sentences if len(s)]
            if stats is not None and len(kept) < len(sentences):
                stats["empty_sentences"] = stats.get("empty_sentences", 0) + len(sentences) - len(kept)
            sentences = kept
            if sentences:
                yield sentences

    def examples(self, documents, rng, stats):
        """Documents of tokenized sentences → (pieces A, pieces B or None, random_next)."""
        if self.nsp:
            if len(documents) < 2:
                raise DataError(
                    f"Next-sentence prediction needs at least 2 documents; the corpus gave {len(documents)}. "
                    "Split files into documents with doc_separator=… (e.g. chapter headings) or pass nsp=False.")
            yield from nsp_examples(documents, rng, stats, self.maxlen, self.short_seq_prob)
        else:
            yield from packed_examples(documents, stats, self.maxlen)

    def pack(self, examples):
        """(A, B, label) examples → ragged token_ids, segment_ids and NSP labels."""
        return pack(examples, self.tokenizer.cls_token_id, self.tokenizer.sep_token_id)

    # --- dynamic masking (in the tf.data pipeline; see kbert.pretraining.masking)
    def max_predictions(self, length):
        return self.masker.max_predictions(length)

    def mask_batch(self, x, seed, num_predictions=None):
        return self.masker.mask_batch(x, seed, num_predictions)

    # --- saving
    def get_config(self):
        return {"maxlen": self.maxlen, "nsp": self.nsp, "mask_rate": self.mask_rate, "whole_word": self.whole_word,
                "mask_token_rate": self.mask_token_rate, "random_token_rate": self.random_token_rate,
                "short_seq_prob": self.short_seq_prob, "seed": self.seed,
                "preset": self.preset if isinstance(self.preset, str) else None,
                "lowercase": bool(self.tokenizer.lowercase)}

    @classmethod
    def from_config(cls, config, tokenizer):
        return cls(tokenizer, maxlen=config["maxlen"], nsp=config["nsp"], mask_rate=config["mask_rate"],
                   whole_word=config["whole_word"], mask_token_rate=config["mask_token_rate"],
                   random_token_rate=config["random_token_rate"], short_seq_prob=config["short_seq_prob"],
                   seed=config["seed"], preset=config.get("preset"))
