"""The tutorial flow in a real Jupyter kernel (nbclient + ipykernel): plots arrive as images.

A notebook is built with nbformat and run by nbclient in a fresh ipykernel that runs this
interpreter (a kernel spec written to tmp_path, found through JUPYTER_PATH), with the repo on
PYTHONPATH. The encoder is a tiny random one (`conftest.tiny_spec()`), the data the toy
sentiment set, so the whole notebook takes well under a minute on 2 CPU cores.
"""

import base64
import json
import os
import re
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT, sentiment_df, tiny_spec

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
KERNEL = "kbert-test-python3"

CELLS = {
    "setup": "import pandas as pd\nimport kbert\ntrain_df = pd.read_csv({csv!r})\nspec = {spec!r}",
    "data": 'trn, val, preproc = kbert.text.texts_from_df(train_df, "text", "label", val_pct=0.2, maxlen=32,\n'
            "                                             preset=spec)",
    "model": "model = kbert.text.text_classifier(preproc)\n"
             "learner = kbert.get_learner(model, trn, val, batch_size=32)",
    "lr_find": "learner.lr_find(show_plot=True, max_epochs=1)",
    "fit": "learner.fit_onecycle(1e-3, 1)",
    "plot": 'learner.plot("loss")',
    "validate": "learner.validate(class_names=preproc.get_classes())",
    "predictor": "predictor = kbert.get_predictor(learner.model, preproc)\npredictor.save({folder!r})\n"
                 'kbert.load_predictor({folder!r}).predict("I feel wonderful today")',
}


def write_kernel_spec(folder):
    """A kernel spec for this very interpreter, so the kernel imports this checkout's kbert."""
    spec_dir = folder / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    pythonpath = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "kbert test (this interpreter)",
        "language": "python",
        "env": {"PYTHONPATH": pythonpath, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"},
    }))


def png_outputs(cell):
    return [base64.b64decode(o["data"]["image/png"]) for o in cell.outputs if "image/png" in o.get("data", {})]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("notebook")
    write_kernel_spec(tmp)
    csv = tmp / "train.csv"
    sentiment_df(240).to_csv(csv, index=False)
    fields = {"csv": str(csv), "spec": tiny_spec(), "folder": str(tmp / "predictor")}
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src.format(**fields), metadata={"name": name})
                for name, src in CELLS.items()]
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(tmp), old) if p)
    try:
        # cwd is tmp: a plot wrongly saved as a file (not in_notebook()) lands there, not in the repo
        NotebookClient(nb, kernel_name=KERNEL, timeout=300, resources={"metadata": {"path": str(tmp)}}).execute()
    finally:
        if old is None:
            del os.environ["JUPYTER_PATH"]
        else:
            os.environ["JUPYTER_PATH"] = old
    nbformat.write(nb, str(tmp / "executed.ipynb"))  # for a look after a failure
    return {c.metadata["name"]: c for c in nb.cells}, tmp


def test_lr_find_and_plot_show_images(executed):
    cells, tmp = executed
    for name in ("lr_find", "plot"):
        pngs = png_outputs(cells[name])
        assert len(pngs) == 1 and pngs[0].startswith(PNG_MAGIC), (name, cells[name].outputs)
    assert not list(tmp.glob("*.png"))  # shown, not saved


def test_no_object_reprs_in_place_of_plots(executed):
    cells, _ = executed
    for name, cell in cells.items():
        for out in cell.outputs:
            text = out.get("data", {}).get("text/plain", "")
            assert not re.match(r"<kbert\.callbacks\.LRFinder", text), (name, text)  # lr_find returns None
            assert not re.match(r"<Figure size", text), (name, text)
    assert not [o for o in cells["lr_find"].outputs if o["output_type"] == "execute_result"]


def test_the_rest_of_the_tutorial_ran(executed):
    cells, _ = executed
    text = "".join(o.get("text", "") for o in cells["validate"].outputs)
    assert "precision" in text and "neg" in text and "pos" in text
    (result,) = [o for o in cells["predictor"].outputs if o["output_type"] == "execute_result"]
    assert result["data"]["text/plain"] in ("'neg'", "'pos'")
