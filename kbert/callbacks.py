"""Training callbacks: LR finder, momentum cycling, recording, plateau handling, NaN guard,
throughput (and, from their own modules, BackupAndRestore and EMAWeights).

All are plain `keras.callbacks.Callback`s, usable with `model.fit` outside kbert.
"""

import math
import time

import keras
import numpy as np

from kbert import schedules as S
# re-exported: kbert.callbacks is where a user looks for kbert's callbacks
from kbert.backup import BackupAndRestore  # noqa: F401
from kbert.ema import EMAWeights  # noqa: F401
from kbert.lr_estimates import estimate_indices, lr_estimates, valley  # noqa: F401


class BatchLosses:
    """Recovers each batch's loss from Keras' running epoch mean in the batch logs.

    Keras reports `logs["loss"]` as the mean over the epoch so far; the loss of batch n
    is n·mean_n − (n−1)·mean_{n−1} (batches weighted equally; exact except for a
    smaller last batch).
    """

    def __init__(self):
        self.reset()

    def reset(self):
        self.n, self.mean = 0, 0.0

    def update(self, running_mean):
        self.n += 1
        loss = self.n * running_mean - (self.n - 1) * self.mean
        self.mean = running_mean
        return float(loss)


def _optimizer_step(model):
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def _last_update(model):
    """The update the batch that just ran belongs to. With gradient accumulation over k
    batches, `iterations` counts updates and `_iterations` batches: batch j (0-based) feeds
    update j // k (the rate a schedule gives that update)."""
    opt = model.optimizer
    batches = int(keras.ops.convert_to_numpy(getattr(opt, "_iterations", opt.iterations)))
    return max(0, batches - 1) // (getattr(opt, "gradient_accumulation_steps", None) or 1)


def _current_lr(model):
    opt = model.optimizer
    lr = opt._learning_rate if hasattr(opt, "_learning_rate") else opt.learning_rate
    if isinstance(lr, S.LearningRateSchedule):
        return S.value(lr, _last_update(model))
    return float(keras.ops.convert_to_numpy(opt.learning_rate))


def _optimizer_lr(model):
    """The optimizer's rate now: its schedule at the current step (as Keras' callbacks log it)."""
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


class LRFinder(keras.callbacks.Callback):
    """Records (learning rate, smoothed loss) per batch while the rate grows; stops on divergence.

    Use with an exponentially growing rate (`keras.optimizers.schedules.ExponentialDecay`
    with `decay_steps=1` and `decay_rate=lr_mult > 1`), as `Learner.lr_find` does. The loss
    of each batch is recovered from Keras' running epoch mean (`BatchLosses`), then smoothed
    as ktrain does: an exponential moving average with `smoothing` (ktrain's beta, 0.98),
    bias-corrected. Training stops when the smoothed loss exceeds `stop_factor` × the best
    smoothed loss so far, when it stops being finite (that batch is not recorded), or after
    `max_steps` batches.

    Args:
        stop_factor: divergence threshold, a multiple of the best smoothed loss.
        smoothing: the moving average's weight of the past (0 ≤ smoothing < 1).
        max_steps: stop after this many batches (None: no limit).

    Attributes:
        lrs, losses, raw_losses: per batch, the rate used, the smoothed loss and the
            batch's own loss.
        ml, mg: ktrain's indices of the minimum loss and of the steepest descent (mg may be
            None); set when training ends.

    Example:
    ```python
    ramp = keras.optimizers.schedules.ExponentialDecay(1e-7, decay_steps=1, decay_rate=1.05)
    model.compile(keras.optimizers.Adam(ramp), "mse")
    finder = kbert.callbacks.LRFinder()
    model.fit(x, y, epochs=5, callbacks=[finder])
    steepest, min_loss_10, valley = finder.estimate_lr()
    ```
    """

    def __init__(self, stop_factor=4.0, smoothing=0.98, max_steps=None):
        super().__init__()
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing}.")
        self.stop_factor, self.smoothing, self.max_steps = stop_factor, smoothing, max_steps
        self.lrs, self.losses, self.raw_losses = [], [], []
        self.ml = self.mg = None
        self._batch, self._avg, self._best, self._n = BatchLosses(), 0.0, math.inf, 0

    def on_epoch_begin(self, epoch, logs=None):
        self._batch.reset()

    def on_train_batch_end(self, batch, logs=None):
        loss = self._batch.update(logs["loss"])
        lr = _current_lr(self.model)
        self._n += 1
        self._avg = self.smoothing * self._avg + (1 - self.smoothing) * loss
        smoothed = self._avg / (1 - self.smoothing ** self._n)  # bias-corrected
        if not math.isfinite(smoothed):
            self.model.stop_training = True
            return
        self.lrs.append(lr)
        self.raw_losses.append(loss)
        self.losses.append(smoothed)
        if self._n > 1 and smoothed > self.stop_factor * self._best:
            self.model.stop_training = True
        self._best = min(self._best, smoothed)
        if self.max_steps is not None and self._n >= self.max_steps:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.losses:
            self.mg, self.ml, _ = estimate_indices(self.lrs, self.losses)

    def find_called(self):
        """Whether a curve was recorded (ktrain's name)."""
        return bool(self.losses)

    def estimate_lr(self, skip_begin=32):
        """ktrain's three suggestions; see `lr_estimates`.

        Returns:
            `(min_gradient_lr, min_loss_lr / 10, valley_lr)`.
        """
        if not self.losses:
            raise RuntimeError("No curve recorded yet: train with this callback first.")
        return lr_estimates(self.lrs, self.losses, skip_begin)


