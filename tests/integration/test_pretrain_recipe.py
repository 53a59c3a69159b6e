import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, SHARED


@pytest.mark.integration
def test_pretrain_recipe_runs_under_mirrored_and_exports_a_loadable_encoder(tmp_path):
    if not os.path.exists(os.path.join(SHARED, "corpus", "train.txt.gz")):
        pytest.skip("../shared/datasets not present")
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "recipes", "pretrain.py"), "--max-sentences", "2000",
         "--vocab-size", "2000", "--layers", "1", "--hidden", "32", "--heads", "2", "--maxlen", "64",
         "--batch-size", "32", "--epochs", "1", "--whole-word", "--strategy", "mirrored", "--cpu-devices", "2",
         "--out", str(tmp_path / "enc")],
        capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "real tokens/s" in out.stdout and "masked LM: loss" in out.stdout
    assert "MirroredStrategy with 2 replicas" in out.stdout
    assert "objective mlm\n" in out.stdout  # a fresh encoder's measured default: masked LM alone
    import kbert

    backbone, tokenizer = kbert.load_encoder(str(tmp_path / "enc"))
    assert backbone.num_layers == 1 and backbone.hidden_dim == 32
    ids = np.asarray(tokenizer("the prince said nothing"))
    assert ids.size > 0 and (ids != tokenizer.token_to_id("[UNK]")).all()
