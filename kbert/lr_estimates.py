"""Learning-rate suggestions from an LR-finder curve: fastai's valley and ktrain's three."""

import numpy as np


def valley(losses):
    """Index of the "valley" suggestion on an LR-finder curve (fastai's rule, used by ktrain).

    The longest strictly decreasing run of losses (not necessarily contiguous) is found;
    the suggestion sits about half-way along it, where the loss still falls steadily.
    Same arithmetic as fastai's and ktrain's `valley` (including where the run starts),
    computed in O(n²) NumPy instead of Python loops, and clipped to a valid index (their
    version returns -1, the last point, for a curve that never falls).

    Args:
        losses: the recorded (smoothed) losses, one per batch.

    Returns:
        An int index into `losses` (and the matching learning rates).

    Example:
    >>> valley([1.0, 0.95, 0.9, 0.8, 0.6, 0.4, 0.3, 0.25, 0.5, 2.0])
    2
    """
    losses = np.asarray(losses, dtype="float64")
    n = len(losses)
    if n == 0:
        raise ValueError("valley() needs at least one loss.")
    run = np.ones(n, dtype="int64")  # length of the longest decreasing run ending at i
    for i in range(1, n):
        higher = losses[:i] > losses[i]
        if higher.any():
            run[i] = run[:i][higher].max() + 1
    end = int(np.argmax(run))  # the first longest run
    start = end - int(run[end])
    sections = (end - start) / 3
    return int(min(max(start + int(sections) + int(sections / 2), 0), n - 1))


def lr_estimates(lrs, losses, skip_begin=32):
    """ktrain's three learning-rate suggestions from an LR-finder curve.

    Args:
        lrs: the learning rate of each recorded batch.
        losses: the smoothed loss of each recorded batch.
        skip_begin: batches left out of the steepest-descent search (ktrain: 32), where
            the smoothed loss is still settling; 0 is used when the curve reaches its
            minimum before that.

    Returns:
        A tuple `(min_gradient_lr, min_loss_lr / 10, valley_lr)`: the rate where the loss
        falls fastest (per unit of log learning rate) before its minimum (None when fewer
        than two points precede the minimum), the rate of the minimum loss divided by 10,
        and the rate at `valley(losses)`.

    Example:
    >>> lrs = [1e-5 * 1.5 ** i for i in range(8)]
    >>> [f"{lr:.2e}" for lr in lr_estimates(lrs, [1.0, 0.99, 0.9, 0.6, 0.3, 0.2, 0.8, 4.0], skip_begin=0)]
    ['3.38e-05', '7.59e-06', '2.25e-05']
    """
    lrs = np.asarray(lrs, dtype="float64")
    mg, ml, v = estimate_indices(lrs, losses, skip_begin)
    return (None if mg is None else float(lrs[mg]), float(lrs[ml]) / 10, float(lrs[v]))


def estimate_indices(lrs, losses, skip_begin=32):
    """(steepest descent, minimum loss, valley) indices; steepest may be None."""
    lrs, losses = np.asarray(lrs, dtype="float64"), np.asarray(losses, dtype="float64")
    if not len(lrs) or len(lrs) != len(losses):
        raise ValueError(f"Need as many learning rates as losses (and at least one), got {len(lrs)} and "
                         f"{len(losses)}.")
    ml = int(np.nanargmin(losses))
    s = skip_begin if ml - skip_begin >= 2 else 0
    mg = None
    if ml - s >= 2:
        x = np.log(lrs[s:ml])
        if not np.all(np.diff(x) > 0):  # not a growing ramp: ktrain's per-batch gradient
            x = np.arange(ml - s, dtype="float64")
        mg = s + int(np.argmin(np.gradient(losses[s:ml], x)))
    return mg, ml, valley(losses)