class CycleMomentum(keras.callbacks.Callback):
    """Sets the optimizer's momentum (Adam's beta_1, SGD's momentum) at every batch.

    At the end of each epoch it adds the momentum the optimizer holds (that of the epoch's
    last batch) to the logs as `"momentum"`, ktrain's history key, so `History` keeps one
    value per epoch.

    Args:
        schedule: a kbert schedule (its `momentum(step, max, min)` is used, high when the
            learning rate is low) or any function step → momentum.
        max_momentum, min_momentum: the range a kbert schedule's momentum cycles over.

    Example:
    ```python
    sched = kbert.schedules.OneCycle(1e-3, total_steps=100)
    model.compile(keras.optimizers.Adam(sched), "mse")
    hist = model.fit(x, y, epochs=2, callbacks=[kbert.callbacks.CycleMomentum(sched)])
    hist.history["momentum"]  # one value per epoch
    ```
    """

    def __init__(self, schedule, max_momentum=0.95, min_momentum=0.85):
        super().__init__()
        if hasattr(schedule, "momentum"):
            self.fn = lambda step: schedule.momentum(step, max_momentum, min_momentum)
        elif callable(schedule):
            self.fn = schedule
        else:
            raise TypeError("schedule must be a kbert schedule or a function step -> momentum.")
        self.momentums = []

    def _attr(self):
        opt = self.model.optimizer
        for name in ("beta_1", "momentum"):
            if hasattr(opt, name):
                return opt, name
        raise ValueError(f"{type(opt).__name__} has no momentum (beta_1 or momentum) to cycle.")

    def on_train_begin(self, logs=None):
        opt, name = self._attr()
        var = getattr(opt, "_kbert_momentum_var", None)
        if var is None:
            # A variable, so that the compiled training step reads each new value.
            # object.__setattr__: the optimizer's tracker must not adopt it as state.
            with self.model.distribute_strategy.scope():
                var = keras.Variable(float(getattr(opt, name)), trainable=False,
                                     dtype="float32", name=f"cycled_{name}")
            object.__setattr__(opt, "_kbert_momentum_var", var)
        object.__setattr__(opt, name, var)
        self._set(_optimizer_step(self.model))

    def _set(self, step):
        opt, name = self._attr()
        m = float(self.fn(step))
        opt._kbert_momentum_var.assign(m)
        return m

    def on_train_batch_begin(self, batch, logs=None):
        self.momentums.append(self._set(_optimizer_step(self.model)))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            opt, name = self._attr()
            logs["momentum"] = float(keras.ops.convert_to_numpy(opt._kbert_momentum_var))

    def on_train_end(self, logs=None):
        opt, name = self._attr()
        # back to a float so that the optimizer's config stays serialisable
        object.__setattr__(opt, name, float(keras.ops.convert_to_numpy(opt._kbert_momentum_var)))


