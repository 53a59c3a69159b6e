"""The pretraining preprocessor: the task contract of masked-LM pretraining with each
family's own second objective (BERT: next-sentence prediction, ALBERT: sentence-order
prediction, the others: none), its tokenization of documents, and the rules of its examples
and masks.
"""

import math

import keras
import numpy as np
import tensorflow as tf

from kbert import metrics as M
from kbert.data import pad_multiple_for
from kbert.errors import DataError
from kbert.families import BYTE_BPE, family_of, special_ids
from kbert.metrics import IGNORE_INDEX
from kbert.pretraining.examples import nsp_examples, pack, packed_examples, sop_examples
from kbert.pretraining.masking import DynamicMasker
from kbert.tasks import TaskPreprocessor

TOKENIZE_BATCH = 2048
OBJECTIVES = ("mlm+nsp", "mlm+sop", "mlm")
PAIR_NAMES = {"nsp": "next sentence", "sop": "sentence order"}


def resolve_objective(tokenizer, objective=None, nsp=None):
    """The pretraining objective: `objective` if given, else nsp=True → "mlm+nsp", nsp=False →
    "mlm", else the family's own (`kbert.families.Family.objective`)."""
    if objective is not None:
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}.")
        if nsp is not None and bool(nsp) != (objective == "mlm+nsp"):
            raise ValueError(f"nsp={nsp!r} contradicts objective={objective!r}; give only one of them.")
        return objective
    if nsp is not None:
        return "mlm+nsp" if nsp else "mlm"
    return family_of(tokenizer).objective


