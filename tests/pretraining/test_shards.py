"""kbert.pretraining.shards and shard_data: examples streamed to TFRecord shards and trained from them."""

import collections
import json
import os
import random
import re

import numpy as np
import pytest

import kbert
from conftest import tiny_vocabulary
from kbert import pretraining as P
from kbert.errors import DataError
from kbert.pretraining.data import build_examples, make_preprocessor
from kbert.pretraining.shard_data import ShardData, cluster_position, open_shards
from kbert.pretraining.shards import stream_examples

from .helpers import TINY, toy_corpus


def read_back(data, paths=None):
    """(token_ids, segment_ids, label) of every row of data's files, in file order."""
    rows = []
    for el in data.records(paths=data.paths if paths is None else paths).batch(64).map(
            lambda r: data._parse(r, True)):
        for ids, segs, y in zip(el["token_ids"].to_list(), el["segment_ids"].to_list(), el["__target__"].numpy()):
            rows.append((tuple(ids), tuple(segs), int(y)))
    return rows


def in_memory(objective, seed=3):
    pre = make_preprocessor(tiny_vocabulary(), 32, objective=objective)
    data = build_examples(pre, toy_corpus(), seed, "train", verbose=0)
    return [(tuple(i), tuple(s), int(y)) for i, s, y in
            zip(data.features["token_ids"].to_list(), data.features["segment_ids"].to_list(), data.targets)], pre


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    out = {}
    for objective in ("mlm+nsp", "mlm+sop", "mlm"):
        out[objective] = str(root / objective.replace("+", "_"))
        P.write_shards(toy_corpus(), out[objective], vocabulary=tiny_vocabulary(), maxlen=32, objective=objective,
                       examples_per_shard=60, seed=3, verbose=0)
    return out


@pytest.mark.parametrize("objective", ["mlm+sop", "mlm"])
def test_round_trip_equals_in_memory_examples(folders, objective):
    expected, pre = in_memory(objective)
    data = open_shards(folders[objective], pre)
    assert read_back(data) == expected
    assert data.pieces == sum(len(ids) for ids, _, _ in expected)
    manifest = json.load(open(os.path.join(folders[objective], "shards.json")))
    assert manifest["examples"] == len(expected) == len(data)
    assert [s["examples"] for s in manifest["shards"]][:-1] == [60] * (len(manifest["shards"]) - 1)
    assert manifest["maxlen"] == 32 and manifest["objective"] == objective
    assert manifest["vocabulary"]["size"] == len(tiny_vocabulary())


def test_nsp_shards_are_the_streamed_examples(folders):
    pre = make_preprocessor(tiny_vocabulary(), 32, objective="mlm+nsp")
    docs = list(pre.tokenize_documents(toy_corpus()))
    features, labels = pre.pack(stream_examples(pre, iter(docs), random.Random(3), {}, buffer_documents=100))
    expected = list(zip(map(tuple, features["token_ids"].to_list()), map(tuple, features["segment_ids"].to_list()),
                        labels.tolist()))
    rows = read_back(open_shards(folders["mlm+nsp"], pre))
    assert rows == expected
    assert 0.3 < np.mean([y for *_, y in rows]) < 0.7
    # a buffer of one document: random next segments come from the previous document only
    one = list(stream_examples(pre, iter(docs), random.Random(3), {}, buffer_documents=1))
    assert len(one) > 0 and {y for *_, y in one} == {0, 1}


