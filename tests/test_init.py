"""kbert/__init__.py: `import kbert` is quiet, unless the user chose TensorFlow's log level."""

import os
import re
import subprocess
import sys
import textwrap

import pytest

import kbert
from conftest import ROOT

# a TensorFlow C++ log line: "I0000 00:00:17.6 123 port.cc:153] ..." -> "port.cc"
LOG_SOURCE = re.compile(r"^[IWEF]\d{4} [\d:.]+ +\d+ ([\w.-]+):\d+\]", re.M)


def run_python(code, **env_changes):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "KERAS_BACKEND")}
    env.update(env_changes)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=240, cwd=ROOT)
    return out


def test_import_prints_nothing_and_sets_the_level():
    # TensorFlow loads on first use of a name that needs it, however it is reached, and stays
    # quiet when the user imports it after kbert
    for use in ("import kbert; kbert.text", "from kbert.learner import Learner", "import kbert, tensorflow"):
        out = run_python(f"import os, sys; {use}; print(os.environ['TF_CPP_MIN_LOG_LEVEL'], 'tensorflow' in sys.modules)")
        assert out.returncode == 0, out.stderr
        assert out.stderr == "", use
        assert out.stdout == "3 True\n", use


def test_the_package_face_is_lazy():
    # import kbert (and its TensorFlow-free runtime kbert.onnx) loads neither TensorFlow nor Keras
    code = ("import sys, kbert, kbert.onnx; print(kbert.__version__ == kbert.version.__version__, "
            "'tensorflow' in sys.modules, 'keras' in sys.modules, sorted(kbert.__all__) == sorted(set(dir(kbert)) & set(kbert.__all__)))")
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "True False False True\n"
    assert out.stderr == ""


def test_lazy_names_and_a_wrong_backend():
    assert kbert.get_learner is kbert.learner.get_learner
    assert kbert.text.texts_from_df is not None and callable(kbert.load_predictor)
    assert kbert.families.family_by_name("bert").name == "bert"  # submodules load on first use too
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        kbert.nothing
    out = run_python("import kbert.text", KERAS_BACKEND="jax")
    assert out.returncode != 0 and "needs Keras' TensorFlow backend, but KERAS_BACKEND='jax'" in out.stderr


def test_a_level_the_user_set_is_kept_and_nothing_is_filtered():
    # TF_CPP_MIN_LOG_LEVEL=0: the user wants every line; kbert must neither change the
    # variable nor hide the load-time lines TensorFlow alone prints.
    code = "import os, {}; print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"
    alone = run_python(code.format("tensorflow"), TF_CPP_MIN_LOG_LEVEL="0")
    with_kbert = run_python(code.format("kbert.text"), TF_CPP_MIN_LOG_LEVEL="0")
    assert with_kbert.returncode == 0, with_kbert.stderr
    assert with_kbert.stdout == "0\n"
    assert set(LOG_SOURCE.findall(alone.stderr)) <= set(LOG_SOURCE.findall(with_kbert.stderr))


def test_noise_pattern():
    noise = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
        "I0000 00:00:1796052119.677366   20581 port.cc:153] oneDNN custom operations are on.\n",
        "W0000 00:00:1796052119.677677   20581 cudart_stub.cc:31] Could not find cuda drivers\n",
        "2025-09-17 14:44:05.157831: I external/local_xla/xla/tsl/cuda/cudart_stub.cc:32] Could not\n",
        "E0000 00:00:1796052119.677366   20581 cuda_dnn.cc:8579] Unable to register cuDNN factory\n",
        "2025-09-17 14:44:05.176998: E external/local_xla/xla/stream_executor/cuda/cuda_fft.cc:467] x\n",
    ]
    kept = [
        "F0000 00:00:1796052119.677366   20581 check_op.cc:12] Check failed: a == b\n",
        "Traceback (most recent call last):\n",
        "/x/y.py:3: UserWarning: I0000 is not a log line here\n",
    ]
    assert all(kbert._NOISE.match(line) for line in noise)
    assert not any(kbert._NOISE.match(line) for line in kept)


FAKE_TENSORFLOW = """
import os, sys
os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\\n")
os.write(2, b"I0000 00:00:1796052119.677366   20581 port.cc:153] oneDNN custom operations are on.\\n")
os.write(2, b"E0000 00:00:1796052119.677366   20581 cuda_dnn.cc:8579] Unable to register cuDNN\\n")
os.write(2, b"F0000 00:00:1796052119.677366   20581 check_op.cc:12] Check failed: a == b\\n")
print("a Python warning", file=sys.stderr)
if os.environ.get("FAKE_TF_FAILS"):
    raise ImportError("broken install")
"""


def test_the_capture_keeps_other_output_and_restores_stderr(tmp_path):
    (tmp_path / "tensorflow").mkdir()
    (tmp_path / "tensorflow" / "__init__.py").write_text(FAKE_TENSORFLOW)
    code = textwrap.dedent(f"""
        import os, sys, kbert
        sys.path.insert(0, {str(tmp_path)!r})
        for fails in ("", "1"):
            os.environ["FAKE_TF_FAILS"] = fails
            sys.modules.pop("tensorflow", None)
            try:
                kbert._import_tensorflow_quietly()
            except ImportError as e:
                print("raised:", e)
            print("after", file=sys.stderr)
    """)
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    kept = "F0000 00:00:1796052119.677366   20581 check_op.cc:12] Check failed: a == b\na Python warning\n"
    assert out.stderr == kept + "after\n" + kept + "after\n"
    assert out.stdout == "raised: broken install\n"
