"""Strategies in fresh processes (tests/integration/dist_job.py): Mirrored on 2 logical CPUs,
2 workers on localhost and a killed-and-resumed run."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from kbert import distribute

JOB = os.path.join(ROOT, "tests", "integration", "dist_job.py")


def run_job(*args, timeout=600):
    out = subprocess.run([sys.executable, JOB, *args], capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


@pytest.mark.integration
def test_mirrored_on_two_logical_cpus_matches_the_default_strategy(tmp_path):
    run_job("mirrored", str(tmp_path / "m.json"))
    r = json.loads((tmp_path / "m.json").read_text())
    d, m = r["default"], r["mirrored"]
    assert (d["replicas"], m["replicas"]) == (1, 2)
    np.testing.assert_allclose(m["loss"], d["loss"], rtol=1e-4)
    np.testing.assert_allclose(m["val_loss"], d["val_loss"], rtol=1e-4)
    for a, b in zip(m["weights"], d["weights"]):
        np.testing.assert_allclose(np.array(a), np.array(b), atol=1e-6)
    np.testing.assert_allclose(m["predictions"], d["predictions"], atol=1e-5)


@pytest.mark.integration
def test_two_workers_on_localhost_end_with_identical_weights(tmp_path):
    procs = distribute.local_cluster(2, [sys.executable, JOB, "worker", str(tmp_path / "w{}.npz")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # each worker fills in its own index (the command is the same for both)
    codes = []
    for p in procs:
        _, err = p.communicate(timeout=600)
        codes.append(p.returncode)
        assert p.returncode == 0, err.decode()[-3000:]
    w0, w1 = (np.load(tmp_path / f"w{i}.npz") for i in range(2))
    assert int(w0["replicas"]) == 2 and int(w0["iterations"]) == int(w1["iterations"]) == 20
    assert float(w0["moved"]) > 1e-4  # it trained
    for key in w0.files:
        if key.startswith("arr_"):
            np.testing.assert_array_equal(w0[key], w1[key])


@pytest.mark.integration
def test_killed_run_resumes_from_its_checkpoint_and_ends_as_an_uninterrupted_run(tmp_path):
    run_job("resume", str(tmp_path / "ckpt-a"), str(tmp_path / "a.npz"))
    cmd = [sys.executable, JOB, "resume", str(tmp_path / "ckpt-b"), str(tmp_path / "b.npz"), "--pause-after-epoch", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        if line.startswith("finished epoch 1"):
            proc.send_signal(signal.SIGKILL)  # a real crash, after the epoch-1 backup
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL and not (tmp_path / "b.npz").exists()
    out = run_job("resume", str(tmp_path / "ckpt-b"), str(tmp_path / "b.npz"))
    assert "resuming from" in out.stdout and "at epoch 2/3" in out.stdout
    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    assert int(a["epochs_run"]) == 3 and int(b["epochs_run"]) == 2
    assert int(a["iterations"]) == int(b["iterations"])  # the same number of steps in all
    for key in a.files:
        if key.startswith("arr_"):
            np.testing.assert_allclose(b[key], a[key], atol=1e-6)
    assert not (tmp_path / "ckpt-b" / "backup").exists()  # removed once the run finished
