"""tf.data helpers shared by every task: `TaskData`, length bucketing, per-batch padding.

A `TaskData` holds one split already tokenized (ragged word-piece ids, one row per
example), its targets and its source rows. The Learner asks it for a `tf.data.Dataset`
at its own batch size:

- training: rows shuffled, sorted by length inside chunks of `chunk_batches` batches,
  batched, each batch padded to its longest row (rounded up to a multiple of 8 under
  XLA, so few distinct shapes reach the compiler), then the batches shuffled within
  their chunk; an epoch is a function of its seed (stateless random ops), so a resumed
  run replays it exactly (`epochs_dataset`);
- evaluation / prediction: rows sorted by length (outputs are put back in row order
  by `restore_order`);
- fixed_shapes (TPUs): widths from a few buckets, a static batch dimension.
Fixed padding to maxlen wastes most of the work on short texts (emotion rows hold ~23
pieces, so padding to 128 would spend 82 % of the compute on padding).
"""

import math

import keras
import numpy as np
import tensorflow as tf

PAD_MULTIPLE = 8
CHUNK_BATCHES = 50


def pad_multiple_for(model):
    """Width multiple for a model's batches.

    Under XLA (jit_compile, the Keras default on GPUs) every new batch shape compiles a
    new program, so widths are rounded up to a multiple of 8 to keep the shapes few. On
    CPU Keras traces one shape-agnostic graph, so rows are padded only to the longest row
    (with emotion-like texts, rounding to 8 pads 16 % of positions against 4 % without).
    """
    try:
        return PAD_MULTIPLE if model.jit_compile else 1
    except (AttributeError, ValueError):
        return PAD_MULTIPLE


def round_up(n, multiple=PAD_MULTIPLE):
    return int(math.ceil(n / multiple) * multiple)


