"""The `Learner` facade (ktrain style): lr_find, fit_onecycle, autofit, fit, validate.

The loop stays Keras' own `Model.fit`; schedules are `kbert.schedules`, and LR finding,
momentum cycling and recording are `kbert.callbacks`. The task's preprocessor (carried
by the data) supplies the loss, metrics and reports, so the Learner knows no task.
"""

import os

import keras
import numpy as np
import tensorflow as tf

from kbert import callbacks as C
from kbert import data as D
from kbert import distribute
from kbert import optimizers
from kbert.data import TaskData
from kbert.distill import Distiller, with_row_ids
from kbert.seeding import set_seed
from kbert.learner.array_task import array_preprocessor
from kbert.learner.arrays import ArrayData, check_arrays
from kbert.learner.evaluation import EvaluationMixin
from kbert.learner.layers import NO_DECAY, LayersMixin, layer_lr_multipliers
from kbert.learner.lr_find import LRFinderMixin
from kbert.learner.training import TrainingMixin, check_count, check_rate
from kbert.tasks import TaskPreprocessor


def get_learner(model, train_data, val_data=None, batch_size=32, eval_batch_size=None, seed=None,
                weight_decay=0.01, jit_compile="auto", teacher=None, temperature=2.0, alpha=0.5, hidden_loss=0.0,
                optimizer="adamw", accumulate=1, lr_decay_rate=None, ema=None):
    """A Learner for a model and its data (ktrain's get_learner).

    Args:
        model: a keras.Model from a kbert builder (text_classifier, sequence_tagger, qa_model,
            bert_pretrainer), or any Keras model the user compiled with a loss, for arrays.
        train_data, val_data: TaskData from the same loader (texts_from_df, entities_from_conll, …),
            or tuples `(x, y)` of numpy arrays, as ktrain's ArrayLearner: x an array, a dict or
            a list of arrays; y class ids, one-hot (or multi-hot) rows, or float targets. The
            model's compiled loss and metrics are kept; kbert trains it with its AdamW.
        batch_size: the global training batch, split evenly over the replicas of the model's strategy.
        eval_batch_size: rows per batch for validation and prediction (default: batch_size).
        seed: makes runs repeatable on CPU (weights' draws, batch order, dropout).
        weight_decay: the decoupled weight decay (not on biases and LayerNorm).
        jit_compile: passed to Model.compile (XLA); "auto" is Keras' choice.
        teacher: (kbert) distil: a fine-tuned model (or predictor) of the same task whose
            softened outputs `model` learns from (`kbert.distill`); `learner.model` stays the
            student, an ordinary task model.
        temperature, alpha, hidden_loss: the distillation loss, alpha · T² · KL(teacher_T ‖
            student_T) + (1 − alpha) · task loss (+ hidden_loss · cosine distance of the last
            hidden states); validation reports the task loss.
        optimizer: "adamw" (`kbert.optimizers.AdamW`, Keras' AdamW with a fused update) or
            "lamb" (`kbert.optimizers.Lamb`, Keras' Lamb: layer-wise trust ratios, for large
            batches); both with clipnorm=1.0, epsilon=1e-6 and weight decay off biases and
            LayerNorm (`NO_DECAY`).
        accumulate: gradient accumulation: one optimizer update every `accumulate` batches,
            with the mean of their gradients (the update of one batch of
            `accumulate × batch_size` rows, in the memory of `batch_size`). Schedules count
            updates; the fit methods take `accumulate=` to override it for one run.
        lr_decay_rate: layer-wise learning-rate decay (ELECTRA's recipe; e.g. 0.9), for
            models with a keras-hub backbone: the head keeps the rate, encoder layer l of L
            (0 = the bottom) gets rate × lr_decay_rate^(L−l) and the embeddings
            lr_decay_rate^(L+1), under every schedule (see `layer_lr_multipliers`).
            None: one rate for all. The fit methods take `lr_decay_rate=` (1.0: off) for one run.
        ema: keep an exponential moving average of the weights with this momentum (Keras'
            `use_ema`, e.g. 0.99): validation during fit uses the averaged weights, and after
            fit the model holds them. None: off. The fit methods take `ema=` (0: off) for one run.

    Returns:
        A `Learner`.

    Example:
    >>> # trn, val, preproc = kbert.text.texts_from_df(df, "text", "label", val_df=val_df)
    >>> # learner = kbert.get_learner(kbert.text.text_classifier(preproc), trn, val, batch_size=32)
    >>> # learner.fit_onecycle(1e-4, 3)
    >>> # model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])  # any Keras model
    >>> # learner = kbert.get_learner(model, train_data=(x, y), val_data=(x_val, y_val))
    >>> # learner = kbert.get_learner(kbert.distill.student(teacher), trn, val, teacher=teacher)  # distil
    >>> # learner = kbert.get_learner(model, trn, val, batch_size=16, accumulate=4, optimizer="lamb")  # 64 a step
    >>> # learner = kbert.get_learner(model, trn, val, lr_decay_rate=0.9, ema=0.99)
    """
    return Learner(model, train_data, val_data, batch_size, eval_batch_size, seed, weight_decay, jit_compile,
                   teacher=teacher, temperature=temperature, alpha=alpha, hidden_loss=hidden_loss,
                   optimizer=optimizer, accumulate=accumulate, lr_decay_rate=lr_decay_rate, ema=ema)


