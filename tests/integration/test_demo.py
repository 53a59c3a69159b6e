"""`make demo` (recipes/emotion.py --demo): its defaults, and a short run that prints no log noise."""

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, requires_minilm

pytestmark = [requires_minilm, pytest.mark.integration]

sys.path.insert(0, os.path.join(ROOT, "recipes"))
import emotion  # noqa: E402

# TensorFlow C++ log lines ("I0000 00:00:17.6 123 port.cc:153] ...", "2025-09-17 14:44:05.1: E ...")
TF_LOG = re.compile(r"^([IWEF]\d{4} [\d:.]+ +\d+ [\w.-]+:\d+\]|\d{4}-\d\d-\d\d [\d:.]+: [IWEF] )", re.M)


def test_demo_defaults_and_explicit_flags():
    args = emotion.parse_args(["--demo"])
    assert (args.max_train_rows, args.epochs, args.precision, args.lr) == (6000, 2, "auto", 1e-4)
    args = emotion.parse_args(["--demo", "--epochs", "1", "--precision", "float32", "--max-train-rows", "50"])
    assert (args.max_train_rows, args.epochs, args.precision) == (50, 1, "float32")
    assert emotion.parse_args([]).max_train_rows is None


def test_short_demo_run_is_quiet_and_complete(tmp_path):
    """One short run of the recipe: quiet logs, lr_find and history plots, a saved predictor."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "recipes", "emotion.py"), "--demo", "--max-train-rows", "160",
         "--max-val-rows", "64", "--epochs", "1", "--lr-find", "--out", str(tmp_path / "pred")],
        capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    both = out.stdout + out.stderr
    assert TF_LOG.findall(both) == []
    assert "absl::InitializeLog" not in both and "Skipping variable loading" not in both
    assert "validation accuracy:" in out.stdout and "precision" in out.stdout
    assert (tmp_path / "lr_find.png").exists() and (tmp_path / "history.png").exists()
    assert (tmp_path / "pred" / "kbert_predictor.json").exists()
    assert len(re.findall(r"^  '.*' -> \w+", out.stdout, re.M)) == len(emotion.SAMPLES)
