"""kbert.predictors.base: saving a predictor folder (atomically, with checksums) and loading
it in a fresh process; input checks shared by the predictors; predictions without a tf.data
pipeline (the same numbers as kbert.data.predict, no retracing per call)."""

import hashlib
import json
import os
import subprocess
import sys
import textwrap

import h5py
import keras
import numpy as np
import pytest

import kbert
from kbert.predictors import PredictorLoadError
from conftest import ROOT, tiny_vocabulary
from kbert.data import TaskData
from kbert.predictors.base import as_texts, batch_bounds, fast_path_supported, padded_batches, predict_rows

from .helpers import TEXTS, ner_sentences, qa_examples


def test_save_then_load_in_a_fresh_process_gives_equal_probabilities(trained, tmp_path):
    learner, pre = trained
    p = kbert.get_predictor(learner.model, pre)
    folder = tmp_path / "pred"
    p.save(str(folder))
    expected = p.predict_proba(TEXTS)
    assert sorted(os.listdir(folder)) == ["kbert_predictor.json", "model.json", "model.weights.h5", "tokenizer"]
    meta = json.loads((folder / "kbert_predictor.json").read_text())
    assert meta["format_version"] == 3 and meta["family"] == "bert"
    files = ("model.json", "model.weights.h5", "tokenizer/assets/tokenizer/vocabulary.txt", "tokenizer/tokenizer.json")
    assert meta["checksums"] == {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in files}
    assert meta["vocabulary_size"] == meta["embedding_rows"] == len(tiny_vocabulary())
    # no training settings: no compile config in model.json, no optimizer slots in the weights
    assert "compile_config" not in json.loads((folder / "model.json").read_text())
    with h5py.File(folder / "model.weights.h5") as f:
        assert "optimizer" not in f and "layers" in f
    script = textwrap.dedent(f"""
        import json, sys, numpy as np, kbert
        p = kbert.load_predictor({str(folder)!r})
        print(json.dumps({{"proba": p.predict_proba({TEXTS!r}).tolist(), "labels": p.predict({TEXTS!r}),
                          "classes": p.get_classes()}}))
    """)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KAGGLE_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert np.abs(np.asarray(got["proba"]) - expected).max() <= 1e-6
    assert got["labels"] == p.predict(TEXTS) and got["classes"] == ["neg", "pos"]


def test_save_is_atomic_and_replaces_only_when_complete(trained, tmp_path, monkeypatch):
    learner, pre = trained
    p = kbert.get_predictor(learner.model, pre)
    folder = tmp_path / "pred"
    p.save(folder)
    marker = folder / "kbert_predictor.json"
    before = marker.read_text()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, "save_weights", boom)
    with pytest.raises(OSError, match="disk full"):
        p.save(folder)
    assert marker.read_text() == before  # the old predictor is intact
    assert sorted(os.listdir(tmp_path)) == ["pred"]  # no temporary folder left behind
    monkeypatch.undo()
    p.save(folder)  # replacing a complete folder works
    assert kbert.load_predictor(folder).get_classes() == ["neg", "pos"]


def test_load_checks_version_and_completeness(trained, tmp_path):
    learner, pre = trained
    folder = tmp_path / "pred"
    kbert.get_predictor(learner.model, pre).save(folder)
    meta = json.loads((folder / "kbert_predictor.json").read_text())
    meta["format_version"] = 99
    (folder / "kbert_predictor.json").write_text(json.dumps(meta))
    with pytest.raises(PredictorLoadError, match="format version 99.*reads format 3"):
        kbert.load_predictor(folder)
    meta["format_version"] = 3
    (folder / "kbert_predictor.json").write_text(json.dumps(meta))
    (folder / "model.weights.h5").unlink()
    with pytest.raises(PredictorLoadError, match="model.weights.h5 is missing"):
        kbert.load_predictor(folder)
    with pytest.raises(PredictorLoadError, match="does not exist"):
        kbert.load_predictor(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PredictorLoadError, match="not a kbert predictor folder"):
        kbert.load_predictor(tmp_path / "empty")
    (tmp_path / "file").write_text("x")
    with pytest.raises(PredictorLoadError, match="is a file"):
        kbert.load_predictor(tmp_path / "file")


