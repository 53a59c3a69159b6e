"""matplotlib figures: shown as images in notebooks, saved as PNG from scripts.

Figures are built with matplotlib's object API (`matplotlib.figure.Figure`, no pyplot
state), so scripts need no display and a notebook gets one figure per call. IPython only
draws such a Figure once an inline backend has registered a PNG formatter for it
(`%matplotlib inline`); without one a notebook shows the bare text `<Figure size ...>`.
So in a notebook kbert renders the PNG itself and displays the bytes, which every Jupyter
front end draws, whatever the backend.
"""

import io
import os

import numpy as np
from matplotlib.figure import Figure


def in_notebook():
    """Whether the code runs in a Jupyter kernel (notebook, JupyterLab, VS Code, Colab).

    True for any IPython shell served by ipykernel (a `ZMQInteractiveShell` or subclass:
    ipykernel 6 and 7, Colab); False in scripts, plain `python` and terminal IPython, whose
    figures are saved as files instead.

    Returns:
        bool.

    Example:

    >>> in_notebook()  # from a script or a test
    False
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    if any(cls.__name__ == "ZMQInteractiveShell" for cls in type(shell).__mro__):
        return True
    # older or embedded kernels: the kernel application's config section, or a kernel object
    return "IPKernelApp" in getattr(shell, "config", {}) or getattr(shell, "kernel", None) is not None


def to_png(fig, dpi=100):
    """The figure rendered as PNG bytes.

    Args:
        fig: a `matplotlib.figure.Figure`.
        dpi: resolution.

    Returns:
        bytes, a PNG image.

    Example:

    ```python
    png = kbert.plots.to_png(learner.lr_plot(return_fig=True))
    open("lr_find.png", "wb").write(png)
    ```
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def _register_png_formatter(shell):
    """Lets IPython draw any Figure a cell returns (e.g. `lr_plot(return_fig=True)`), unless
    a formatter (the inline backend's) is already registered: that one is kept."""
    formatters = getattr(getattr(shell, "display_formatter", None), "formatters", None)
    png = (formatters or {}).get("image/png")
    if png is None:
        return
    try:
        png.lookup_by_type(Figure)
    except KeyError:
        png.for_type(Figure, to_png)


def show(fig, path):
    """Displays `fig` as a PNG image in a notebook; saves it to `path` (PNG) otherwise.

    Args:
        fig: a `matplotlib.figure.Figure`.
        path: where a script saves the figure (folders are created).

    Returns:
        The saved path, or None in a notebook.

    Example:

    ```python
    fig = kbert.plots.history_figure("loss", history=[{"loss": 0.7}, {"loss": 0.4}])
    kbert.plots.show(fig, "loss.png")   # a script prints "kbert: plot saved to loss.png"
    ```
    """
    if in_notebook():
        from IPython import get_ipython
        from IPython.display import Image, display

        _register_png_formatter(get_ipython())
        display(Image(data=to_png(fig), format="png"))
        return None
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"kbert: plot saved to {path}")
    return path


def lr_figure(lrs, losses, n_skip_beginning=10, n_skip_end=5, suggestions=None):
    """The LR finder's curve: smoothed loss against the learning rate (log scale).

    Args:
        lrs, losses: per batch, as recorded by `kbert.callbacks.LRFinder`.
        n_skip_beginning, n_skip_end: batches left out at each end of the plot (ignored when
            they would leave fewer than two points).
        suggestions: optional `{label: (lr, marker, color)}`; each is drawn as a dotted
            vertical line and, within the plotted range, a marker on the curve.

    Returns:
        A `matplotlib.figure.Figure`.

    Example:

    ```python
    f = learner.lr_finder
    fig = kbert.plots.lr_figure(f.lrs, f.losses, suggestions={"valley": (3e-4, "o", "red")})
    ```
    """
    lrs, losses = np.asarray(lrs, dtype="float64"), np.asarray(losses, dtype="float64")
    end = len(lrs) - n_skip_end if n_skip_end else len(lrs)
    if end - n_skip_beginning >= 2:
        lrs, losses = lrs[n_skip_beginning:end], losses[n_skip_beginning:end]
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    ax.plot(lrs, losses)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("loss (smoothed)")
    ax.set_title("LR finder")
    shown = False
    for label, (lr, marker, color) in (suggestions or {}).items():
        if lr is None or not len(lrs):
            continue
        ax.axvline(lr, color=color, linestyle=":", linewidth=1)
        kw = {"label": f"{label}: {lr:.2E}"}
        if lrs.min() <= lr <= lrs.max():
            i = int(np.argmin(np.abs(np.log(lrs) - np.log(lr))))
            ax.plot(lrs[i], losses[i], marker=marker, color=color, markersize=10, linestyle="None", **kw)
        else:
            ax.plot([], [], marker=marker, color=color, markersize=10, linestyle="None", **kw)
        shown = True
    if shown:
        ax.legend()
    return fig


def history_figure(what, recorder=None, history=None):
    """A training curve: "loss" per epoch (with val_loss), "lr" or "momentum" per batch.

    Args:
        what: "loss", "lr" or "momentum".
        recorder: a `kbert.callbacks.Recorder` (for "lr" and "momentum").
        history: a list of per-epoch log dicts (for "loss"), e.g. `recorder.epochs`.

    Returns:
        A `matplotlib.figure.Figure`.

    Example:

    ```python
    fig = kbert.plots.history_figure("loss", history=learner.recorder.epochs)
    ```
    """
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