def test_training_epochs_are_a_function_of_seed_and_epoch(folders):
    trn, val, pre = P.pretraining_data(shards=folders["mlm+nsp"], vocabulary=tiny_vocabulary(), shuffle_buffer=64,
                                       verbose=0)
    assert pre.maxlen == 32 and pre.objective == "mlm+nsp"  # from the manifest
    assert len(trn) + len(val) == json.load(open(os.path.join(folders["mlm+nsp"], "shards.json")))["examples"]

    def epoch_rows(ds, steps):
        return [tuple(r[m > 0]) for x, y in ds.take(steps) for r, m in zip(_unmasked(x, y), x["padding_mask"].numpy())]

    steps = trn.steps(16, training=True)
    two = trn.epochs_dataset(16, 2, seed=5)
    first, second = epoch_rows(two, steps), epoch_rows(two.skip(steps), steps)
    # every training example once per epoch, in another order each epoch
    stored = collections.Counter(ids for ids, _, _ in read_back(trn))
    assert collections.Counter(first) == stored == collections.Counter(second)
    assert first != second
    # replayed: epoch 1 alone (a resumed run) equals epoch 1 of the uninterrupted run
    assert epoch_rows(trn.epochs_dataset(16, 2, initial_epoch=1, seed=5), steps) == second
    x, y = next(iter(val.dataset(8)))
    assert set(y) == {"mlm", "nsp"} and x["token_ids"].shape[0] == 8