@pytest.mark.parametrize("bad", [None, 5, 2.5, b"bytes", {"text": "x"}])
def test_inputs_that_are_not_texts_name_the_argument(bad):
    with pytest.raises(TypeError, match=r"^texts must be a string or a list of strings, got "):
        as_texts(bad)


def test_items_that_are_not_strings_are_named_by_position():
    assert as_texts("one") == (["one"], True)
    assert as_texts(("a", "b")) == (["a", "b"], False)
    with pytest.raises(TypeError, match=r"texts\[1\] is None, not a string"):
        as_texts(["a", None])
    with pytest.raises(TypeError, match=r"texts\[0\] is a float \(nan\), not a string"):
        as_texts([float("nan")])


def _assert_same_outputs(got, expected):
    if isinstance(expected, list):  # per piece: one array per row, cut to its length
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert g.shape == e.shape
            np.testing.assert_allclose(g, e, atol=1e-6)
    else:
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize("batch_size", [1, 2, 32])
def test_predict_rows_gives_the_tf_data_pipelines_outputs(trained, ner_predictor, qa_predictor, batch_size):
    learner, pre = trained
    texts = ["i feel happy today", "so sad", "the cat is blue and really very awful now", "ok", "hm hm hm"]
    cases = [(learner.model, pre, pre.transform(texts, verbose=0)),
             (ner_predictor.model, ner_predictor.preproc,
              ner_predictor.preproc.encode(ner_sentences(7, seed=3)[0], verbose=0)),
             (qa_predictor.model, qa_predictor.preproc,
              qa_predictor.preproc.encode(qa_examples(5, seed=2), verbose=0, with_targets=False))]
    for model, preproc, data in cases:
        assert fast_path_supported(data, preproc)
        # rows of different lengths, so batches are sorted and padded as the pipeline does
        assert len(set(data.lengths.tolist())) > 1
        expected = kbert.data.predict(model, data, batch_size, per_piece=preproc.per_piece)
        _assert_same_outputs(predict_rows(model, data, batch_size, preproc), expected)
        # packed batches (what predictors use): other batch shapes, the same numbers to rounding
        _assert_same_outputs(predict_rows(model, data, batch_size, preproc, pack=True), expected)


def test_padded_batches_are_the_pipelines_batches(trained):
    _, pre = trained
    data = pre.transform(["a b c d e f", "x", "i feel happy"], verbose=0)
    got = list(padded_batches(data, 2, pad_multiple=8))
    expected = list(data.dataset(2, training=False, with_targets=False, pad_multiple=8))
    assert [rows.tolist() for rows, _ in got] == [data.eval_order[:2].tolist(), data.eval_order[2:].tolist()]
    assert len(got) == len(expected) == 2
    for (_, x), y in zip(got, expected):
        assert sorted(x) == sorted(y) and x["token_ids"].shape[1] % 8 == 0
        for name in y:
            np.testing.assert_array_equal(x[name], y[name].numpy())
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        next(padded_batches(data, 0))


def test_batch_bounds_pack_short_rows_up_to_the_widest_batch():
    lengths = np.array([1, 2, 2, 3, 5, 8, 8, 9, 20, 20])
    assert batch_bounds(lengths, 2) == [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10)]
    # 2 rows of 20 pieces: 40; 5 rows of at most 5 fit (25), 6 of at most 8 do not (48)
    assert batch_bounds(lengths, 2, 40) == [(0, 5), (5, 8), (8, 10)]
    # never fewer than batch_size rows (but at the end), even past max_pieces
    assert batch_bounds(lengths, 3, 10) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert batch_bounds(np.array([], int), 4, 100) == []
    lengths = np.sort(np.random.default_rng(0).integers(1, 60, 5000))
    bounds = batch_bounds(lengths, 32, 32 * 59)
    assert bounds[0][0] == 0 and bounds[-1][1] == 5000
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    for start, end in bounds:
        assert (end - start) * lengths[end - 1] <= 32 * 59 or end - start <= 32
        # the largest batch that fits: one more row would not
        assert end == 5000 or (end + 1 - start) * lengths[end] > 32 * 59


