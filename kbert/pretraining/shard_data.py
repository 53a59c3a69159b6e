"""Reading pretraining shards (written by kbert.pretraining.shards.write_shards): the
manifest and file checks, and ShardData, the TaskData that trains from the files with tf.data.

Each epoch shuffles the file order, interleaves the files, shuffles examples within windows of
`shuffle_buffer` (sorted by length within chunks of batches, as in-memory data), all with
stateless random ops seeded by (seed, epoch), and masks in the pipeline as in-memory data does.
Under MultiWorkerMirroredStrategy (a TF_CONFIG cluster) each worker reads only its own files
(file i goes to worker i mod workers).
"""

import json
import math
import os

import tensorflow as tf

from kbert import io
from kbert.data import set_fixed_shapes, with_batch_dim
from kbert.errors import DataError
from kbert.pretraining.data import PretrainingData, build_examples, make_preprocessor
from kbert.pretraining.shards import FEATURES, FORMAT, FORMAT_VERSION, MANIFEST, vocabulary_fingerprint


def read_manifest(folder):
    """The manifest of a shard folder; DataError naming the folder or file when it is no
    readable shard folder."""
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise DataError(f"Shard folder {folder!r} does not exist (or is not a folder).")
    path = os.path.join(folder, MANIFEST)
    if not os.path.exists(path):
        what = "is empty" if not os.listdir(folder) else f"has no {MANIFEST}"
        raise DataError(f"Shard folder {folder!r} {what}: not a folder written by kbert.pretraining.write_shards "
                        "(or its writing did not finish).")
    meta = io.read_metadata(path, f"Shard folder {folder!r}")
    if meta.get("format") != FORMAT:
        raise DataError(f"{path!r} is not a kbert shard manifest (format {meta.get('format')!r}).")
    io.check_format_version(meta, FORMAT_VERSION, f"Shard folder {folder!r}")
    if not meta.get("shards"):
        raise DataError(f"{path!r} lists no shard files.")
    return meta


def check_files(folder, manifest, verify=True, files=None):
    """The shard files' paths (all, or the manifest entries numbered in `files`) after
    checking them: each exists with the byte size the manifest records (else truncated or
    replaced), and with verify=True each is read once (TFRecord CRCs) and holds the recorded
    number of examples. DataError names the file."""
    paths = []
    compression = manifest.get("compression") or ""
    entries = manifest["shards"]
    for entry in (entries if files is None else [entries[i] for i in files]):
        path = os.path.join(os.fspath(folder), entry["file"])
        if not os.path.isfile(path):
            raise DataError(f"Shard file {path!r} listed in {MANIFEST} is missing.")
        size = os.path.getsize(path)
        if size != entry["bytes"]:
            raise DataError(f"Shard file {path!r} holds {size} bytes where {MANIFEST} records {entry['bytes']}: it "
                            "was truncated or changed after writing. Write the shards again (write_shards).")
        if verify:
            try:
                n = int(tf.data.TFRecordDataset(path, compression_type=compression).reduce(
                    tf.constant(0, tf.int64), lambda c, _: c + 1))
            except tf.errors.OpError as e:
                raise DataError(f"Shard file {path!r} is damaged or unreadable ({type(e).__name__}: "
                                f"{e.message.splitlines()[0]}). Write the shards again (write_shards).") from None
            if n != entry["examples"]:
                raise DataError(f"Shard file {path!r} holds {n} examples where {MANIFEST} records "
                                f"{entry['examples']}. Write the shards again (write_shards).")
        paths.append(path)
    return paths