def test_worker_reads_only_its_files(folders, monkeypatch):
    config = {"cluster": {"worker": ["h0:1", "h1:1"]}, "task": {"type": "worker", "index": 1}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    assert cluster_position() == (1, 2)
    trn, _, _ = P.pretraining_data(shards=folders["mlm"], vocabulary=tiny_vocabulary(), shuffle_buffer=32, verbose=0)
    assert trn.worker == (1, 2) and trn.worker_paths == trn.paths[1::2]
    mine = {ids for ids, _, _ in read_back(trn, trn.worker_paths)}
    others = {ids for ids, _, _ in read_back(trn, trn.paths[0::2])}
    seen = set()
    for x, y in trn.dataset(16, training=True, seed=0):
        seen.update(tuple(r[m > 0]) for r, m in zip(_unmasked(x, y), x["padding_mask"].numpy()))
    assert seen and seen <= mine and not seen & (others - mine)
    # the worker's pipeline gives its share of the global steps, and tf.distribute must not shard it again
    ds = trn.dataset(16, training=True, seed=0)
    assert sum(int(x["token_ids"].shape[0]) for x, _ in ds) == trn.worker_examples(16) == trn.steps(16, True) * 16 // 2
    assert len(list(ds)) == trn.worker_steps(16) == -(-trn.worker_examples(16) // 16)
    assert ds.options().experimental_distribute.auto_shard_policy.name == "OFF"
    with pytest.raises(DataError, match="3 workers need at least 3 training shard files"):
        ShardData(trn.paths[:2], [1, 1], trn.preprocessor, worker=(0, 3))


def _unmasked(x, y):
    """A masked batch's token ids with the masked pieces put back."""
    ids = x["token_ids"].numpy().copy()
    for r, (pos, tgt) in enumerate(zip(x["mask_positions"].numpy(), y["mlm"].numpy())):
        keep = tgt != kbert.metrics.IGNORE_INDEX
        ids[r, pos[keep]] = tgt[keep]
    return ids


def test_bad_folders_name_the_file(folders, tmp_path):
    vocab = tiny_vocabulary()
    with pytest.raises(DataError, match="does not exist"):
        P.pretraining_data(shards=str(tmp_path / "nowhere"), vocabulary=vocab)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty'? is empty"):
        P.pretraining_data(shards=str(tmp_path / "empty"), vocabulary=vocab)
    folder = folders["mlm"]
    manifest = os.path.join(folder, "shards.json")
    other = vocab[:-1] + ["zebra"]
    with pytest.raises(DataError, match=f"{re.escape(manifest)}.*another vocabulary"):
        P.pretraining_data(shards=folder, vocabulary=other)
    with pytest.raises(DataError, match=f"{re.escape(manifest)}.*maxlen=32, not maxlen=64"):
        P.pretraining_data(shards=folder, vocabulary=vocab, maxlen=64)
    with pytest.raises(DataError, match="hold 'mlm' examples, not 'mlm\\+nsp'"):
        P.pretraining_data(shards=folder, vocabulary=vocab, nsp=True)


@pytest.mark.parametrize("damage", ["truncate", "corrupt"])
def test_damaged_shard_is_named(folders, tmp_path, damage):
    folder = str(tmp_path / "copy")
    P.write_shards(toy_corpus(n_docs=4), folder, vocabulary=tiny_vocabulary(), maxlen=32, objective="mlm",
                   examples_per_shard=30, verbose=0)
    path = os.path.join(folder, "shard-00001.tfrecord")
    raw = bytearray(open(path, "rb").read())
    if damage == "truncate":
        raw = raw[: len(raw) // 2]
        expected = "truncated or changed"
    else:
        raw[len(raw) // 2] ^= 0xFF  # same size: only the record checksums see it
        expected = "is damaged"
    open(path, "wb").write(bytes(raw))
    with pytest.raises(DataError, match=f"{re.escape(path)}.*{expected}"):
        P.pretraining_data(shards=folder, vocabulary=tiny_vocabulary())


def test_write_refuses_a_folder_of_other_files(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not shards"):
        P.write_shards(toy_corpus(n_docs=2), str(tmp_path), vocabulary=tiny_vocabulary(), maxlen=32, verbose=0)
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_learner_trains_from_shards(folders):
    trn, val, pre = P.pretraining_data(shards=folders["mlm+sop"], vocabulary=tiny_vocabulary(), verbose=0)
    model = P.bert_pretrainer(pre, encoder=TINY, seed=0)
    learner = kbert.get_learner(model, trn, val, batch_size=16, seed=0)
    assert learner.steps_per_epoch() == trn.steps(16, training=True)
    hist = learner.fit_onecycle(3e-3, 1, verbose=0)
    assert np.isfinite(hist.history["loss"][0]) and "val_sop_accuracy" in hist.history


def test_validation_from_a_corpus_or_another_folder(folders):
    vocab = tiny_vocabulary()
    trn, val, _ = P.pretraining_data(shards=folders["mlm"], vocabulary=vocab, val_corpus=toy_corpus(n_docs=2),
                                     verbose=0)
    n_files = len(json.load(open(os.path.join(folders["mlm"], "shards.json")))["shards"])
    assert len(trn.paths) == n_files and not isinstance(val, ShardData) and len(val) > 0
    trn, val, _ = P.pretraining_data(shards=folders["mlm"], vocabulary=vocab, val_corpus=folders["mlm"], verbose=0)
    assert isinstance(val, ShardData) and len(val) == len(trn)
    with pytest.raises(DataError, match=f"val_shards={n_files} of the {n_files} files"):
        P.pretraining_data(shards=folders["mlm"], vocabulary=vocab, val_shards=n_files)


def test_batches_take_few_shapes_from_shards_and_in_memory(folders):
    """Every new batch shape costs a training process memory for the rest of its run, so
    pretraining batches take bucket widths and the predictions per row a function of it."""
    trn, val, pre = P.pretraining_data(shards=folders["mlm"], vocabulary=tiny_vocabulary(), shuffle_buffer=64,
                                       verbose=0)
    memory = build_examples(pre, toy_corpus(), 3, "train", verbose=0)
    assert not trn.fixed_shapes and trn.bucketed and memory.bucketed
    for data in (trn, memory):
        buckets = data.bucket_lengths()
        shapes, rows = set(), 0
        for x, y in data.epochs_dataset(16, 2, seed=1).concatenate(val.dataset(16)):
            width = x["token_ids"].shape[1]
            assert width in buckets
            assert x["mask_positions"].shape[1] == pre.max_predictions(width)
            assert (y["mlm"].numpy() != kbert.metrics.IGNORE_INDEX).sum(axis=1).max() <= pre.max_predictions(width)
            shapes.add((width, x["mask_positions"].shape[1]))
            rows += x["token_ids"].shape[0]
        assert len(shapes) <= len(buckets)
        assert rows == 2 * len(data) + len(val)  # the last partial batch is kept (no fixed shapes)