class Recorder(keras.callbacks.Callback):
    """Records per-batch learning rate, momentum and loss, and per-epoch logs.

    At the end of each epoch it adds the learning rate the optimizer holds (its schedule at
    the current step, as Keras' `LearningRateScheduler` logs `learning_rate`) to the logs as
    `"lr"`, so plain `model.fit`'s `hist.history["lr"]` has one value per epoch; the per-batch
    values (what the Learner's histories carry, as ktrain's) stay in `lrs`, `momentums`, `losses`.
    With gradient accumulation over k batches (`kbert.optimizers`), schedules count updates:
    each batch records the rate of the update it feeds (k equal rates in a row).

    Example:
    ```python
    rec = kbert.callbacks.Recorder()
    hist = model.fit(x, y, epochs=3, callbacks=[rec])
    hist.history["lr"]   # 3 values
    len(rec.lrs)         # one per batch
    ```
    """

    def __init__(self):
        super().__init__()
        self.lrs, self.momentums, self.losses, self.epochs = [], [], [], []
        self._batch = BatchLosses()

    def on_epoch_begin(self, epoch, logs=None):
        self._batch.reset()

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(self._batch.update(logs["loss"]))
        self.lrs.append(_current_lr(self.model))
        opt = self.model.optimizer
        m = getattr(opt, "beta_1", getattr(opt, "momentum", None))
        self.momentums.append(None if m is None else float(keras.ops.convert_to_numpy(m)))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = _optimizer_lr(self.model)
        self.epochs.append(dict(logs or {}))


class ReduceScheduleOnPlateau(keras.callbacks.Callback):
    """Divides a `kbert.schedules.Scaled` schedule by `factor` when `monitor` stalls."""

    def __init__(self, schedule, monitor="val_loss", patience=2, factor=2.0, mode="auto", verbose=1):
        super().__init__()
        if not isinstance(schedule, S.Scaled):
            raise TypeError("ReduceScheduleOnPlateau needs a kbert.schedules.Scaled schedule.")
        self.schedule, self.monitor, self.patience = schedule, monitor, patience
        self.factor, self.verbose = float(factor), verbose
        self.mode = mode if mode != "auto" else ("max" if "acc" in monitor or "f1" in monitor else "min")
        self.best, self.wait = None, 0

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            return
        better = self.best is None or (current < self.best if self.mode == "min" else current > self.best)
        self.best, self.wait = (current, 0) if better else (self.best, self.wait + 1)
        if not better and self.wait >= self.patience:
            scale = float(np.asarray(self.schedule.scale.numpy())) / self.factor
            self.schedule.scale.assign(scale)
            self.wait = 0
            if self.verbose:
                print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve for {self.patience} "
                      f"epochs; learning rate scaled to {scale:g}× the schedule.")


class RestoreOnNaN(keras.callbacks.Callback):
    """Stops training at the first batch whose loss is not finite and puts back the weights
    of the start of that epoch (Keras' `TerminateOnNaN` stops but leaves NaN weights).

    Attributes:
        stopped: (epoch, batch), 0-based, where the loss stopped being finite; else None.

    Example:
    >>> # model.fit(x, y, epochs=3, callbacks=[kbert.callbacks.RestoreOnNaN()])
    """

    def __init__(self, verbose=1):
        super().__init__()
        self.verbose, self.stopped, self._weights, self._epoch = verbose, None, None, 0

    def on_epoch_begin(self, epoch, logs=None):
        self._weights, self._epoch = self.model.get_weights(), epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        self.model.stop_training = True
        self.model.set_weights(self._weights)
        self.stopped = (self._epoch, batch)
        if self.verbose:
            print(f"\nkbert: loss {float(loss)} at epoch {self._epoch + 1}, batch {batch + 1}: training stopped, "
                  f"weights of the start of epoch {self._epoch + 1} restored. Lower the learning rate "
                  "(learner.lr_find() shows where the loss diverges) or look for extreme values in the data.")


class Throughput(keras.callbacks.Callback):
    """Training speed: examples/s and real (unpadded) tokens/s over the training batches
    of each epoch (validation excluded). The first epoch includes graph tracing."""

    def __init__(self, examples_per_epoch, tokens_per_epoch, verbose=1):
        super().__init__()
        self.examples_per_epoch, self.tokens_per_epoch = examples_per_epoch, tokens_per_epoch
        self.verbose, self.epochs = verbose, []  # epochs: (seconds, examples/s, tokens/s)

    def on_epoch_begin(self, epoch, logs=None):
        self._start, self._end = time.perf_counter(), None

    def on_train_batch_end(self, batch, logs=None):
        self._end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = max(1e-9, (self._end or self._start) - self._start)
        rec = (seconds, self.examples_per_epoch / seconds, self.tokens_per_epoch / seconds)
        self.epochs.append(rec)
        if self.verbose:
            print(f"kbert: epoch {epoch + 1}: {rec[1]:.1f} examples/s, {rec[2]:.0f} real tokens/s "
                  f"({seconds:.0f} s of training)")
