"""kbert.predictors.batches: predictions without a tf.data pipeline (the same numbers as
kbert.data.predict, no retracing per call), batches of short rows packed."""

import numpy as np
import pytest

import kbert
from kbert.data import TaskData
from kbert.predictors import batches
from kbert.predictors.batches import batch_bounds, fast_path_supported, padded_batches, predict_rows

from .helpers import TEXTS, ner_sentences, qa_examples


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
    learner, pre = trained
    texts = ["a", "b c", "x y z", "i feel happy today", "ok ok", "a b c d e f g h i j"]
    longest = int(pre.transform(texts, verbose=0).lengths.max())
    seen, real = [], batches.padded_batches
    monkeypatch.setattr(batches, "padded_batches", lambda d, b, m, mp=None: seen.append((b, mp)) or real(d, b, m, mp))
    p = kbert.get_predictor(learner.model, pre, batch_size=2)
    logits = batches.predict_rows(learner.model, pre.transform(texts, verbose=0), 2, pre)  # unpacked
    seen.clear()
    expected = np.exp(logits - logits.max(-1, keepdims=True))
    np.testing.assert_allclose(p.predict_proba(texts), expected / expected.sum(-1, keepdims=True), atol=1e-6)
    assert seen == [(2, 2 * longest)]
    p.batch_size = batches.PACK_PIECES  # batch_size × longest above the cap: the cap
    p.predict_proba(texts)
    assert seen[-1] == (batches.PACK_PIECES, batches.PACK_PIECES)


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