def test_packed_padded_batches_cover_every_row_once_within_the_widest_batch(trained):
    _, pre = trained
    data = pre.transform(["a", "b c", "x y z", "i feel happy today", "ok ok", "a b c d e f g h i j"], verbose=0)
    longest = int(data.lengths.max())
    got = list(padded_batches(data, 2, pad_multiple=1, max_pieces=2 * longest))
    assert sorted(np.concatenate([rows for rows, _ in got]).tolist()) == list(range(6))
    assert np.concatenate([rows for rows, _ in got]).tolist() == data.eval_order.tolist()
    assert len(got) < 3  # 6 rows at batch 2 unpacked
    for rows, x in got:
        assert x["token_ids"].shape == (len(rows), int(data.lengths[rows].max()))
        assert x["token_ids"].size <= 2 * longest or len(rows) == 2


def test_predictors_pack_up_to_the_widest_batch_and_at_most_pack_pieces(trained, monkeypatch):
    from kbert.predictors import base

    learner, pre = trained
    texts = ["a", "b c", "x y z", "i feel happy today", "ok ok", "a b c d e f g h i j"]
    longest = int(pre.transform(texts, verbose=0).lengths.max())
    seen, real = [], base.padded_batches
    monkeypatch.setattr(base, "padded_batches", lambda d, b, m, mp=None: seen.append((b, mp)) or real(d, b, m, mp))
    p = kbert.get_predictor(learner.model, pre, batch_size=2)
    logits = base.predict_rows(learner.model, pre.transform(texts, verbose=0), 2, pre)  # unpacked
    seen.clear()
    expected = np.exp(logits - logits.max(-1, keepdims=True))
    np.testing.assert_allclose(p.predict_proba(texts), expected / expected.sum(-1, keepdims=True), atol=1e-6)
    assert seen == [(2, 2 * longest)]
    p.batch_size = base.PACK_PIECES  # batch_size × longest above the cap: the cap
    p.predict_proba(texts)
    assert seen[-1] == (base.PACK_PIECES, base.PACK_PIECES)


def test_repeated_single_calls_do_not_retrace(trained):
    learner, pre = trained
    p = kbert.get_predictor(learner.model, pre)
    p.predict_proba("warm up")
    fn = p.model.__dict__["_kbert_predict_fn"][1]  # kbert.data.predict_on_batch's graph
    # every dimension unknown from the first trace: new widths and batch sizes reuse it
    p.predict_proba("warm up once more with a longer text")
    p.predict_proba(TEXTS)
    for n in range(1, 12):
        p.predict_proba(" ".join(["word"] * n))
    p.predict_proba(["one", "two words", "three words here"])
    assert fn.experimental_get_tracing_count() == 1


def test_data_that_batches_itself_keeps_its_own_pipeline(trained, monkeypatch):
    learner, pre = trained
    data = pre.transform(["i feel happy today", "so sad"], verbose=0)

    class OwnBatches(TaskData):
        def map_batches(self, ds, training, seed, with_targets, fixed_length=None, epoch_seed=None):
            return ds

    own = OwnBatches(data.features, None, pre, pad_values=data.pad_values)
    assert not fast_path_supported(own, pre)
    data.fixed_shapes = True
    assert not fast_path_supported(data, pre)
    data.fixed_shapes = False
    calls = []
    monkeypatch.setattr(type(pre), "predict_outputs",
                        lambda self, model, d, batch_size, verbose=0: calls.append(d) or "pipeline")
    assert not fast_path_supported(data, pre)  # a preprocessor with its own predict_outputs is asked
    assert predict_rows(learner.model, own, 8, pre) == "pipeline" and calls == [own]
