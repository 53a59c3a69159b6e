"""The `Learner` facade (ktrain style): lr_find, fit_onecycle, autofit, fit, validate.

The loop stays Keras' own `Model.fit`; schedules are `kbert.schedules`, and LR finding,
momentum cycling and recording are `kbert.callbacks`. The task's preprocessor (carried
by the data) supplies the loss, metrics and reports, so the Learner knows no task.
"""

import json
import math
import os

import keras
import numpy as np

from kbert import callbacks as C
from kbert import data as D
from kbert import distribute
from kbert import optimizers
from kbert import plots
from kbert import schedules as S
from kbert.data import TaskData

# Decoupled weight decay skips biases and LayerNorm scales/offsets (as BERT did).
NO_DECAY = ["bias", "gamma", "beta", "LayerNorm", "layer_norm"]


def get_learner(model, train_data, val_data=None, batch_size=32, eval_batch_size=None, seed=None,
                weight_decay=0.01, jit_compile="auto"):
    """A Learner for a model and TaskData from one of kbert's loaders.

    batch_size: the global training batch, split evenly over the replicas of the model's
    strategy; eval_batch_size: for validation and prediction (default: batch_size).
    seed: makes runs repeatable on CPU. jit_compile: passed to Model.compile (XLA).
    """
    return Learner(model, train_data, val_data, batch_size, eval_batch_size, seed, weight_decay, jit_compile)