class TaskData:
    """One split of a task, tokenized, ready to become a tf.data pipeline.

    features: dict name → tf.RaggedTensor [rows, (pieces)]; must hold "token_ids".
    targets: np.ndarray [rows, ...], a tf.RaggedTensor [rows, (pieces)] for per-piece
        targets, or None (prediction only).
    preprocessor: the task's preprocessor (knows the loss, metrics and reports).
    source: a pandas DataFrame of the original rows, for reports (top losses).
    pad_values: padding value per feature name (0 by default); target_pad for ragged targets.
    """

    def __init__(self, features, targets, preprocessor, source=None, pad_values=None,
                 target_pad=-100, stats=None):
        if "token_ids" not in features:
            raise ValueError('TaskData features need "token_ids".')
        self.features = dict(features)
        self.targets = targets
        self.preprocessor = preprocessor
        self.source = source
        self.pad_values = dict(pad_values or {})
        self.target_pad = target_pad
        self.stats = dict(stats or {})
        # static shapes (TPUs): widths from a few bucket lengths, no partial training batch
        self.fixed_shapes = False
        self.lengths = self.features["token_ids"].row_lengths().numpy()
        # stable sort: equal lengths keep their row order
        self.eval_order = np.argsort(self.lengths, kind="stable")

    # Widths from bucket_lengths() even without fixed_shapes. Every new batch shape costs the
    # process memory for the rest of the run (kernel and oneDNN caches, allocator pools), so
    # tasks with long runs (pretraining) keep the shapes few; short fine-tuning runs pad each
    # batch only to its longest row.
    bucket_widths = False

    @property
    def bucketed(self):
        """Whether batch widths come from bucket_lengths() (fixed shapes, or bucket_widths)."""
        return self.fixed_shapes or self.bucket_widths

    def __len__(self):
        return int(self.lengths.shape[0])

    @property
    def x(self):
        """The rows' word-piece ids (a list of id lists, one per row), as ktrain's datasets' `.x`."""
        return self.features["token_ids"].to_list()

    @property
    def y(self):
        """The targets (None for prediction-only data), as ktrain's datasets' `.y`."""
        return self.targets

    def steps(self, batch_size, training=False):
        """Batches per pass (training with fixed shapes drops the last partial batch)."""
        if training and self.fixed_shapes:
            return len(self) // batch_size
        return int(math.ceil(len(self) / batch_size))

    def bucket_lengths(self):
        """Widths a fixed-shape batch may take: powers of two from 16, then maxlen."""
        longest = int(self.lengths.max()) if len(self) else 16
        maxlen = max(int(getattr(self.preprocessor, "maxlen", longest)), longest)
        sizes, n = [], 16
        while n < maxlen:
            sizes.append(n)
            n *= 2
        return sizes + [maxlen]

    @property
    def has_targets(self):
        return self.targets is not None

    def padded_share(self, batch_size, training=True, seed=0, pad_multiple=PAD_MULTIPLE):
        """Share of padded positions in the batches this data gives at batch_size."""
        real = padded = 0
        for x in self.dataset(batch_size, training=training, seed=seed, with_targets=False,
                              pad_multiple=pad_multiple):
            mask = x["padding_mask"].numpy()
            real += int(mask.sum())
            padded += int(mask.size)
        return 1.0 - real / max(1, padded)

    def subset(self, indices):
        """A TaskData of the given rows (in that order)."""
        indices = np.asarray(indices, dtype=np.int64)
        feats = {k: tf.gather(v, indices) for k, v in self.features.items()}
        targets = self._take_targets(indices)
        source = None if self.source is None else self.source.iloc[indices]
        sub = type(self)(feats, targets, self.preprocessor, source, self.pad_values,
                         self.target_pad, self.stats)
        sub.fixed_shapes = self.fixed_shapes
        return sub

    def _take_targets(self, indices):
        if self.targets is None:
            return None
        if isinstance(self.targets, tf.RaggedTensor):
            return tf.gather(self.targets, indices)
        return np.asarray(self.targets)[indices]

    def target_rows(self):
        """Targets as a per-row sequence (a list of arrays for per-piece targets)."""
        if isinstance(self.targets, tf.RaggedTensor):
            return [np.asarray(t) for t in self.targets.to_list()]
        return np.asarray(self.targets)

    def restore_order(self, outputs):
        """Put outputs computed in `eval_order` back into row order."""
        if isinstance(outputs, list):
            restored = [None] * len(outputs)
            for pos, row in enumerate(self.eval_order):
                restored[row] = outputs[pos]
            return restored
        inverse = np.empty_like(self.eval_order)
        inverse[self.eval_order] = np.arange(len(self.eval_order))
        return np.asarray(outputs)[inverse]

    def dataset(self, batch_size, training=False, seed=None, with_targets=True,
                chunk_batches=CHUNK_BATCHES, fixed_length=None, pad_multiple=PAD_MULTIPLE):
        """A tf.data pipeline of (inputs, targets) batches (inputs only without targets).

        training: one epoch of shuffled, length-bucketed batches (see `_epoch`), drawn anew
        at every pass over the dataset (seed fixes the sequence of draws); otherwise rows
        in `eval_order` (sorted by length; `restore_order` puts outputs back).
        pad_multiple: each batch's width is its longest row rounded up to this multiple.
        fixed_length: pad every batch to this length.
        """
        self._check_batch_size(batch_size)
        with_targets = with_targets and self.has_targets
        if training:
            draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
            ds = draws.flat_map(lambda r: self._epoch(batch_size, r, with_targets, chunk_batches, fixed_length,
                                                      pad_multiple, seed))
        else:
            ds = self._eval_batches(batch_size, with_targets, fixed_length, pad_multiple)
        ds = ds.apply(tf.data.experimental.assert_cardinality(self.steps(batch_size, training)))
        return ds.prefetch(tf.data.AUTOTUNE)

    def epochs_dataset(self, batch_size, epochs, initial_epoch=0, seed=0, chunk_batches=CHUNK_BATCHES,
                       pad_multiple=PAD_MULTIPLE):
        """Training batches for epochs initial_epoch … epochs-1 in one pipeline.

        Epoch e's batches (and, for pretraining, its masks) depend only on (seed, e): a run
        resumed at epoch e sees exactly the batches an uninterrupted run would. (Keras
        keeps one iterator across epochs when fit is given steps_per_epoch.)
        """
        self._check_batch_size(batch_size)
        if not 0 <= initial_epoch < epochs:
            raise ValueError(f"initial_epoch={initial_epoch} must be in [0, {epochs}).")
        base = tf.constant(int(seed or 0), tf.int64)
        ds = tf.data.Dataset.range(initial_epoch, epochs).flat_map(
            lambda e: self._epoch(batch_size, base * 1_000_003 + e, self.has_targets, chunk_batches, None,
                                  pad_multiple, seed))
        total = (epochs - initial_epoch) * self.steps(batch_size, training=True)
        return ds.apply(tf.data.experimental.assert_cardinality(total)).prefetch(tf.data.AUTOTUNE)

    @staticmethod
    def _check_batch_size(batch_size):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")

    def _columns(self, with_targets):
        columns = dict(self.features)
        if with_targets:
            columns["__target__"] = (self.targets if isinstance(self.targets, tf.RaggedTensor)
                                     else tf.constant(np.asarray(self.targets)))
        return columns

    def _epoch(self, batch_size, epoch_seed, with_targets, chunk_batches, fixed_length, pad_multiple, seed):
        """One epoch of training batches, a function of the int64 tensor epoch_seed only:
        rows shuffled, sorted by length inside chunks of chunk_batches batches (few
        padded positions), cut into batches, and the batches shuffled within their chunk.
        Stateless random ops, so that any epoch can be replayed."""
        columns = self._columns(with_targets)
        n, steps = len(self), self.steps(batch_size, training=True)
        lengths = tf.constant(self.lengths, tf.int64)
        longest = int(self.lengths.max()) + 1 if n else 1
        epoch_seed = tf.cast(epoch_seed, tf.int64)
        rows = tf.argsort(tf.random.stateless_uniform([n], tf.stack([epoch_seed, 0])))
        # stable: rows of equal length keep their shuffled order
        key = tf.range(n, dtype=tf.int64) // (batch_size * chunk_batches) * longest + tf.gather(lengths, rows)
        rows = tf.gather(rows, tf.argsort(key, stable=True))[: steps * batch_size if self.fixed_shapes else n]
        batches = tf.RaggedTensor.from_row_splits(
            rows, tf.minimum(tf.range(0, steps + 1, dtype=tf.int32) * batch_size, tf.shape(rows)[0]))
        order = tf.argsort(tf.cast(tf.range(steps) // chunk_batches, tf.float32)
                           + tf.random.stateless_uniform([steps], tf.stack([epoch_seed, 1])))
        ds = tf.data.Dataset.from_tensor_slices(tf.gather(batches, order))
        ds = ds.map(lambda idx: {k: tf.gather(v, idx) for k, v in columns.items()})
        buckets = self.bucket_lengths() if self.bucketed and fixed_length is None else None
        ds = ds.map(lambda el: self._pad(el, fixed_length, pad_multiple, buckets))
        ds = self.map_batches(ds, training=True, seed=seed, with_targets=with_targets, fixed_length=fixed_length,
                              epoch_seed=epoch_seed)
        if self.fixed_shapes:  # a static batch dimension (TPUs compile one program per shape)
            ds = ds.map(lambda *el: tf.nest.map_structure(lambda t: with_batch_dim(t, batch_size), el))
        return ds

    def _eval_batches(self, batch_size, with_targets, fixed_length, pad_multiple):
        elements = {k: tf.gather(v, self.eval_order) for k, v in self._columns(with_targets).items()}
        ds = tf.data.Dataset.from_tensor_slices(elements).ragged_batch(batch_size)
        buckets = self.bucket_lengths() if self.bucketed and fixed_length is None else None
        ds = ds.map(lambda el: self._pad(el, fixed_length, pad_multiple, buckets),
                    num_parallel_calls=tf.data.AUTOTUNE)
        return self.map_batches(ds, training=False, seed=None, with_targets=with_targets, fixed_length=fixed_length)

    def map_batches(self, ds, training, seed, with_targets, fixed_length=None, epoch_seed=None):
        """Hook for tasks whose batches are transformed after padding (e.g. dynamic
        masking for pretraining); the identity here. epoch_seed: the int64 tensor that
        fixes a training epoch's randomness (None for evaluation)."""
        return ds

    def _pad(self, el, fixed_length=None, pad_multiple=PAD_MULTIPLE, buckets=None):
        ids = el["token_ids"]
        lengths = ids.row_lengths()
        if buckets is not None:
            sizes = tf.constant(buckets, dtype=lengths.dtype)
            width = tf.gather(sizes, tf.argmax(tf.cast(sizes >= tf.reduce_max(lengths), tf.int32)))
        elif fixed_length is None:
            longest = tf.reduce_max(lengths)
            width = (longest + pad_multiple - 1) // pad_multiple * pad_multiple
        else:
            width = tf.constant(fixed_length, dtype=lengths.dtype)
        x = {}
        for name, value in el.items():
            if name == "__target__":
                continue
            x[name] = value.to_tensor(default_value=self.pad_values.get(name, 0),
                                      shape=tf.stack([tf.shape(lengths, out_type=width.dtype)[0], width]))
        x["padding_mask"] = tf.sequence_mask(lengths, width, dtype=tf.int32)
        if "__target__" not in el:
            return x
        y = el["__target__"]
        if isinstance(y, tf.RaggedTensor):
            y = y.to_tensor(default_value=self.target_pad,
                            shape=tf.stack([tf.shape(lengths, out_type=width.dtype)[0], width]))
        return x, y


def set_fixed_shapes(fixed_shapes, *datas):
    """Loaders' `fixed_shapes=` flag: static shapes for TPUs (see TaskData.bucket_lengths)."""
    for d in datas:
        if d is not None:
            d.fixed_shapes = bool(fixed_shapes)
    return datas


def with_batch_dim(t, batch_size):
    return tf.ensure_shape(t, [batch_size] + [None] * (t.shape.rank - 1))


def uses_xla(model):
    """Keras' own choice for the model (jit_compile "auto": XLA on GPUs, not on CPUs)."""
    try:
        return bool(model.jit_compile)
    except (AttributeError, ValueError):
        return False


def predict_on_batch(model, x):
    """`model(x, training=False)` on one batch (a dict of arrays), as NumPy: what Keras'
    `model.predict_on_batch(x)` gives, through one graph per model traced with every
    dimension unknown. Keras' predict function relaxes a dimension only after it has
    changed, so a new batch size, then a new width, each cost a trace (~1 s for MiniLM) in a
    process's first calls. Models placed by a tf.distribute strategy keep Keras' path."""
    if getattr(model, "_distribute_strategy", None) is not None:
        return keras.tree.map_structure(np.asarray, model.predict_on_batch(x))
    spec = keras.tree.map_structure(lambda v: tf.TensorSpec([None] * len(v.shape), tf.as_dtype(v.dtype)), x)
    cached = model.__dict__.get("_kbert_predict_fn")
    if cached is None or cached[0] != spec:
        fn = tf.function(lambda inputs: model(inputs, training=False), input_signature=[spec],
                         jit_compile=uses_xla(model))
        cached = (spec, fn)
        object.__setattr__(model, "_kbert_predict_fn", cached)  # not a tracked Keras attribute
    return keras.tree.map_structure(np.asarray, cached[1](x))


def predict(model, data, batch_size=32, per_piece=False, verbose=0):
    """Model outputs for every row of `data`, in row order.

    Batches have different widths, so outputs are gathered per batch. per_piece=False:
    outputs are [rows, ...] and are stacked. per_piece=True: outputs are [rows, width,
    ...] and come back as a list with each row cut to its own length.
    """
    ds = data.dataset(batch_size, training=False, with_targets=False, pad_multiple=pad_multiple_for(model))
    bar = keras.utils.Progbar(data.steps(batch_size)) if verbose else None
    outputs = []
    for x in ds:
        out = predict_on_batch(model, x)
        if per_piece:
            lengths = x["padding_mask"].numpy().sum(axis=1)
            outputs.extend(
                keras.tree.map_structure(lambda v, i=i: v[i, : lengths[i]], out)
                for i in range(len(lengths))
            )
        else:
            outputs.append(out)
        if bar is not None:
            bar.add(1)
    return gather_outputs(data, outputs, per_piece)


def gather_outputs(data, outputs, per_piece):
    """Per-batch outputs (batches in length order) → row order: a list of per-row arrays
    (per_piece) or the batches stacked."""
    if per_piece:
        return data.restore_order(outputs)
    if not outputs:
        raise ValueError("No rows to predict.")
    stacked = keras.tree.map_structure(lambda *v: np.concatenate(v), *outputs)
    return keras.tree.map_structure(data.restore_order, stacked)
