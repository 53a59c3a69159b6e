"""Pretraining examples in TFRecord shards, for corpora larger than memory (as
google-research/bert's create_pretraining_data.py, then run_pretraining.py).

    write_shards(corpus, "shards/", vocabulary="vocab.txt", maxlen=128, examples_per_shard=10_000)
    trn, val, preproc = pretraining_data(shards="shards/", vocabulary="vocab.txt")

`write_shards` reads the corpus once, document by document, builds the examples
`pretraining_data` would (the same functions of kbert.pretraining.examples, one seeded random
stream), and writes them unmasked, one tf.train.Example per row (token_ids, segment_ids,
label), `examples_per_shard` to a file, plus `shards.json`: the vocabulary's fingerprint
(SHA-256 of its pieces in id order, joined by newlines, and its size), maxlen, objective,
the counts and byte sizes of the files, and the kbert version. The folder is written beside
its place and renamed into it at the end, so a crash leaves no half-written folder.
Memory: the current document, `buffer_documents` recent documents and one block of examples.

Differences from the in-memory path: sentence-order (ALBERT) and masked-LM-only examples are
the very same (they never look beyond their document); a random next segment (BERT's NSP)
is drawn from the `buffer_documents` documents read before the current one (the first
document draws from the second), as google-research/bert draws from the documents it holds,
instead of from the whole corpus.

Reading them back is kbert.pretraining.shard_data. Training reads the files as it goes: each epoch shuffles the file order, interleaves the
files, shuffles examples within windows of `shuffle_buffer` (sorted by length within chunks
of batches, as in-memory data), all with stateless random ops seeded by (seed, epoch), and
masks in the pipeline as in-memory data does. Under MultiWorkerMirroredStrategy (a TF_CONFIG
cluster) each worker reads only its own files (file i goes to worker i mod workers).
"""

import collections
import hashlib
import os
import random

import tensorflow as tf

from kbert import io
from kbert.errors import DataError
from kbert.pieces import vocabulary_list
from kbert.pretraining.data import describe_spec, make_preprocessor
from kbert.pretraining.examples import nsp_examples
from kbert.version import __version__

MANIFEST = "shards.json"
FORMAT = "kbert-pretraining-shards"
FORMAT_VERSION = 1
PACK_BLOCK = 1024  # examples packed (ragged tensors) at once
FEATURES = {
    "token_ids": tf.io.RaggedFeature(tf.int64),
    "segment_ids": tf.io.RaggedFeature(tf.int64),
    "label": tf.io.FixedLenFeature([], tf.int64),
}


def vocabulary_fingerprint(tokenizer):
    """{"sha256": of the tokenizer's pieces in id order joined by newlines, "size": pieces}."""
    pieces = vocabulary_list(tokenizer)
    digest = hashlib.sha256("\n".join(pieces).encode("utf-8")).hexdigest()
    return {"sha256": digest, "size": len(pieces), "lowercase": getattr(tokenizer, "lowercase", None)}


class _Window:
    """The current document (index 0, the only one iterated) and the recent others that
    random next segments are drawn from: the `documents` argument of nsp_examples."""

    def __init__(self, current, others):
        self.current, self.others = current, others

    def __len__(self):
        return 1 + len(self.others)

    def __getitem__(self, i):
        return self.current if i == 0 else self.others[i - 1]

    def __iter__(self):
        yield self.current


def stream_examples(preproc, documents, rng, stats, buffer_documents=100):
    """(A, B, label) examples of a stream of tokenized documents, holding at most
    `buffer_documents` + 1 documents (see the module's notes on NSP).

    Args:
        preproc: a PretrainingPreprocessor (its objective, maxlen, short_seq_prob).
        documents: an iterable of documents, each a list of int32 arrays (sentences).
        rng: a `random.Random`, the one stream of all examples.
        stats: a dict the example functions count into (truncated pairs, …).
        buffer_documents: recent documents kept for NSP's random next segments.

    Returns:
        A generator of (pieces A, pieces B or None, label).

    Example:
    >>> # examples = stream_examples(pre, pre.tokenize_documents(corpus), random.Random(0), {})
    """
    if preproc.objective != "mlm+nsp":
        for doc in documents:  # SOP and packing never look beyond their document
            yield from preproc.examples([doc], rng, stats)
        return
    if buffer_documents < 1:
        raise ValueError(f"buffer_documents must be at least 1, got {buffer_documents}.")
    max_tokens = preproc.maxlen - 2 - preproc.family.pair_separators
    kw = {"maxlen": preproc.maxlen, "short_seq_prob": preproc.short_seq_prob, "max_tokens": max_tokens}
    pool = collections.deque(maxlen=buffer_documents)
    held = None  # the first document waits for a second to draw random next segments from
    for doc in documents:
        if held is None and not pool:
            held = doc
            continue
        if held is not None:
            yield from nsp_examples(_Window(held, [doc]), rng, stats, **kw)
            pool.append(held)
            held = None
        yield from nsp_examples(_Window(doc, pool), rng, stats, **kw)
        pool.append(doc)
    if held is not None:
        raise DataError("Next-sentence prediction needs at least 2 documents; the corpus gave 1. Split files into "
                        "documents with doc_separator=… (e.g. chapter headings) or pass nsp=False.")