class Learner:
    def __init__(self, model, train_data, val_data=None, batch_size=32, eval_batch_size=None, seed=None,
                 weight_decay=0.01, jit_compile="auto"):
        if not isinstance(model, keras.Model):
            raise TypeError(f"model must be a keras.Model, got {type(model).__name__}.")
        for name, d in (("train_data", train_data), ("val_data", val_data)):
            if d is not None and not isinstance(d, TaskData):
                raise TypeError(f"{name} must come from a kbert loader (texts_from_df, …), "
                                f"got {type(d).__name__}.")
        if not train_data.has_targets:
            raise ValueError("train_data has no labels.")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        self.model = model
        self.train_data = train_data
        self.val_data = val_data
        self.batch_size = int(batch_size)
        self.eval_batch_size = int(eval_batch_size or batch_size)
        self.seed = seed
        # the data order of epoch e is a function of (data_seed, e): resumable runs
        self.data_seed = int(seed) if seed is not None else int(np.random.randint(0, 2**31 - 1))
        self.weight_decay = weight_decay
        self.jit_compile = jit_compile
        replicas = self.strategy.num_replicas_in_sync
        if self.batch_size % replicas:
            raise ValueError(f"batch_size={self.batch_size} does not split evenly over the strategy's "
                             f"{replicas} replicas; use a multiple of {replicas}.")
        self.preproc = train_data.preprocessor
        self.history = None
        self.recorder = None
        self.lr_finder = None
        self._initial_weights = [w.copy() for w in model.get_weights()]

    # ------------------------------------------------------------------ plumbing
    @property
    def strategy(self):
        return self.model.distribute_strategy

    def steps_per_epoch(self):
        return self.train_data.steps(self.batch_size, training=True)

    def _seed(self, offset=0):
        if self.seed is not None:
            keras.utils.set_random_seed(self.seed + offset)
        return None if self.seed is None else self.seed + offset

    def _compile(self, learning_rate):
        with self.strategy.scope():
            opt = optimizers.AdamW(
                learning_rate=learning_rate, weight_decay=self.weight_decay,
                beta_1=0.9, beta_2=0.999, epsilon=1e-6, clipnorm=1.0,
            )
            opt.exclude_from_weight_decay(var_names=NO_DECAY)
            self.model.compile(optimizer=opt, loss=self.preproc.loss(), metrics=self.preproc.metrics(),
                               jit_compile=self.jit_compile)

    def _datasets(self, epochs, initial_epoch=0):
        multiple = D.pad_multiple_for(self.model)
        trn = self.train_data.epochs_dataset(self.batch_size, epochs, initial_epoch, seed=self.data_seed,
                                             pad_multiple=multiple)
        val = None
        if self.val_data is not None and self.val_data.has_targets:
            val = self.val_data.dataset(self.eval_batch_size, training=False, pad_multiple=multiple)
        return trn, val

    def _fit(self, schedule, epochs, callbacks=None, momentum=None, class_weight=None,
             checkpoint_folder=None, verbose=1, validate=True):
        self._seed()
        self._compile(schedule)
        self.recorder = C.Recorder()
        cbs, initial_epoch = [], 0
        if checkpoint_folder:
            # first: it restores weights, optimizer state and the epoch before the others start
            backup = self._backup(checkpoint_folder)
            initial_epoch = _backup_epoch(backup.backup_dir)
            if initial_epoch >= epochs:
                raise ValueError(f"{backup.backup_dir!r} holds a run that already finished {initial_epoch} epochs; "
                                 "remove it to start again.")
            if initial_epoch:
                print(f"kbert: resuming from {backup.backup_dir!r} at epoch {initial_epoch + 1}/{epochs}")
            cbs.append(backup)
        cbs += [self.recorder, keras.callbacks.TerminateOnNaN()]
        if momentum is not None:
            cbs.append(C.CycleMomentum(schedule, *momentum))
        if checkpoint_folder and distribute.is_chief():
            cbs.append(keras.callbacks.ModelCheckpoint(
                os.path.join(checkpoint_folder, "weights-{epoch:02d}.weights.h5"), save_weights_only=True))
        cbs.extend(callbacks or [])
        trn, val = self._datasets(epochs, initial_epoch)
        distribute.patch_symbolic_build(self.model, lambda: next(iter(self.train_data.dataset(
            self.batch_size, training=False, pad_multiple=D.pad_multiple_for(self.model)))))
        self.history = self.model.fit(
            trn, validation_data=val if validate else None, epochs=epochs, steps_per_epoch=self.steps_per_epoch(),
            initial_epoch=initial_epoch, callbacks=cbs, class_weight=class_weight, verbose=verbose,
            shuffle=False,  # batches come shuffled
        )
        return self.history

    @staticmethod
    def _backup(checkpoint_folder):
        """keras' BackupAndRestore: a killed run resumes from its last finished epoch. Workers
        other than the chief keep their own copy (same weights) so that they never write
        the same file."""
        os.makedirs(checkpoint_folder, exist_ok=True)
        name = "backup" if distribute.is_chief() else f"backup-worker{distribute.worker_index()}"
        return keras.callbacks.BackupAndRestore(os.path.join(checkpoint_folder, name))

    # ------------------------------------------------------------------ LR finder
    # (lr_find never checkpoints: it restores the weights it started from)
    def lr_find(self, start_lr=1e-7, lr_mult=1.01, max_epochs=None, stop_factor=4, show_plot=False,
                suggest=False, verbose=1, end_lr=10.0):
        """Trains with an exponentially growing learning rate and records the loss.

        The rate starts at start_lr and is multiplied by lr_mult every batch, until the
        loss diverges (stop_factor × its minimum), end_lr is reached, or max_epochs pass.
        The model's weights are restored afterwards.
        """
        weights = self.model.get_weights()
        steps = self.steps_per_epoch()
        n_batches = math.ceil(math.log(end_lr / start_lr) / math.log(lr_mult))
        epochs = math.ceil(n_batches / steps) if max_epochs is None else int(max_epochs)
        schedule = keras.optimizers.schedules.ExponentialDecay(start_lr, decay_steps=1, decay_rate=lr_mult)
        finder = C.LRFinder(stop_factor=stop_factor, max_steps=n_batches)
        if verbose:
            print(f"kbert: lr_find: up to {min(n_batches, epochs * steps)} batches "
                  f"({epochs} epoch{'s' if epochs > 1 else ''} max), from lr {start_lr:g}")
        try:
            self._fit(schedule, epochs, callbacks=[finder], verbose=verbose, validate=False)
        finally:
            self.model.set_weights(weights)
        self.lr_finder = finder
        if verbose:
            print("kbert: lr_find done; weights restored. Use learner.lr_plot() or learner.lr_estimate().")
        if show_plot:
            self.lr_plot(suggest=suggest)
        return finder

    def _finder(self):
        if self.lr_finder is None or not self.lr_finder.lrs:
            raise RuntimeError("Run learner.lr_find() first.")
        return self.lr_finder

    def lr_estimate(self, n_skip_beginning=10, n_skip_end=5):
        """Two suggestions, as ktrain: (lr of the steepest loss descent, lr of min loss / 10)."""
        f = self._finder()
        lrs, losses = np.asarray(f.lrs), np.asarray(f.losses)
        end = len(lrs) - n_skip_end if len(lrs) - n_skip_end > n_skip_beginning + 1 else len(lrs)
        start = n_skip_beginning if end - n_skip_beginning > 1 else 0
        lrs, losses = lrs[start:end], losses[start:end]
        finite = np.isfinite(losses)
        lrs, losses = lrs[finite], losses[finite]
        min_loss_lr = float(lrs[int(np.argmin(losses))]) / 10
        if len(lrs) < 2:
            return (None, min_loss_lr)
        grads = np.gradient(losses, np.log(lrs))
        steepest = float(lrs[int(np.argmin(grads))])
        return (steepest, min_loss_lr)

    def lr_plot(self, n_skip_beginning=10, n_skip_end=5, suggest=False, return_fig=False, save_path="lr_find.png"):
        f = self._finder()
        suggestions = None
        if suggest:
            steepest, min10 = self.lr_estimate(n_skip_beginning, n_skip_end)
            suggestions = {"steepest descent": (steepest, "o", "red"), "min loss / 10": (min10, "s", "green")}
            print(f"kbert: suggested learning rates: steepest descent {steepest:.2E}, min loss/10 {min10:.2E}")
        fig = plots.lr_figure(f.lrs, f.losses, n_skip_beginning, n_skip_end, suggestions)
        if return_fig:
            return fig
        plots.show(fig, save_path)
        return None

    # ------------------------------------------------------------------ training
    def fit_onecycle(self, lr, epochs, checkpoint_folder=None, cycle_momentum=True, max_momentum=0.95,
                     min_momentum=0.85, class_weight=None, callbacks=None, verbose=1):
        """Trains `epochs` epochs with the one-cycle policy peaking at `lr` (kbert.schedules.OneCycle)."""
        schedule = S.OneCycle(lr, total_steps=epochs * self.steps_per_epoch())
        momentum = (max_momentum, min_momentum) if cycle_momentum else None
        return self._fit(schedule, epochs, callbacks, momentum, class_weight, checkpoint_folder, verbose)

    def autofit(self, lr, epochs=None, early_stopping=None, reduce_on_plateau=None, reduce_factor=2,
                cycle_momentum=True, max_momentum=0.95, min_momentum=0.85, monitor="val_loss",
                checkpoint_folder=None, class_weight=None, callbacks=None, verbose=1):
        """Triangular cyclical rate (one cycle per epoch, lr/10 ↔ lr), as ktrain.

        epochs=None trains until early stopping (patience 5 unless given); the best
        weights are then restored. reduce_on_plateau=N divides the rate by reduce_factor
        after N epochs without improvement of `monitor`.
        """
        if epochs is None:
            early_stopping = 5 if early_stopping is None else early_stopping
            reduce_on_plateau = 2 if reduce_on_plateau is None else reduce_on_plateau
            epochs = 1024
        if (early_stopping or reduce_on_plateau) and self.val_data is None and monitor.startswith("val_"):
            raise ValueError(f"monitor={monitor!r} needs val_data.")
        steps = self.steps_per_epoch()
        schedule = S.Scaled(S.Triangular(lr / 10, lr, step_size=max(1, steps // 2)))
        cbs = list(callbacks or [])
        if early_stopping:
            cbs.append(keras.callbacks.EarlyStopping(monitor=monitor, patience=early_stopping,
                                                     restore_best_weights=True, verbose=verbose))
        if reduce_on_plateau:
            cbs.append(C.ReduceScheduleOnPlateau(schedule, monitor, reduce_on_plateau, reduce_factor,
                                                 verbose=verbose))
        momentum = (max_momentum, min_momentum) if cycle_momentum else None
        return self._fit(schedule, epochs, cbs, momentum, class_weight, checkpoint_folder, verbose)

    def fit(self, lr, n_cycles, cycle_len=None, cycle_mult=1, checkpoint_folder=None, class_weight=None,
            callbacks=None, verbose=1):
        """Constant rate for n_cycles epochs, or SGDR (cosine annealing with warm restarts)
        with cycles of cycle_len epochs, each cycle_mult times longer than the last."""
        if cycle_len is None:
            return self._fit(float(lr), n_cycles, callbacks, None, class_weight, checkpoint_folder, verbose)
        epochs = int(sum(cycle_len * cycle_mult ** i for i in range(n_cycles)))
        schedule = keras.optimizers.schedules.CosineDecayRestarts(
            lr, first_decay_steps=cycle_len * self.steps_per_epoch(), t_mul=float(cycle_mult), m_mul=1.0)
        return self._fit(schedule, epochs, callbacks, None, class_weight, checkpoint_folder, verbose)

    # ------------------------------------------------------------------ weight decay
    def set_weight_decay(self, wd=0.01):
        self.weight_decay = float(wd)

    def get_weight_decay(self):
        return self.weight_decay

    # ------------------------------------------------------------------ evaluation
    def _eval_data(self, val_data):
        data = val_data if val_data is not None else self.val_data
        if data is None:
            raise ValueError("No validation data: pass val_data or give it to get_learner.")
        if not isinstance(data, TaskData):
            raise TypeError("val_data must come from a kbert loader.")
        return data

    def predict(self, val_data=None, verbose=0):
        """Model outputs (logits) for every row of val_data (default: the learner's), in row order."""
        data = self._eval_data(val_data)
        per_piece = getattr(data.preprocessor, "per_piece", False)
        return D.predict(self.model, data, self.eval_batch_size, per_piece=per_piece, verbose=verbose)

    def validate(self, val_data=None, class_names=None, print_report=True):
        """Prints the task's report (sklearn's classification report for classifiers) and
        returns its summary (the confusion matrix for classifiers)."""
        data = self._eval_data(val_data)
        if not data.has_targets:
            raise ValueError("val_data has no labels to validate against.")
        if hasattr(data.preprocessor, "validate_model"):  # tasks scored by the model's own metrics
            return data.preprocessor.validate_model(self.model, data, self.eval_batch_size, print_report)
        return data.preprocessor.validate(self.predict(data), data, class_names, print_report)

    def evaluate(self, val_data=None, class_names=None, print_report=True):
        """Same as validate (ktrain's alias)."""
        return self.validate(val_data, class_names, print_report)

    def top_losses(self, n=4, val_data=None):
        """The n examples with the highest loss: [(row, loss, truth, prediction), ...]."""
        data = self._eval_data(val_data)
        logits = self.predict(data)
        targets = data.target_rows()
        losses = data.preprocessor.example_losses(logits, targets)
        rows = np.argsort(-losses, kind="stable")[:n]
        out = []
        for r in rows:
            truth, pred = data.preprocessor.describe(logits[r], targets[r])
            out.append((int(r), float(losses[r]), truth, pred))
        return out

    def view_top_losses(self, n=4, preproc=None, val_data=None):
        """Prints the n examples with the highest loss: text, truth, prediction and loss."""
        data = self._eval_data(val_data)
        preproc = preproc or data.preprocessor
        for row, loss, truth, pred in self.top_losses(n, data):
            print("-" * 40)
            print(f"row:{row} | loss:{loss:.2f} | true:{truth} | pred:{pred}\n")
            print(preproc.source_text(data, row))
            print()

    # ------------------------------------------------------------------ plots
    def plot(self, plot_type="loss", return_fig=False, save_path=None):
        """Training curves: "loss" (per epoch, with val_loss), "lr" or "momentum" (per batch)."""
        if self.recorder is None:
            raise RuntimeError("Nothing trained yet.")
        fig = plots.history_figure(plot_type, self.recorder, self.recorder.epochs)
        if return_fig:
            return fig
        plots.show(fig, save_path or f"history_{plot_type}.png")
        return None

    # ------------------------------------------------------------------ layers and weights
    def _backbone(self):
        for layer in self.model.layers:
            if hasattr(layer, "transformer_layers"):
                return layer
        raise ValueError("The model has no BERT backbone layer.")

    def freeze(self, n=None):
        """Freezes the encoder: all of it (n=None; only the head trains), or its embeddings
        and first n transformer layers."""
        backbone = self._backbone()
        if n is None:
            backbone.trainable = False
            return
        backbone.trainable = True
        for layer in backbone.layers:
            if "embedding" in layer.name:
                layer.trainable = False
        for i, layer in enumerate(backbone.transformer_layers):
            layer.trainable = i >= n

    def unfreeze(self):
        self._backbone().trainable = True
        for layer in self._backbone().layers:
            layer.trainable = True

    def print_layers(self, show_wts=False):
        for i, layer in enumerate(self.model.layers):
            line = f"{i} ({'trainable' if layer.trainable else 'frozen'}) : {layer.name} ({type(layer).__name__})"
            if show_wts:
                line += f" {[tuple(w.shape) for w in layer.weights]}"
            print(line)
            for sub in getattr(layer, "transformer_layers", []):
                print(f"    ({'trainable' if sub.trainable else 'frozen'}) : {sub.name}")

    def reset_weights(self, verbose=1):
        """Puts back the weights the model had when the Learner was created."""
        self.model.set_weights(self._initial_weights)
        if verbose:
            print("kbert: weights reset to those at get_learner time.")

    def save_model(self, fpath):
        """Saves the model in Keras' native format (a .keras file)."""
        if not str(fpath).endswith(".keras"):
            fpath = str(fpath) + ".keras"
        self.model.save(fpath)
        return fpath

    def load_model(self, fpath):
        """Loads a model saved with save_model (replaces learner.model)."""
        if not str(fpath).endswith(".keras") and os.path.exists(str(fpath) + ".keras"):
            fpath = str(fpath) + ".keras"
        with self.strategy.scope():
            self.model = keras.models.load_model(fpath, compile=False)
        return self.model



def _backup_epoch(backup_dir):
    """Epochs finished by the run backed up in backup_dir (keras' training_metadata.json)."""
    path = os.path.join(backup_dir, "training_metadata.json")
    if not os.path.exists(path):
        return 0
    with open(path, encoding="utf-8") as f:
        return int(json.load(f).get("epoch", 0))
