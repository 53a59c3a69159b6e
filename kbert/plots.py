"""matplotlib figures: shown inline in notebooks, saved as PNG from scripts.

Figures are built with matplotlib's object API (no pyplot state), so scripts need no
display and notebooks get one figure per call.
"""

import os

import numpy as np
from matplotlib.figure import Figure


def in_notebook():
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def show(fig, path):
    """Display `fig` in a notebook; save it to `path` (PNG) otherwise. Returns the saved path or None."""
    if in_notebook():
        from IPython.display import display

        display(fig)
        return None
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"kbert: plot saved to {path}")
    return path


def lr_figure(lrs, losses, n_skip_beginning=10, n_skip_end=5, suggestions=None):
    lrs, losses = np.asarray(lrs), np.asarray(losses)
    end = len(lrs) - n_skip_end if n_skip_end else len(lrs)
    lrs, losses = lrs[n_skip_beginning:end], losses[n_skip_beginning:end]
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    ax.plot(lrs, losses)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("loss (smoothed)")
    ax.set_title("LR finder")
    for label, (lr, marker, color) in (suggestions or {}).items():
        if lr is not None and len(lrs):
            i = int(np.argmin(np.abs(lrs - lr)))
            ax.plot(lrs[i], losses[i], marker=marker, color=color, markersize=10, linestyle="None",
                    label=f"{label}: {lr:.2E}")
    if suggestions:
        ax.legend()
    return fig


def history_figure(what, recorder=None, history=None):
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    if what == "loss":
        epochs = history or []
        xs = np.arange(1, len(epochs) + 1)
        for key in ("loss", "val_loss"):
            ys = [e.get(key) for e in epochs]
            if any(y is not None for y in ys):
                ax.plot(xs, [np.nan if y is None else y for y in ys], marker="o", label=key)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend()
    elif what in ("lr", "momentum"):
        ys = getattr(recorder, "lrs" if what == "lr" else "momentums")
        ax.plot(np.arange(len(ys)), [np.nan if y is None else y for y in ys])
        ax.set_xlabel("batch")
        ax.set_ylabel("learning rate" if what == "lr" else "momentum (beta_1)")
    else:
        raise ValueError(f'plot() takes "loss", "lr" or "momentum", got {what!r}.')
    ax.set_title(f"training {what}")
    return fig