def _serialize(ids, segs, label):
    feature = {
        "token_ids": tf.train.Feature(int64_list=tf.train.Int64List(value=ids)),
        "segment_ids": tf.train.Feature(int64_list=tf.train.Int64List(value=segs)),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _blocks(iterable, n):
    block = []
    for item in iterable:
        block.append(item)
        if len(block) == n:
            yield block
            block = []
    if block:
        yield block


def write_shards(corpus, folder, vocabulary="minilm", maxlen=128, nsp=None, objective=None, family=None,
                 lowercase=True, examples_per_shard=10_000, seed=0, short_seq_prob=0.1, buffer_documents=100,
                 compression=None, verbose=1):
    """Writes a corpus's pretraining examples to TFRecord shards, streaming (bounded memory).

    Args:
        corpus: a kbert Corpus (corpus_from_files streams its files document by document).
        folder: the folder to write (replaced if it holds shards already).
        vocabulary, maxlen, nsp, objective, family, lowercase, short_seq_prob: as
            `pretraining_data`'s.
        examples_per_shard: rows per file. Have at least as many files as training
            workers, plus one held out for validation.
        seed: seeds the examples (the same stream as pretraining_data(corpus, seed=…)).
        buffer_documents: recent documents NSP draws random next segments from.
        compression: None or "GZIP".
        verbose: print a summary.

    Returns:
        The manifest (a dict, also written to folder/shards.json).

    Example:
    >>> # write_shards(corpus_from_files(["a.txt.gz", "b.txt.gz"]), "shards/", vocabulary="vocab.txt")
    """
    if not isinstance(examples_per_shard, int) or examples_per_shard < 1:
        raise ValueError(f"examples_per_shard must be a positive integer, got {examples_per_shard!r}.")
    if compression not in (None, "GZIP"):
        raise ValueError(f'compression must be None or "GZIP", got {compression!r}.')
    folder = os.fspath(folder)
    if os.path.isdir(folder) and os.listdir(folder) and not os.path.exists(os.path.join(folder, MANIFEST)):
        raise FileExistsError(f"{folder!r} exists and holds files that are not shards (no {MANIFEST}); "
                              "write the shards to a new or empty folder.")
    preproc = make_preprocessor(vocabulary, maxlen, nsp=nsp, lowercase=lowercase, short_seq_prob=short_seq_prob,
                                seed=seed, objective=objective, family=family)
    stats = {"documents": 0, "sentences": 0, "pieces": 0}

    def documents():
        for doc in preproc.tokenize_documents(corpus, stats):
            stats["documents"] += 1
            stats["sentences"] += len(doc)
            stats["pieces"] += int(sum(len(s) for s in doc))
            yield doc

    examples = stream_examples(preproc, documents(), random.Random(seed), stats, buffer_documents)
    options = tf.io.TFRecordOptions(compression_type=compression or "")
    shards, labels, pieces = [], 0, 0
    with io.atomic_folder(folder) as tmp:
        writer = None

        def close():
            writer.close()
            shards[-1]["bytes"] = os.path.getsize(os.path.join(tmp, shards[-1]["file"]))

        for block in _blocks(examples, PACK_BLOCK):
            features, block_labels = preproc.pack(block)
            splits = features["token_ids"].row_splits.numpy()
            ids, segs = features["token_ids"].values.numpy(), features["segment_ids"].values.numpy()
            for r, label in enumerate(block_labels):
                if writer is None or shards[-1]["examples"] == examples_per_shard:
                    if writer is not None:
                        close()
                    shards.append({"file": f"shard-{len(shards):05d}.tfrecord", "examples": 0, "pieces": 0})
                    writer = tf.io.TFRecordWriter(os.path.join(tmp, shards[-1]["file"]), options)
                writer.write(_serialize(ids[splits[r]:splits[r + 1]], segs[splits[r]:splits[r + 1]], label))
                shards[-1]["examples"] += 1
                shards[-1]["pieces"] += int(splits[r + 1] - splits[r])
            labels += int(block_labels.sum())
            pieces += len(ids)
        if writer is None:
            raise DataError(f"The corpus gave no pretraining examples ({stats['documents']} documents); nothing "
                            f"written to {folder!r}.")
        close()
        total = sum(s["examples"] for s in shards)
        stats.update(examples=total, mean_length=pieces / total)
        if preproc.pair_head:
            stats["random_next_share" if preproc.nsp else "swapped_share"] = labels / total
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "kbert_version": __version__,
            "vocabulary": {**vocabulary_fingerprint(preproc.tokenizer), "spec": _spec_name(vocabulary)},
            "family": preproc.family.name, "maxlen": preproc.maxlen, "objective": preproc.objective,
            "seed": int(seed), "short_seq_prob": preproc.short_seq_prob, "buffer_documents": int(buffer_documents),
            "compression": compression, "examples": total, "stats": stats, "shards": shards,
        }
        io.write_json(os.path.join(tmp, MANIFEST), manifest)
    if verbose:
        print(f"kbert: wrote {total} examples ({stats['documents']} documents, {stats['mean_length']:.1f} pieces "
              f"on average, maxlen {preproc.maxlen}, {preproc.objective}) to {len(shards)} shards in {folder!r}.")
    return manifest


def _spec_name(vocabulary):
    if isinstance(vocabulary, (list, tuple)):
        return f"a list of {len(vocabulary)} tokens"
    return describe_spec(vocabulary) if isinstance(vocabulary, dict) else str(vocabulary)