class PretrainingPreprocessor(TaskPreprocessor):
    """Tokenizer + packing and masking rules for masked-LM (+ NSP or SOP) pretraining.

    Args:
        tokenizer: a keras-hub tokenizer of any family kbert supports.
        maxlen: pieces per example.
        nsp: True: sentence pairs with next-sentence prediction (BERT's objective); False:
            whole sentences of one document packed together (RoBERTa's), no second head.
            None (default): the family's own objective (see `objective`).
        objective: "mlm+nsp" (BERT), "mlm+sop" (ALBERT: sentence-order prediction, label 1 =
            the two consecutive segments swapped) or "mlm" (RoBERTa, XLM-R, DistilBERT,
            ELECTRA, DeBERTa-v3). Default: `nsp`'s, else `kbert.families.family_of(tokenizer).objective`.
        mask_rate, whole_word, mask_token_rate, random_token_rate: the masking rule
            (kbert.pretraining.masking.DynamicMasker).
        short_seq_prob: share of NSP/SOP chunks with a shorter random target length.
        seed: seeds the examples and the validation masks.
        preset: the encoder spec whose vocabulary is used (None for a new vocabulary).

    Example:
    >>> # trn, val, preproc = kbert.pretraining.pretraining_data(corpus, vocabulary=vocab, maxlen=128)
    """

    task = "pretraining"

    def __init__(self, tokenizer, maxlen=128, nsp=None, mask_rate=0.15, whole_word=False,
                 mask_token_rate=0.8, random_token_rate=0.1, short_seq_prob=0.1, seed=0, preset=None, objective=None):
        if not isinstance(maxlen, int) or maxlen < 8:
            raise ValueError(f"maxlen must be an integer of at least 8, got {maxlen!r}.")
        if not 0 < mask_rate < 1:
            raise ValueError(f"mask_rate must be between 0 and 1, got {mask_rate}.")
        if mask_token_rate < 0 or random_token_rate < 0 or mask_token_rate + random_token_rate > 1:
            raise ValueError("mask_token_rate and random_token_rate must be ≥ 0 and sum to at most 1.")
        self.tokenizer = tokenizer
        self.family = family_of(tokenizer)
        self.objective = resolve_objective(tokenizer, objective, nsp)
        self.maxlen = maxlen
        self.mask_rate = float(mask_rate)
        self.whole_word = bool(whole_word)
        self.mask_token_rate = float(mask_token_rate)
        self.random_token_rate = float(random_token_rate)
        self.short_seq_prob = float(short_seq_prob)
        self.seed = int(seed)
        self.preset = preset
        self.vocabulary_size = int(tokenizer.vocabulary_size())
        self.ids = special_ids(tokenizer)
        self.mask_id = self.ids["mask"]
        self.special_ids = [self.ids["start"], self.ids["end"], self.ids["pad"], self.mask_id]
        self.masker = DynamicMasker.for_tokenizer(tokenizer, mask_rate, whole_word, mask_token_rate,
                                                  random_token_rate)

    @property
    def pair_head(self):
        """The second head's name and output key: "nsp", "sop" or None (masked LM only)."""
        return {"mlm+nsp": "nsp", "mlm+sop": "sop"}.get(self.objective)

    @property
    def nsp(self):
        """True when the examples are next-sentence pairs (BERT's objective)."""
        return self.objective == "mlm+nsp"

    # --- task interface used by the Learner
    def get_classes(self):
        return []

    def loss(self):
        losses = {"mlm": keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORE_INDEX)}
        if self.pair_head:
            losses[self.pair_head] = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        return losses

    def metrics(self):
        metrics = {"mlm": [M.MaskedAccuracy(name="accuracy")]}
        if self.pair_head:
            metrics[self.pair_head] = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        return metrics

    def validate(self, model, data, batch_size, class_names=None, print_report=True):
        """Masked-LM loss, perplexity and accuracy (masked positions only), NSP or SOP loss and
        accuracy: the model's own metrics on data's fixed validation masks."""
        ds = data.dataset(batch_size, training=False, pad_multiple=pad_multiple_for(model))
        logs = model.evaluate(ds, return_dict=True, verbose=0)
        pair = self.pair_head
        mlm_loss = logs.get("mlm_loss", logs["loss"] - logs.get(f"{pair}_loss", 0.0))
        result = {"loss": float(logs["loss"]), "mlm_loss": float(mlm_loss),
                  "mlm_perplexity": float(math.exp(min(mlm_loss, 50.0))),
                  # with one output (nsp=False) Keras names the metric plainly "accuracy"
                  "mlm_accuracy": float(logs.get("mlm_accuracy", logs.get("accuracy")))}
        if pair:
            result[f"{pair}_loss"] = float(logs[f"{pair}_loss"])
            result[f"{pair}_accuracy"] = float(logs[f"{pair}_accuracy"])
        if print_report:
            line = (f"masked LM: loss {result['mlm_loss']:.4f}, perplexity {result['mlm_perplexity']:.1f}, "
                    f"accuracy {result['mlm_accuracy']:.4f}")
            if pair:
                line += (f" | {PAIR_NAMES[pair]}: loss {result[f'{pair}_loss']:.4f}, "
                         f"accuracy {result[f'{pair}_accuracy']:.4f}")
            print(line)
        return result

    # --- tokenization and examples
    def tokenize_documents(self, corpus, stats=None):
        """Yields each document as a list of int32 arrays of word pieces (one per sentence).
        Sentences without any piece (e.g. only control characters) are left out and counted
        in stats["empty_sentences"]. Byte-level BPE sentences after a document's first are
        tokenized with the space that separates them in running text, so that their first
        word is a word start ("Ġthe"), as inside a paragraph."""
        space = self.family.pieces == BYTE_BPE
        for doc in corpus:
            sentences = []
            if space:
                doc = doc[:1] + [" " + s for s in doc[1:]]
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
        """Documents of tokenized sentences → (pieces A, pieces B or None, pair label):
        NSP pairs (label 1 = B from another document), SOP pairs (label 1 = A and B swapped)
        or packed single segments (label 0), by the objective."""
        pair_tokens = self.maxlen - 2 - self.family.pair_separators  # start A end(s) B end
        if self.objective == "mlm+nsp":
            if len(documents) < 2:
                raise DataError(
                    f"Next-sentence prediction needs at least 2 documents; the corpus gave {len(documents)}. "
                    "Split files into documents with doc_separator=… (e.g. chapter headings) or pass nsp=False.")
            yield from nsp_examples(documents, rng, stats, self.maxlen, self.short_seq_prob, max_tokens=pair_tokens)
        elif self.objective == "mlm+sop":
            yield from sop_examples(documents, rng, stats, pair_tokens, self.short_seq_prob)
        else:
            yield from packed_examples(documents, stats, self.maxlen)

    def pack(self, examples):
        """(A, B, label) examples → ragged token_ids, segment_ids and pair labels, in the
        family's format (RoBERTa and XLM-R: `<s> A </s></s> B </s>`)."""
        return pack(examples, self.ids["start"], self.ids["end"], self.family.pair_separators)

    # --- dynamic masking (in the tf.data pipeline; see kbert.pretraining.masking)
    def max_predictions(self, length):
        return self.masker.max_predictions(length)

    def mask_batch(self, x, seed, num_predictions=None):
        return self.masker.mask_batch(x, seed, num_predictions)

    # --- saving
    def get_config(self):
        return {"maxlen": self.maxlen, "objective": self.objective, "nsp": self.nsp, "mask_rate": self.mask_rate,
                "whole_word": self.whole_word, "mask_token_rate": self.mask_token_rate,
                "random_token_rate": self.random_token_rate, "short_seq_prob": self.short_seq_prob,
                "seed": self.seed, "preset": self.preset if isinstance(self.preset, str) else None,
                "family": self.family.name, "lowercase": bool(getattr(self.tokenizer, "lowercase", False))}

    @classmethod
    def from_config(cls, config, tokenizer):
        # configs saved before objectives had only "nsp"
        objective = config.get("objective") or ("mlm+nsp" if config.get("nsp", True) else "mlm")
        return cls(tokenizer, maxlen=config["maxlen"], objective=objective, mask_rate=config["mask_rate"],
                   whole_word=config["whole_word"], mask_token_rate=config["mask_token_rate"],
                   random_token_rate=config["random_token_rate"], short_seq_prob=config["short_seq_prob"],
                   seed=config["seed"], preset=config.get("preset"))
