"""The LR finder of the Learner (ktrain's lr_find, lr_estimate, lr_plot); the recording and
the estimates themselves are `kbert.callbacks.LRFinder`."""

import math

import keras
import numpy as np

from kbert import callbacks as C
from kbert import plots
from kbert.learner.training import check_count, check_rate


class LRFinderMixin:
    """lr_find / lr_estimate / lr_plot, mixed into kbert.learner.Learner."""

    # (lr_find never checkpoints: it restores the weights it started from)
    def lr_find(self, start_lr=1e-7, lr_mult=1.01, max_epochs=None, class_weight=None, stop_factor=4,
                show_plot=False, suggest=False, restore_weights_only=False, verbose=1, end_lr=10.0):
        """Trains with an exponentially growing learning rate and records the loss (ktrain's LR finder).

        The rate starts at `start_lr` and is multiplied by a constant factor every batch.
        With `max_epochs`, ktrain's rule: the sweep spreads from `start_lr` to `end_lr` over
        exactly `max_epochs` epochs, `lr_mult = (end_lr / start_lr) ** (1 / (max_epochs ·
        steps_per_epoch))` (`lr_mult` is ignored). Without it, `lr_mult` is kept and as many
        epochs run as reaching `end_lr` takes (ktrain instead caps small data sets at 5
        epochs and recomputes the factor). If both are None, ktrain's default of about 1,500
        batches is used. The sweep stops early when the smoothed loss exceeds `stop_factor` ×
        its minimum. The weights the model had are put back afterwards, even if the sweep is
        interrupted; the curve is kept in `learner.lr_finder` (a `kbert.callbacks.LRFinder`).

        Args:
            start_lr: the first learning rate.
            lr_mult: the factor per batch (ignored when `max_epochs` is given).
            max_epochs: the number of epochs to sweep `start_lr` → `end_lr` over.
            class_weight: passed to `Model.fit`, for imbalanced classes.
            stop_factor: stop when the smoothed loss exceeds this multiple of its minimum.
            show_plot: call `lr_plot(suggest=suggest)` at the end.
            suggest: with `show_plot`, mark and print the three suggestions.
            restore_weights_only: ktrain's flag. False (default): the weights are restored and
                the sweep's optimizer state (step count, Adam moments) is cleared, so nothing
                of the sweep remains on the model. True: only the weights are restored and
                `learner.model.optimizer` keeps the sweep's state, for Keras' own
                `model.fit`. kbert's `fit_onecycle`, `autofit` and `fit` build a fresh
                optimizer either way, so ktrain's warm start of Adam's moments does not
                carry over to them.
            verbose: 0 for silence; 1 prints the sweep and Keras' progress bar.
            end_lr: the last learning rate of the sweep (ktrain: 10).

        Returns:
            None, as ktrain (the curve is in `learner.lr_finder`).

        Example:

        ```python
        learner.lr_find(max_epochs=1)
        learner.lr_plot(suggest=True)
        steepest, min_loss_10, valley = learner.lr_estimate()
        ```
        """
        start_lr, end_lr = check_rate(start_lr, "start_lr"), check_rate(end_lr, "end_lr")
        if not start_lr < end_lr:
            raise ValueError(f"Need 0 < start_lr < end_lr, got start_lr={start_lr}, end_lr={end_lr}.")
        steps = self.steps_per_epoch()
        if max_epochs is None and lr_mult is None:  # ktrain: a sample of about 1,500 batches
            max_epochs = math.ceil(1500 / steps)
        if max_epochs is not None:
            epochs = check_count(max_epochs, "max_epochs")
            n_batches = epochs * steps
            lr_mult = (end_lr / start_lr) ** (1 / n_batches)
        else:
            if not (isinstance(lr_mult, (int, float)) and math.isfinite(lr_mult) and lr_mult > 1):
                raise ValueError(f"lr_mult must be a finite number above 1 (the rate's growth per batch), "
                                 f"got {lr_mult!r}.")
            n_batches = math.ceil(math.log(end_lr / start_lr) / math.log(lr_mult))
            epochs = math.ceil(n_batches / steps)
        schedule = keras.optimizers.schedules.ExponentialDecay(start_lr, decay_steps=1, decay_rate=lr_mult)
        finder = C.LRFinder(stop_factor=stop_factor, max_steps=n_batches)
        if verbose:
            print(f"kbert: lr_find: learning rate {start_lr:.1E} → {start_lr * lr_mult ** (n_batches - 1):.1E} "
                  f"(×{lr_mult:.4g} per batch) over up to {n_batches} batches "
                  f"({epochs} epoch{'s' if epochs > 1 else ''}); stops if the loss diverges")
        weights = self.model.get_weights()
        try:
            self._fit(schedule, epochs, callbacks=[finder], class_weight=class_weight, verbose=verbose,
                      validate=False, nan_guard=False)
        finally:
            self.model.set_weights(weights)
            trained = self._trainee()  # the distillation wrapper's optimizer when distilling
            if not restore_weights_only and getattr(trained, "optimizer", None) is not None:
                lr_var = getattr(trained.optimizer, "_learning_rate", None)
                for v in trained.optimizer.variables:
                    if v is not lr_var:
                        v.assign(np.zeros(v.shape, v.dtype))
        self.lr_finder = finder
        if verbose:
            print(f"kbert: lr_find done after {len(finder.lrs)} batches (last learning rate "
                  f"{finder.lrs[-1] if finder.lrs else start_lr:.1E}); weights restored.")
            if not show_plot:
                print("kbert: inspect the curve with learner.lr_plot() and pick the largest rate at which "
                      "the loss still falls; learner.lr_estimate() gives three suggestions.")
        if show_plot:
            if verbose:
                print("kbert: pick the largest learning rate at which the loss still falls.")
            self.lr_plot(suggest=suggest)
        return None

    def _finder(self):
        if self.lr_finder is None or not self.lr_finder.lrs:
            raise RuntimeError("Run learner.lr_find() first.")
        return self.lr_finder

    def lr_estimate(self):
        """ktrain's three numerical suggestions from the last `lr_find` curve.

        Neither rule is fool-proof: look at `lr_plot()` too.

        Returns:
            A tuple `(min_gradient_lr, min_loss_lr / 10, valley_lr)`: the rate where the
            smoothed loss falls fastest before its minimum (the first 32 batches skipped, as
            ktrain, unless the minimum comes sooner; None when too few points precede the
            minimum), the rate of the minimum loss divided by 10, and fastai's "valley" rate
            (about half-way along the longest falling stretch; `kbert.callbacks.valley`).

        Example:

        ```python
        learner.lr_find(max_epochs=1)
        steepest, min_loss_10, valley = learner.lr_estimate()
        learner.fit_onecycle(valley, 3)
        ```
        """
        return self._finder().estimate_lr()

    def lr_plot(self, n_skip_beginning=10, n_skip_end=5, suggest=False, return_fig=False, save_path="lr_find.png"):
        """Plots the smoothed loss against the learning rate (log scale) from the last `lr_find`.

        In a notebook the figure is shown as an image; from a script it is saved to
        `save_path`.

        Args:
            n_skip_beginning, n_skip_end: batches left out at each end of the plot.
            suggest: mark the three `lr_estimate()` suggestions on the plot (valley in red,
                steepest descent in purple, min loss / 10 in green) and print them.
            return_fig: return the figure instead of showing or saving it.
            save_path: the PNG file a script writes.

        Returns:
            The `matplotlib.figure.Figure` if `return_fig`, else None.

        Example:

        ```python
        learner.lr_find(max_epochs=1)
        learner.lr_plot(suggest=True)
        ```
        """
        f = self._finder()
        suggestions = None
        if suggest:
            steepest, min10, valley = self.lr_estimate()
            suggestions = {"longest valley": (valley, "o", "red"),
                           "min numerical gradient": (steepest, "o", "purple"),
                           "min loss / 10": (min10, "s", "green")}
            print("Three possible suggestions for LR from plot:")
            print(f"\tLongest valley (red): {valley:.2E}")
            print("\tMin numerical gradient (purple): "
                  + ("not enough points before the minimum" if steepest is None else f"{steepest:.2E}"))
            print(f"\tMin loss divided by 10 (green): {min10:.2E}")
        fig = plots.lr_figure(f.lrs, f.losses, n_skip_beginning, n_skip_end, suggestions)
        if return_fig:
            return fig
        plots.show(fig, save_path)
        return None
