import os
import subprocess
import sys

import pytest

from conftest import ROOT, SHARED, requires_minilm


@requires_minilm
@pytest.mark.integration
def test_ner_recipe_runs_on_conll(tmp_path):
    if not os.path.exists(os.path.join(SHARED, "conll2003", "eng.train")):
        pytest.skip("../shared/datasets not present")
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "recipes", "ner.py"), "--max-train-sentences", "200", "--maxlen", "64",
         "--max-val-sentences", "100", "--epochs", "1", "--document-context", "--word-shapes", "--out", str(tmp_path / "ner")],
        capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "entity micro F1:" in out.stdout and "PER" in out.stdout
    assert (tmp_path / "ner" / "kbert_predictor.json").exists()
    import kbert

    predictor = kbert.load_predictor(str(tmp_path / "ner"))
    assert predictor.preproc.document_context and "shape_ids" in predictor.model.input
