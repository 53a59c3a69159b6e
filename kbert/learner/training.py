"""The fit methods of the Learner (ktrain's fit_onecycle, autofit, fit) and the checks of
their arguments: rates must be positive and finite, epoch counts whole numbers ≥ 1."""

import math

import keras
import numpy as np

from kbert import callbacks as C
from kbert import schedules as S


def check_rate(value, name="lr"):
    """A learning rate as a float, or an error naming the argument: NaN, infinite, zero or
    negative rates train nothing or diverge (and NaN leaves NaN weights)."""
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}.") from None
    if not math.isfinite(rate) or rate <= 0:
        raise ValueError(f"{name}={value!r}: a learning rate must be a positive, finite number (BERT fine-tuning "
                         "uses about 1e-5 … 1e-4); learner.lr_find() helps pick one.")
    return rate


def check_count(value, name, minimum=1):
    """A whole number ≥ minimum (epochs, cycles, patience), or an error naming the argument."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be a whole number of at least {minimum}, got {value!r}.")
    return int(value)


def has_callback(callbacks, cls):
    return any(isinstance(cb, cls) for cb in callbacks or [])


class TrainingMixin:
    """fit_onecycle / autofit / fit, mixed into kbert.learner.Learner."""

    def _refinement_args(self, lr_decay_rate, ema):
        """The run's lr_decay_rate and ema (the fit method's, else the Learner's) for `_fit`."""
        rate, average = self._refinements(lr_decay_rate, ema)
        return {"lr_decay_rate": rate, "ema": average}

    def _updates(self, batches, accumulate):
        """Optimizer updates in `batches` batches (schedules count updates), at least 1."""
        return max(1, batches // accumulate)

    def fit_onecycle(self, lr, epochs, checkpoint_folder=None, cycle_momentum=True, max_momentum=0.95,
                     min_momentum=0.85, class_weight=None, callbacks=None, verbose=1, accumulate=None,
                     checkpoint_every=None, lr_decay_rate=None, ema=None):
        """Trains `epochs` epochs with the one-cycle policy peaking at `lr`.

        The rate rises from lr/25 to `lr` over the first 30 % of the batches, then anneals
        (cosine) to lr/(25·10⁴) (`kbert.schedules.OneCycle`, PyTorch's defaults); Adam's
        beta_1 moves the other way between `max_momentum` and `min_momentum`.

        Args:
            lr: the peak learning rate (positive, finite).
            epochs: passes over train_data (a whole number ≥ 1).
            checkpoint_folder: save weights after every epoch, and resume a killed run.
            cycle_momentum, max_momentum, min_momentum: momentum cycling.
            class_weight: passed to `Model.fit`.
            callbacks: more Keras callbacks (e.g. `keras.callbacks.TensorBoard(log_dir)`).
            verbose: 0 for silence, 1 for Keras' progress bar.
            accumulate: batches per optimizer update for this run (default: get_learner's
                `accumulate`); the schedule spans `epochs × steps_per_epoch // accumulate`
                updates.
            checkpoint_every: (with checkpoint_folder) also back up every this many batches,
                so that a run killed inside an epoch resumes from its last backup: at the
                same batch, with the same weights, optimizer state (accumulated gradients
                included) and data order as the uninterrupted run.
            lr_decay_rate: layer-wise rate decay for this run (default: get_learner's; 1.0: off).
            ema: momentum of the weights' moving average for this run (default:
                get_learner's; 0: off); validation and the final weights use the average.

        Returns:
            Keras' `History`: loss, metrics and val_* per epoch; "lr", "momentum" and
                "iterations" per batch, as ktrain's.

        Example:
        >>> # learner.fit_onecycle(1e-4, 3)
        """
        lr, epochs = check_rate(lr, "lr"), check_count(epochs, "epochs")
        accumulate = self._accumulate(accumulate)
        schedule = S.OneCycle(lr, total_steps=self._updates(epochs * self.steps_per_epoch(), accumulate))
        momentum = (max_momentum, min_momentum) if cycle_momentum else None
        return self._fit(schedule, epochs, callbacks, momentum, class_weight, checkpoint_folder, verbose,
                         accumulate=accumulate, checkpoint_every=checkpoint_every,
                         **self._refinement_args(lr_decay_rate, ema))

    def autofit(self, lr, epochs=None, early_stopping=None, reduce_on_plateau=None, reduce_factor=2,
                cycle_momentum=True, max_momentum=0.95, min_momentum=0.85, monitor="val_loss",
                checkpoint_folder=None, class_weight=None, callbacks=None, verbose=1, accumulate=None,
                checkpoint_every=None, lr_decay_rate=None, ema=None):
        """Triangular cyclical rate (one cycle per epoch, lr/10 ↔ lr), as ktrain.

        epochs=None trains until early stopping (patience 5 unless given; reduce on plateau
        2 unless given); the best weights are then restored. reduce_on_plateau=N divides the
        rate by reduce_factor after N epochs without improvement of `monitor`. An
        `EarlyStopping` among `callbacks` replaces kbert's (as ktrain).

        Args:
            lr: the peak learning rate.
            epochs: passes over train_data, or None (until early stopping).
            early_stopping, reduce_on_plateau: patience in epochs (see above).
            reduce_factor: the rate's divisor on a plateau (above 1).
            cycle_momentum, max_momentum, min_momentum: momentum cycling.
            monitor: the log early stopping and plateaus watch.
            checkpoint_folder, class_weight, callbacks, verbose, accumulate, checkpoint_every,
                lr_decay_rate, ema: as in `fit_onecycle` (a cycle spans an epoch's updates).

        Returns:
            Keras' `History`.

        Example:
        >>> # learner.autofit(1e-4)            # until val_loss stops improving
        >>> # learner.autofit(1e-4, 4, early_stopping=2)
        """
        lr = check_rate(lr, "lr")
        if epochs is None:
            early_stopping = 5 if not early_stopping else early_stopping
            reduce_on_plateau = 2 if not reduce_on_plateau else reduce_on_plateau
            epochs = 1024
        epochs = check_count(epochs, "epochs")
        for name, value in (("early_stopping", early_stopping), ("reduce_on_plateau", reduce_on_plateau)):
            if value:
                check_count(value, name)
        if not (isinstance(reduce_factor, (int, float)) and math.isfinite(reduce_factor) and reduce_factor > 1):
            raise ValueError(f"reduce_factor must be a number above 1 (the rate is divided by it), got "
                             f"{reduce_factor!r}.")
        if (early_stopping or reduce_on_plateau) and self.val_data is None and monitor.startswith("val_"):
            raise ValueError(f"monitor={monitor!r} needs val_data.")
        accumulate = self._accumulate(accumulate)
        refinements = self._refinement_args(lr_decay_rate, ema)
        updates = self._updates(self.steps_per_epoch(), accumulate)
        schedule = S.Scaled(S.Triangular(lr / 10, lr, step_size=max(1, updates // 2)))
        cbs = list(callbacks or [])
        if early_stopping and not has_callback(cbs, keras.callbacks.EarlyStopping):
            cbs.append(keras.callbacks.EarlyStopping(monitor=monitor, patience=early_stopping,
                                                     restore_best_weights=True, verbose=verbose))
        if reduce_on_plateau:
            cbs.append(C.ReduceScheduleOnPlateau(schedule, monitor, reduce_on_plateau, reduce_factor,
                                                 verbose=verbose))
        momentum = (max_momentum, min_momentum) if cycle_momentum else None
        return self._fit(schedule, epochs, cbs, momentum, class_weight, checkpoint_folder, verbose,
                         accumulate=accumulate, checkpoint_every=checkpoint_every, **refinements)

    def fit(self, lr, n_cycles, cycle_len=None, cycle_mult=1, lr_decay=1.0, checkpoint_folder=None,
            early_stopping=None, class_weight=None, callbacks=None, verbose=1, accumulate=None, checkpoint_every=None,
            lr_decay_rate=None, ema=None):
        """A constant rate for `n_cycles` epochs, or SGDR (ktrain's fit).

        With `cycle_len`, the rate follows cosine annealing with warm restarts: cycles of
        `cycle_len` epochs, each `cycle_mult` times longer than the last, each restart's peak
        `lr_decay` times the last one's; `n_cycles` cycles in all.

        Args:
            lr: the (peak) learning rate.
            n_cycles: epochs (constant rate) or cycles (SGDR); a whole number ≥ 1.
            cycle_len, cycle_mult: SGDR's cycle length in epochs and its growth (whole numbers ≥ 1).
            lr_decay: the factor of each restart's peak (0 < lr_decay).
            checkpoint_folder: save weights after every epoch, and resume a killed run.
            early_stopping: stop after this many epochs without a lower val_loss and restore
                the best weights (needs val_data; ktrain's rule).
            class_weight, callbacks, verbose, accumulate, checkpoint_every, lr_decay_rate, ema:
                as in `fit_onecycle` (SGDR's cycles are counted in updates).

        Returns:
            Keras' `History`.

        Example:
        >>> # learner.fit(1e-4, 3)                         # 3 epochs at 1e-4
        >>> # learner.fit(1e-4, 3, cycle_len=1, cycle_mult=2)  # SGDR: 1 + 2 + 4 epochs
        """
        lr = check_rate(lr, "lr")
        accumulate = self._accumulate(accumulate)
        refinements = self._refinement_args(lr_decay_rate, ema)
        n_cycles, cycle_mult = check_count(n_cycles, "n_cycles"), check_count(cycle_mult, "cycle_mult")
        lr_decay = check_rate(lr_decay, "lr_decay")
        cbs = list(callbacks or [])
        if early_stopping is not None:
            check_count(early_stopping, "early_stopping")
            if self.val_data is None:
                raise ValueError("early_stopping monitors val_loss, but the learner has no val_data: give val_data "
                                 "to get_learner.")
            if not has_callback(cbs, keras.callbacks.EarlyStopping):
                cbs.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=early_stopping,
                                                         restore_best_weights=True, verbose=verbose))
        if cycle_len is None:
            return self._fit(lr, n_cycles, cbs, None, class_weight, checkpoint_folder, verbose,
                             accumulate=accumulate, checkpoint_every=checkpoint_every, **refinements)
        cycle_len = check_count(cycle_len, "cycle_len")
        epochs = int(sum(cycle_len * cycle_mult ** i for i in range(n_cycles)))
        schedule = keras.optimizers.schedules.CosineDecayRestarts(
            lr, first_decay_steps=self._updates(cycle_len * self.steps_per_epoch(), accumulate),
            t_mul=float(cycle_mult), m_mul=lr_decay)
        return self._fit(schedule, epochs, cbs, None, class_weight, checkpoint_folder, verbose,
                         accumulate=accumulate, checkpoint_every=checkpoint_every, **refinements)
