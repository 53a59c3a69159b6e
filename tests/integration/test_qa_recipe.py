import os
import subprocess
import sys

import pytest

from conftest import ROOT, SHARED, requires_minilm


@requires_minilm
@pytest.mark.integration
def test_qa_recipe_runs_on_squad(tmp_path):
    if not os.path.exists(os.path.join(SHARED, "squad", "train.json.gz")):
        pytest.skip("../shared/datasets not present")
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "recipes", "qa.py"), "--max-questions", "48", "--maxlen", "128",
         "--doc-stride", "64", "--epochs", "1", "--out", str(tmp_path / "qa")],
        capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "exact match" in out.stdout and "Who wrote Hamlet?" in out.stdout
    assert (tmp_path / "qa" / "kbert_predictor.json").exists()