def check_compatible(folder, manifest, preproc):
    """DataError naming the manifest when the shards were written with another vocabulary,
    maxlen or objective than `preproc`'s."""
    path = os.path.join(os.fspath(folder), MANIFEST)
    written = manifest["vocabulary"]
    asked = vocabulary_fingerprint(preproc.tokenizer)
    if written["sha256"] != asked["sha256"] or written.get("lowercase") != asked["lowercase"]:
        raise DataError(
            f"The shards in {path!r} were written with another vocabulary ({written.get('spec')}: "
            f"{written['size']} pieces, lowercase={written.get('lowercase')}, sha256 {written['sha256'][:12]}…) than "
            f"the one asked ({asked['size']} pieces, lowercase={asked['lowercase']}, "
            f"sha256 {asked['sha256'][:12]}…). "
            + (f"Pass vocabulary={written['spec']!r} (the one they were written with)"
               if not written.get("spec", "").startswith("a list of") else
               "Pass the vocabulary they were written with")
            + " (and its lowercase=), or write them again with this one.")
    if manifest["maxlen"] != preproc.maxlen:
        raise DataError(f"The shards in {path!r} were written with maxlen={manifest['maxlen']}, not "
                        f"maxlen={preproc.maxlen}: pass maxlen={manifest['maxlen']} (or write them again).")
    if manifest["objective"] != preproc.objective:
        raise DataError(f"The shards in {path!r} hold {manifest['objective']!r} examples, not "
                        f"{preproc.objective!r} ones: pass objective={manifest['objective']!r} (or write them again).")


def cluster_position(tf_config=None):
    """(this worker's position, number of workers) in a TF_CONFIG cluster; (0, 1) without one.
    A "chief" task counts as position 0 and the workers follow it."""
    try:
        config = json.loads(os.environ.get("TF_CONFIG", "{}") if tf_config is None else tf_config)
    except ValueError:
        return 0, 1
    cluster, task = config.get("cluster", {}), config.get("task", {})
    chiefs, workers = len(cluster.get("chief", [])), len(cluster.get("worker", []))
    if chiefs + workers <= 1 or task.get("type") not in ("chief", "worker"):
        return 0, 1
    index = int(task.get("index", 0))
    return (index if task["type"] == "chief" else chiefs + index), chiefs + workers


