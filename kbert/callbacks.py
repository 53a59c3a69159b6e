"""Training callbacks: LR finder, momentum cycling, per-batch recording, plateau handling.

All are plain `keras.callbacks.Callback`s, usable with `model.fit` outside kbert.
"""

import math

import keras
import numpy as np

from kbert import schedules as S


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


def _current_lr(model):
    opt = model.optimizer
    lr = opt._learning_rate if hasattr(opt, "_learning_rate") else opt.learning_rate
    if isinstance(lr, S.LearningRateSchedule):
        # iterations was already incremented for the batch that just ran
        return S.value(lr, max(0, _optimizer_step(model) - 1))
    return float(keras.ops.convert_to_numpy(opt.learning_rate))


class LRFinder(keras.callbacks.Callback):
    """Records (learning rate, loss) per batch while the rate grows; stops on divergence.

    Use with an exponentially growing rate (`keras.optimizers.schedules.ExponentialDecay`
    with decay_steps=1 and decay_rate=lr_mult > 1). Training stops when the smoothed
    loss exceeds stop_factor × the best smoothed loss, or becomes NaN.
    """

    def __init__(self, stop_factor=4.0, smoothing=0.98, max_steps=None):
        super().__init__()
        self.stop_factor = stop_factor
        self.smoothing = smoothing
        self.max_steps = max_steps
        self.lrs, self.losses, self.raw_losses = [], [], []
        self._batch = BatchLosses()
        self._avg, self._best = 0.0, math.inf

    def on_epoch_begin(self, epoch, logs=None):
        self._batch.reset()

    def on_train_batch_end(self, batch, logs=None):
        loss = self._batch.update(logs["loss"])
        lr = _current_lr(self.model)
        n = len(self.losses) + 1
        self._avg = self.smoothing * self._avg + (1 - self.smoothing) * loss
        smoothed = self._avg / (1 - self.smoothing ** n)  # bias-corrected
        self.lrs.append(lr)
        self.raw_losses.append(loss)
        self.losses.append(smoothed)
        if not math.isfinite(smoothed) or (n > 1 and smoothed > self.stop_factor * self._best):
            self.model.stop_training = True
        self._best = min(self._best, smoothed)
        if self.max_steps is not None and n >= self.max_steps:
            self.model.stop_training = True


class CycleMomentum(keras.callbacks.Callback):
    """Sets the optimizer's momentum (Adam's beta_1, SGD's momentum) at every batch.

    schedule: a kbert schedule (its `momentum(step, max, min)` is used, high when the
    learning rate is low) or any function step → momentum.
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

    def on_train_end(self, logs=None):
        opt, name = self._attr()
        # back to a float so that the optimizer's config stays serialisable
        object.__setattr__(opt, name, float(keras.ops.convert_to_numpy(opt._kbert_momentum_var)))


class Recorder(keras.callbacks.Callback):
    """Records per-batch learning rate, momentum and loss, and per-epoch logs."""

    def __init__(self):
        super().__init__()
        self.lrs, self.momentums, self.losses = [], [], []
        self.epochs = []
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
        if better:
            self.best, self.wait = current, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            scale = float(np.asarray(self.schedule.scale.numpy())) / self.factor
            self.schedule.scale.assign(scale)
            self.wait = 0
            if self.verbose:
                print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve for {self.patience} "
                      f"epochs; learning rate scaled to {scale:g}× the schedule.")


class Throughput(keras.callbacks.Callback):
    """Training speed: examples/s and real (unpadded) tokens/s over the training batches
    of each epoch (validation excluded). The first epoch includes graph tracing."""

    def __init__(self, examples_per_epoch, tokens_per_epoch, verbose=1):
        super().__init__()
        self.examples_per_epoch = examples_per_epoch
        self.tokens_per_epoch = tokens_per_epoch
        self.verbose = verbose
        self.epochs = []  # (seconds, examples/s, tokens/s)

    def on_epoch_begin(self, epoch, logs=None):
        import time

        self._start = time.perf_counter()
        self._end = None

    def on_train_batch_end(self, batch, logs=None):
        import time

        self._end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = max(1e-9, (self._end or self._start) - self._start)
        rec = (seconds, self.examples_per_epoch / seconds, self.tokens_per_epoch / seconds)
        self.epochs.append(rec)
        if self.verbose:
            print(f"kbert: epoch {epoch + 1}: {rec[1]:.1f} examples/s, {rec[2]:.0f} real tokens/s "
                  f"({seconds:.0f} s of training)")