def check_fraction(value, name, high_inclusive):
    """None, or a float in (0, 1] (high_inclusive) or (0, 1); an error naming the argument."""
    if value is None:
        return None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 1
    if not ok or (value == 1 and not high_inclusive):
        bound = "1]" if high_inclusive else "1)"
        raise ValueError(f"{name} must be None or a number in (0, {bound}, got {value!r}.")
    return float(value)


OPTIMIZERS = {"adamw": optimizers.AdamW, "lamb": optimizers.Lamb}


def unwrap(data):
    """ktrain's `(x_train, y_train)` unpacking of a kbert loader's data gives (TaskData, targets):
    the TaskData already holds its targets."""
    if isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], TaskData):
        return data[0]
    return data


class Learner(LRFinderMixin, TrainingMixin, EvaluationMixin, LayersMixin):
    """Trains a model on a task's data, ktrain style: find a rate, fit, look at the results.

    The loop is Keras' own `Model.fit`; the schedules are `kbert.schedules` and the LR finder,
    momentum cycling and recording are `kbert.callbacks`. The task's preprocessor, carried by
    the data, supplies the loss, metrics and reports (the contract in `kbert.tasks`), so the
    Learner knows no task. Build it with `kbert.get_learner` (same arguments).

    Methods by purpose:
        learning rate: `lr_find`, `lr_plot`, `lr_estimate`, `set_lr`
        training: `fit_onecycle`, `autofit`, `fit`, `set_weight_decay`
        results: `validate` / `evaluate`, `predict`, `ground_truth`, `top_losses`,
            `view_top_losses`, `plot`
        model: `freeze`, `unfreeze`, `print_layers`, `layer_output`, `reset_weights`,
            `save_model`, `load_model`, `set_model`

    Example:
    >>> # learner = kbert.get_learner(model, trn, val, batch_size=32, seed=42)
    >>> # learner.lr_find(show_plot=True, max_epochs=1)
    >>> # learner.fit_onecycle(1e-4, 3)
    >>> # learner.validate(class_names=preproc.get_classes())
    """

    def __init__(self, model, train_data, val_data=None, batch_size=32, eval_batch_size=None, seed=None,
                 weight_decay=0.01, jit_compile="auto", teacher=None, temperature=2.0, alpha=0.5, hidden_loss=0.0,
                 optimizer="adamw", accumulate=1, lr_decay_rate=None, ema=None):
        if not isinstance(model, keras.Model):
            raise TypeError(f"model must be a keras.Model, got {type(model).__name__}.")
        if train_data is None:
            raise ValueError("train_data is required: a kbert loader's data or a tuple (x, y) of arrays.")
        train_data, val_data = unwrap(train_data), unwrap(val_data)
        if not isinstance(train_data, TaskData):
            x, y = check_arrays(train_data, "train_data")
            if y is None:
                raise ValueError("train_data has no labels: give (x, y).")
            train_data = ArrayData(x, y, array_preprocessor(model, y))
        if not train_data.has_targets:
            raise ValueError("train_data has no labels.")
        if not isinstance(train_data.preprocessor, TaskPreprocessor):
            raise TypeError(f"train_data's preprocessor is a {type(train_data.preprocessor).__name__}, "
                            "not a kbert task preprocessor.")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        self.model = model
        self.train_data = train_data
        self.preproc = train_data.preprocessor
        self.val_data = self._as_data(val_data, "val_data")
        self.batch_size = int(batch_size)
        self.eval_batch_size = int(eval_batch_size or batch_size)
        self.seed = seed
        # the data order of epoch e is a function of (data_seed, e): resumable runs
        self.data_seed = int(seed) if seed is not None else int(np.random.randint(0, 2**31 - 1))
        self.weight_decay = weight_decay
        self.jit_compile = jit_compile
        if not isinstance(optimizer, str) or optimizer.lower() not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {optimizer!r}.")
        self.optimizer = optimizer.lower()
        self.accumulate = check_count(accumulate, "accumulate")
        self.lr_decay_rate = check_fraction(lr_decay_rate, "lr_decay_rate", high_inclusive=True)
        self.ema = check_fraction(ema, "ema", high_inclusive=False)
        if self.lr_decay_rate is not None:
            layer_lr_multipliers(model, self.lr_decay_rate)  # a model without a backbone: say so now
        replicas = self.strategy.num_replicas_in_sync
        if self.batch_size % replicas:
            raise ValueError(f"batch_size={self.batch_size} does not split evenly over the strategy's "
                             f"{replicas} replicas; use a multiple of {replicas}.")
        self.history = None
        self.recorder = None
        self.lr_finder = None
        self._initial_weights = [w.copy() for w in model.get_weights()]
        # distillation: Keras trains the Distiller (its only weights are the student's)
        self.distiller = None
        if teacher is not None:
            with model.distribute_strategy.scope():  # Keras fits the Distiller in the student's strategy
                self.distiller = Distiller(model, teacher, self.preproc, temperature, alpha, hidden_loss)
        self.cache_teacher = True  # the teacher's outputs computed once per training row
        self._cached = None

    # ------------------------------------------------------------------ plumbing
    @property
    def strategy(self):
        return self.model.distribute_strategy

    def _trainee(self):
        """The model Keras fits: the Distiller when distilling, else the model."""
        return self.distiller if self.distiller is not None else self.model

    def _train_data(self):
        """train_data, with row ids for the cached teacher outputs when distilling with a cache."""
        d = self.distiller
        if d is None or not self.cache_teacher or d.hidden_loss:
            if d is not None:
                d.held.table = None
            return self.train_data
        if self._cached is None or self._cached[0] is not self.train_data:
            d.cache_teacher(self.train_data, self.eval_batch_size)
            self._cached = (self.train_data, with_row_ids(self.train_data))
        return self._cached[1]

    def _as_data(self, data, name):
        """TaskData as given; (x, y) arrays as ArrayData of this learner's array task."""
        data = unwrap(data)
        arrays = isinstance(self.train_data, ArrayData)
        if data is None or isinstance(data, TaskData) and isinstance(data, ArrayData) == arrays:
            return data
        if not arrays or isinstance(data, TaskData):
            what = "(x, y) arrays" if arrays else f"a kbert loader's data ({self.preproc.task})"
            raise TypeError(f"{name} must be {what}, like train_data; got {type(data).__name__}.")
        x, y = check_arrays(data, name)
        if y is not None:
            self.preproc.check_targets(y, name)
        return ArrayData(x, y, self.preproc)

    def steps_per_epoch(self):
        return self.train_data.steps(self.batch_size, training=True)

    def _seed(self, offset=0):
        if self.seed is not None:
            set_seed(self.seed + offset, [getattr(self.preproc, "tokenizer", None)])
        return None if self.seed is None else self.seed + offset

    def _accumulate(self, accumulate=None):
        """The batches per update of a run: the fit method's `accumulate`, else the Learner's."""
        return self.accumulate if accumulate is None else check_count(accumulate, "accumulate")

    def _refinements(self, lr_decay_rate=None, ema=None):
        """(lr_decay_rate, ema) of a run: the fit method's, else the Learner's; 1.0 and 0 turn them off."""
        if lr_decay_rate is None:
            lr_decay_rate = self.lr_decay_rate
        if ema is None:
            ema = self.ema
        elif ema == 0:
            ema = None
        return (check_fraction(lr_decay_rate, "lr_decay_rate", high_inclusive=True),
                check_fraction(ema, "ema", high_inclusive=False))

    def _compile(self, learning_rate, accumulate=1, lr_decay_rate=None, ema=None):
        multipliers = {}
        if lr_decay_rate is not None and lr_decay_rate != 1.0:
            multipliers = layer_lr_multipliers(self.model, lr_decay_rate)
        with self.strategy.scope():
            opt = OPTIMIZERS[self.optimizer](
                learning_rate=learning_rate, weight_decay=self.weight_decay,
                beta_1=0.9, beta_2=0.999, epsilon=1e-6, clipnorm=1.0,
                # Keras takes None (not 1) for no accumulation
                gradient_accumulation_steps=accumulate if accumulate > 1 else None,
                lr_multipliers=multipliers,
                use_ema=ema is not None, ema_momentum=ema if ema is not None else 0.99,
                ema_overwrite_frequency=None,
            )
            opt.exclude_from_weight_decay(var_names=NO_DECAY)
            trainee = self._trainee()
            trainee.compile(optimizer=opt, loss=self.preproc.loss(), metrics=self.preproc.metrics(),
                            loss_weights=self.preproc.loss_weights, jit_compile=self.jit_compile)
            # Keras would build the optimizer inside the train step's first trace (default strategy),
            # and a tf.function that creates variables is traced twice: built here, once.
            if all(layer.built for layer in trainee._flatten_layers()):
                opt.build(trainee.trainable_variables)

    def _datasets(self, epochs, initial_epoch=0, skip=0):
        """Training batches from batch `skip` of epoch `initial_epoch` (a resumed run), and
        the validation batches."""
        multiple = D.pad_multiple_for(self._trainee())
        trn = self._train_data().epochs_dataset(self.batch_size, epochs, initial_epoch, seed=self.data_seed,
                                             pad_multiple=multiple)
        if skip:  # the same batches (and masks: numbered within their epoch) as the uninterrupted run's
            trn = trn.skip(skip).prefetch(tf.data.AUTOTUNE)
        val = None
        if self.val_data is not None and self.val_data.has_targets:
            val = self.val_data.dataset(self.eval_batch_size, training=False, pad_multiple=multiple)
        return trn, val

    def _fit(self, schedule, epochs, callbacks=None, momentum=None, class_weight=None,
             checkpoint_folder=None, verbose=1, validate=True, nan_guard=True, accumulate=1, checkpoint_every=None,
             lr_decay_rate=None, ema=None):
        """Keras' fit with kbert's callbacks. nan_guard: on a NaN loss, stop and put back the
        weights of the epoch's start (lr_find restores its own). accumulate: batches per
        optimizer update. checkpoint_every: back up every this many batches too.
        lr_decay_rate, ema: layer-wise rates and the weights' average (None: off)."""
        if checkpoint_every is not None:
            check_count(checkpoint_every, "checkpoint_every")
            if not checkpoint_folder:
                raise ValueError("checkpoint_every needs checkpoint_folder (where the backups go).")
        self._seed()
        self._compile(schedule, accumulate, lr_decay_rate, ema)
        self.recorder = C.Recorder()
        cbs, initial_epoch, skip, backup = [], 0, 0, None
        if checkpoint_folder:
            # first: it restores weights, optimizer state and the epoch before the others start
            backup = self._backup(checkpoint_folder, checkpoint_every)
            initial_epoch, skip = backup.initial_epoch, backup.initial_step
            if initial_epoch >= epochs:
                raise ValueError(f"{backup.backup_dir!r} holds a run that already finished {initial_epoch} epochs; "
                                 "remove it to start again.")
            if initial_epoch or skip:
                print(f"kbert: resuming from {backup.backup_dir!r} at epoch {initial_epoch + 1}/{epochs}"
                      + (f", batch {skip + 1}/{self.steps_per_epoch()}" if skip else ""))
            cbs.append(backup)
        # a NaN loss is always reported, even with verbose=0
        guard = C.RestoreOnNaN() if nan_guard else keras.callbacks.TerminateOnNaN()
        cbs += [self.recorder, guard]
        if momentum is not None:
            cbs.append(C.CycleMomentum(schedule, *momentum))
        swap = None
        if ema is not None:
            # validation sees the averaged weights, and so do the epoch-end callbacks from here
            # on (ModelCheckpoint, EarlyStopping's best weights) until swap.back; the backup
            # (before) keeps the trained ones
            swap = C.EMAWeights()
            cbs.append(swap)
        if checkpoint_folder and distribute.is_chief():
            cbs.append(keras.callbacks.ModelCheckpoint(
                os.path.join(checkpoint_folder, "weights-{epoch:02d}.weights.h5"), save_weights_only=True))
        cbs.extend(callbacks or [])
        if backup is not None:
            cbs.append(backup.cutter)  # last: ends a resumed epoch after its remaining batches
        if swap is not None:
            cbs.append(swap.back)
        trn, val = self._datasets(epochs, initial_epoch, skip)
        distribute.patch_symbolic_build(self._trainee(), lambda: next(iter(self.train_data.dataset(
            self.batch_size, training=False, pad_multiple=D.pad_multiple_for(self._trainee())))))
        self.history = self._trainee().fit(
            trn, validation_data=val if validate else None, epochs=epochs, steps_per_epoch=self.steps_per_epoch(),
            initial_epoch=initial_epoch, callbacks=cbs, class_weight=class_weight, verbose=verbose,
            shuffle=False,  # batches come shuffled
        )
        # Keras' fit ends with the averaged weights in the model (finalize_variable_values);
        # after a NaN the average holds NaN too: the epoch's start again
        if swap is not None and getattr(guard, "stopped", None) is not None:
            self._trainee().set_weights(guard._weights)
        # as ktrain's histories: the rate (and the cycled momentum) of every batch, and the batch count
        # (loss and metrics stay per epoch)
        rec = self.recorder
        self.history.history["lr"] = list(rec.lrs)
        self.history.history["iterations"] = list(range(1, len(rec.lrs) + 1))
        if momentum is not None:
            self.history.history["momentum"] = list(rec.momentums)
        else:
            self.history.history.pop("momentum", None)
        return self.history

    def _backup(self, checkpoint_folder, checkpoint_every=None):
        """kbert's BackupAndRestore (Keras' one, resuming inside an epoch too): a killed run
        resumes from its last backup, at the end of an epoch or every `checkpoint_every`
        batches. Workers other than the chief keep their own copy (same weights) so that
        they never write the same file."""
        os.makedirs(checkpoint_folder, exist_ok=True)
        name = "backup" if distribute.is_chief() else f"backup-worker{distribute.worker_index()}"
        return C.BackupAndRestore(os.path.join(checkpoint_folder, name), self.steps_per_epoch(),
                                  save_freq=checkpoint_every or "epoch")

    # ------------------------------------------------------------------ model and rate
    def set_model(self, model):
        """Replaces `learner.model` (ktrain's set_model); the history is cleared. With array
        data, a model compiled with a loss brings its own loss and metrics."""
        if not isinstance(model, keras.Model):
            raise TypeError(f"model must be a keras.Model, got {type(model).__name__}.")
        if isinstance(self.train_data, ArrayData) and getattr(model, "compiled", False) and model.loss is not None:
            self.preproc = array_preprocessor(model, self.train_data.targets)
            for d in (self.train_data, self.val_data):
                if d is not None:
                    d.preprocessor = self.preproc
        if self.distiller is not None:
            d = self.distiller
            with model.distribute_strategy.scope():
                self.distiller = Distiller(model, d.teacher, self.preproc, d.temperature, d.alpha, d.hidden_loss)
            self._cached = None
        self.model, self.history = model, None

    def set_lr(self, lr):
        """Sets the rate of `learner.model.optimizer` (ktrain's set_lr), for training the
        model with Keras' own `model.fit`. kbert's fit methods set their own rate (`lr`)
        anyway. An optimizer that holds a schedule is replaced by a fresh kbert AdamW at
        the constant rate `lr` (its state starts again)."""
        lr = check_rate(lr, "lr")
        opt = getattr(self._trainee(), "optimizer", None)
        if opt is None or not getattr(self._trainee(), "compiled", False):
            self._compile(lr, self.accumulate, *self._refinements())
            return
        try:
            opt.learning_rate = lr
        except TypeError:  # Keras: a schedule's rate is not settable
            self._compile(lr, self.accumulate, *self._refinements())

    # ------------------------------------------------------------------ weight decay
    def set_weight_decay(self, wd=0.01):
        self.weight_decay = float(wd)

    def get_weight_decay(self):
        return self.weight_decay