class ShardData(PretrainingData):
    """Pretraining examples read from shard files as training goes (see the module docs).

    Args:
        paths: the shard files (TFRecord, from write_shards).
        counts: examples per file.
        preprocessor: the PretrainingPreprocessor (checked against the manifest).
        compression: None or "GZIP".
        shuffle_buffer: examples shuffled together in each window of an epoch.
        worker: (position, workers): read only files position, position + workers, …;
            default: from TF_CONFIG (`cluster_position`).

    Example:
    >>> # trn, val, pre = pretraining_data(shards="shards/", vocabulary="vocab.txt")
    >>> # trn.dataset(32, training=True, seed=0)
    """

    def __init__(self, paths, counts, preprocessor, compression=None, shuffle_buffer=10_000, worker=None, stats=None):
        # no rows in memory: TaskData's constructor (ragged features) is not called
        self.paths, self.counts = list(paths), [int(c) for c in counts]
        self.preprocessor = preprocessor
        self.compression = compression or ""
        self.shuffle_buffer = int(shuffle_buffer)
        if self.shuffle_buffer < 1:
            raise ValueError(f"shuffle_buffer must be at least 1, got {shuffle_buffer}.")
        self.worker = cluster_position() if worker is None else (int(worker[0]), int(worker[1]))
        position, workers = self.worker
        if workers > len(self.paths):
            raise DataError(f"{workers} workers need at least {workers} training shard files, one each; there are "
                            f"{len(self.paths)} ({self.paths[:3]}…). Write the shards with a smaller "
                            "examples_per_shard.")
        self.worker_paths = self.paths[position::workers]
        self.source, self.targets, self.features = None, None, {}
        self.pad_values = {"token_ids": preprocessor.ids["pad"]}
        self.target_pad = -100
        self.stats = dict(stats or {}, examples=len(self))
        self.fixed_shapes = False
        self.pieces = None  # word pieces of all rows (special pieces included), from the manifest

    @property
    def has_targets(self):
        return True

    def __len__(self):
        return sum(self.counts)

    @property
    def x(self):
        raise DataError("Shard data holds no rows in memory; read them with .dataset(batch_size).")

    def subset(self, indices):
        raise DataError("Shard data holds no rows in memory: subset() is for in-memory data.")

    def bucket_lengths(self):
        maxlen, sizes, n = self.preprocessor.maxlen, [], 16
        while n < maxlen:
            sizes.append(n)
            n *= 2
        return sizes + [maxlen]

    def padded_share(self, batch_size, training=True, seed=0, pad_multiple=8):
        raise DataError("padded_share reads the whole data; shard data is read as training goes.")

    def worker_examples(self, batch_size):
        """Examples this worker reads per training epoch: all of its files' with one worker;
        under several, its share of the global steps (steps · batch_size / workers, wrapping
        around its files), so that every worker gives the same number of steps."""
        position, workers = self.worker
        if workers == 1:
            return len(self)
        return self.steps(batch_size, training=True) * batch_size // workers

    def worker_steps(self, batch_size):
        """Batches (of the global batch_size) this worker's training pipeline gives per epoch:
        `steps` with one worker. Under several, tf.distribute splits each of them over the
        worker's replicas, and every step takes batch_size / workers examples of each worker."""
        if self.worker[1] == 1:
            return self.steps(batch_size, training=True)
        n = self.worker_examples(batch_size)
        return n // batch_size if self.fixed_shapes else math.ceil(n / batch_size)

    def dataset(self, batch_size, training=False, seed=None, with_targets=True, chunk_batches=50,
                fixed_length=None, pad_multiple=8):
        """As TaskData.dataset; training batches are this worker's (see worker_steps)."""
        self._check_batch_size(batch_size)
        if not training:
            ds = self._eval_batches(batch_size, with_targets, fixed_length, pad_multiple)
            ds = ds.apply(tf.data.experimental.assert_cardinality(self.steps(batch_size)))
            return ds.prefetch(tf.data.AUTOTUNE)
        draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
        ds = draws.flat_map(lambda r: self._epoch(batch_size, r, with_targets, chunk_batches, fixed_length,
                                                  pad_multiple, seed))
        return self._training(ds, self.worker_steps(batch_size))

    def epochs_dataset(self, batch_size, epochs, initial_epoch=0, seed=0, chunk_batches=50, pad_multiple=8):
        """As TaskData.epochs_dataset: epoch e depends only on (seed, e)."""
        self._check_batch_size(batch_size)
        if not 0 <= initial_epoch < epochs:
            raise ValueError(f"initial_epoch={initial_epoch} must be in [0, {epochs}).")
        base = tf.constant(int(seed or 0), tf.int64)
        ds = tf.data.Dataset.range(initial_epoch, epochs).flat_map(
            lambda e: self._epoch(batch_size, base * 1_000_003 + e, True, chunk_batches, None, pad_multiple, seed))
        return self._training(ds, (epochs - initial_epoch) * self.worker_steps(batch_size))

    def _training(self, ds, steps):
        ds = ds.apply(tf.data.experimental.assert_cardinality(steps))
        if self.worker[1] > 1:
            # each worker reads its own files already: tf.distribute must not shard again
            options = tf.data.Options()
            options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
            ds = ds.with_options(options)
        return ds.prefetch(tf.data.AUTOTUNE)

    def _parse(self, records, with_targets):
        parsed = tf.io.parse_example(records, FEATURES)
        columns = {"token_ids": tf.cast(parsed["token_ids"], tf.int32),
                   "segment_ids": tf.cast(parsed["segment_ids"], tf.int32)}
        if with_targets:
            columns["__target__"] = tf.cast(parsed["label"], tf.int32)
        return columns

    def records(self, epoch_seed=None, paths=None):
        """The serialized examples of `paths` (default: this worker's files): in file order,
        or with an epoch_seed (int64 tensor) in a shuffled file order, interleaved."""
        paths = self.worker_paths if paths is None else paths
        if epoch_seed is None:
            return tf.data.TFRecordDataset(paths, compression_type=self.compression)
        order = tf.argsort(tf.random.stateless_uniform([len(paths)], tf.stack([epoch_seed, 2])))
        files = tf.data.Dataset.from_tensor_slices(tf.gather(tf.constant(paths), order))
        return files.interleave(lambda f: tf.data.TFRecordDataset(f, compression_type=self.compression),
                                cycle_length=min(4, len(paths)), block_length=16,
                                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    def _epoch(self, batch_size, epoch_seed, with_targets, chunk_batches, fixed_length, pad_multiple, seed):
        """One epoch of training batches, a function of the int64 tensor epoch_seed only:
        this worker's files in a shuffled order, interleaved, cut into windows of
        shuffle_buffer examples (a multiple of batch_size); in each, the rows are shuffled,
        sorted by length within chunks of chunk_batches batches, batched, and the batches
        shuffled within their chunk. Stateless random ops, so that any epoch can be replayed."""
        epoch_seed = tf.cast(epoch_seed, tf.int64)
        ds = self.records(epoch_seed)
        position, workers = self.worker
        if workers > 1:
            # every worker gives the steps of an epoch, whatever its files hold (it wraps around)
            ds = ds.repeat().take(self.worker_examples(batch_size))
        window = max(1, math.ceil(self.shuffle_buffer / batch_size)) * batch_size
        longest = self.preprocessor.maxlen + 1
        buckets = self.bucket_lengths() if self.bucketed and fixed_length is None else None

        def window_batches(i, records):
            columns = self._parse(records, with_targets)
            wseed = tf.random.experimental.stateless_fold_in(tf.stack([epoch_seed, 3]), i)
            n = tf.shape(records, out_type=tf.int64)[0]
            rows = tf.argsort(tf.random.stateless_uniform([n], wseed))
            lengths = tf.cast(tf.gather(columns["token_ids"].row_lengths(), rows), tf.int64)
            key = tf.range(n) // (batch_size * chunk_batches) * longest + lengths
            rows = tf.gather(rows, tf.argsort(key, stable=True))
            steps = (n + batch_size - 1) // batch_size
            batches = tf.RaggedTensor.from_row_splits(rows, tf.minimum(tf.range(steps + 1) * batch_size, n))
            order = tf.argsort(tf.cast(tf.range(steps) // chunk_batches, tf.float32)
                               + tf.random.stateless_uniform([steps], tf.random.experimental.stateless_fold_in(
                                   wseed, 1)))
            out = tf.data.Dataset.from_tensor_slices(tf.gather(batches, order))
            return out.map(lambda idx: {k: tf.gather(v, idx) for k, v in columns.items()})

        ds = ds.batch(window).enumerate().flat_map(window_batches)
        if self.fixed_shapes:  # only the epoch's last batch can be short: dropped, as in-memory data does
            ds = ds.filter(lambda el: tf.shape(el["token_ids"].row_lengths())[0] == batch_size)
        ds = ds.map(lambda el: self._pad(el, fixed_length, pad_multiple, buckets))
        ds = self.map_batches(ds, training=True, seed=seed, with_targets=with_targets, fixed_length=fixed_length,
                              epoch_seed=epoch_seed)
        if self.fixed_shapes:
            ds = ds.map(lambda *el: tf.nest.map_structure(lambda t: with_batch_dim(t, batch_size), el))
        return ds

    def _eval_batches(self, batch_size, with_targets, fixed_length, pad_multiple):
        """All files (every worker evaluates on the same data; tf.distribute splits it) in
        file order, with the fixed validation masks."""
        ds = self.records(paths=self.paths).batch(batch_size).map(lambda r: self._parse(r, with_targets))
        buckets = self.bucket_lengths() if self.bucketed and fixed_length is None else None
        ds = ds.map(lambda el: self._pad(el, fixed_length, pad_multiple, buckets),
                    num_parallel_calls=tf.data.AUTOTUNE)
        return self.map_batches(ds, training=False, seed=None, with_targets=with_targets, fixed_length=fixed_length)

    def __repr__(self):
        return (f"ShardData({len(self.paths)} files, {len(self)} examples, worker {self.worker[0]} of "
                f"{self.worker[1]})")


def open_shards(folder, preproc, verify=True, shuffle_buffer=10_000, files=None, worker=None):
    """ShardData over a folder's files (all, or the entries `files` of its manifest), after
    checking them and their compatibility with preproc."""
    manifest = read_manifest(folder)
    check_compatible(folder, manifest, preproc)
    entries = manifest["shards"]
    files = range(len(entries)) if files is None else files
    data = ShardData(check_files(folder, manifest, verify, files), [entries[i]["examples"] for i in files], preproc,
                     manifest.get("compression"), shuffle_buffer, worker, stats=manifest.get("stats"))
    data.pieces = sum(entries[i]["pieces"] for i in files)
    return data


def shard_data(folder, vocabulary="minilm", maxlen=None, nsp=None, objective=None, family=None, lowercase=True,
               mask_rate=0.15, whole_word=False, short_seq_prob=None, seed=0, val_corpus=None, val_shards=1,
               shuffle_buffer=10_000, fixed_shapes=False, verify=True, verbose=1):
    """`pretraining_data(shards=folder, …)`: (train ShardData, val data, preprocessor).

    Validation: val_corpus (a Corpus, made in memory, or another shard folder), else the
    folder's last `val_shards` files. Arguments as pretraining_data's; maxlen and the
    objective default to the manifest's.

    Example:
    >>> # trn, val, pre = shard_data("shards/", vocabulary="vocab.txt")
    """
    manifest = read_manifest(folder)
    maxlen = manifest["maxlen"] if maxlen is None else maxlen
    if objective is None and nsp is None:
        objective = manifest["objective"]
    preproc = make_preprocessor(vocabulary, maxlen, nsp=nsp, mask_rate=mask_rate, whole_word=whole_word,
                                lowercase=lowercase, seed=seed, objective=objective, family=family,
                                short_seq_prob=manifest.get("short_seq_prob", 0.1) if short_seq_prob is None
                                else short_seq_prob)
    check_compatible(folder, manifest, preproc)
    n = len(manifest["shards"])
    if val_corpus is None:
        if not isinstance(val_shards, int) or not 1 <= val_shards < n:
            raise DataError(f"Holding out val_shards={val_shards} of the {n} files in {os.fspath(folder)!r} leaves "
                            "none to train on (or none to validate): write more shards (a smaller "
                            "examples_per_shard) or pass val_corpus=….")
        train_files = range(n - val_shards)
        val = open_shards(folder, preproc, verify, shuffle_buffer, files=range(n - val_shards, n), worker=(0, 1))
    else:
        train_files = None
        if isinstance(val_corpus, (str, os.PathLike)):
            val = open_shards(val_corpus, preproc, verify, shuffle_buffer, worker=(0, 1))
        else:
            val = build_examples(preproc, val_corpus, seed + 1, "val", verbose)
    trn = open_shards(folder, preproc, verify, shuffle_buffer, files=train_files)
    if verbose:
        print(f"kbert: shards {os.fspath(folder)!r}: {len(trn)} training examples in {len(trn.paths)} files"
              + (f" (worker {trn.worker[0]} of {trn.worker[1]} reads {len(trn.worker_paths)})"
                 if trn.worker[1] > 1 else "") + f", {len(val)} validation examples.")
    set_fixed_shapes(fixed_shapes, trn, val)
    return trn, val, preproc
