"""kbert.plots: notebook detection, PNG display in notebooks, PNG files from scripts.

The real-kernel check (nbclient + ipykernel) is tests/integration/test_notebook.py.
"""

import base64

import IPython
import numpy as np
import pytest
from IPython.core.formatters import DisplayFormatter
from matplotlib.figure import Figure

from kbert import plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def small_figure():
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([1, 2, 3])
    return fig


def test_not_a_notebook_under_pytest():
    assert plots.in_notebook() is False


@pytest.mark.parametrize("name, expected", [("ZMQInteractiveShell", True), ("TerminalInteractiveShell", False)])
def test_in_notebook_checks_for_a_kernel_shell(monkeypatch, name, expected):
    base = type(name, (), {"config": {}})
    shell = type("ColabShell", (base,), {})()  # subclasses count (Colab, VS Code)
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    assert plots.in_notebook() is expected


def test_to_png():
    assert plots.to_png(small_figure()).startswith(PNG_MAGIC)


def test_show_in_a_notebook_displays_png_and_writes_nothing(monkeypatch, tmp_path):
    shown = []
    monkeypatch.setattr(plots, "in_notebook", lambda: True)
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    assert plots.show(small_figure(), str(tmp_path / "fig.png")) is None
    assert not (tmp_path / "fig.png").exists()
    (image,) = shown
    assert isinstance(image, IPython.display.Image) and image.data.startswith(PNG_MAGIC)
    data, _ = DisplayFormatter().format(image)  # what the kernel sends to the front end
    png = data["image/png"]
    assert (base64.b64decode(png) if isinstance(png, str) else png).startswith(PNG_MAGIC)
    assert not data["text/plain"].startswith("<Figure")


def test_show_in_a_script_saves_png(tmp_path, capsys):
    path = tmp_path / "sub" / "fig.png"
    assert plots.show(small_figure(), str(path)) == str(path)
    assert path.read_bytes().startswith(PNG_MAGIC)
    assert "plot saved to" in capsys.readouterr().out


def test_figures_returned_to_a_notebook_render_as_png():
    class Shell:
        display_formatter = DisplayFormatter()

    shell = Shell()
    data, _ = shell.display_formatter.format(small_figure())
    assert "image/png" not in data  # no inline backend: IPython shows only "<Figure size ...>"
    plots._register_png_formatter(shell)
    data, _ = shell.display_formatter.format(small_figure())
    assert data["image/png"].startswith(PNG_MAGIC)


def test_an_existing_png_formatter_is_kept():
    class Shell:
        display_formatter = DisplayFormatter()

    def mine(fig):
        return PNG_MAGIC + b"mine"

    shell = Shell()
    shell.display_formatter.formatters["image/png"].for_type(Figure, mine)
    plots._register_png_formatter(shell)
    assert shell.display_formatter.format(small_figure())[0]["image/png"] == PNG_MAGIC + b"mine"


def test_lr_figure_marks_each_suggestion():
    lrs = 1e-6 * 1.3 ** np.arange(40)
    losses = np.concatenate([np.linspace(1.0, 0.2, 30), np.linspace(0.3, 3.0, 10)])
    suggestions = {"longest valley": (lrs[15], "o", "red"), "min numerical gradient": (lrs[20], "o", "purple"),
                   "min loss / 10": (lrs[29] / 10, "s", "green")}
    fig = plots.lr_figure(lrs, losses, suggestions=suggestions)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [f"{k}: {v[0]:.2E}" for k, v in suggestions.items()]
    assert len(ax.lines) == 1 + 2 * 3  # the curve; a dotted line and a marker per suggestion
    assert ax.get_xscale() == "log"
    # a marker sits on the curve at the suggested rate
    marker = next(line for line in ax.lines if line.get_label().startswith("longest valley"))
    assert marker.get_xdata()[0] == pytest.approx(lrs[15]) and marker.get_ydata()[0] == pytest.approx(losses[15])


def test_lr_figure_keeps_a_short_curve():
    fig = plots.lr_figure([1e-5, 1e-4, 1e-3], [1.0, 0.5, 2.0])  # fewer points than the skips
    assert len(fig.axes[0].lines[0].get_xdata()) == 3
