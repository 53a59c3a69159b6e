import os
import subprocess
import sys

import pytest

from conftest import ROOT, requires_minilm


@requires_minilm
@pytest.mark.integration
def test_distill_recipe_runs_on_the_emotion_sample(tmp_path):
    sample = os.path.join(ROOT, "recipes", "data", "emotion_sample.csv")
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "recipes", "distill.py"), "--train", sample, "--max-train-rows", "200",
         "--epochs", "1", "--layers", "2", "--maxlen", "32", "--out", str(tmp_path / "student")],
        capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "teacher" in out.stdout and "x the teacher's speed" in out.stdout
    assert (tmp_path / "student" / "kbert_predictor.json").exists()
