"""kbert.pretraining.export: the exported encoder loads with identical outputs, is a preset for
fine-tuning and continued pretraining, and its format is versioned with checksums that
load_encoder verifies."""

import hashlib
import json
import os
import pathlib
import shutil

import numpy as np
import pandas as pd
import pytest

import kbert
from conftest import NEGATIVE, POSITIVE, tiny_vocabulary
from kbert import pretraining as P

from .helpers import toy_corpus


def test_export_load_round_trip_gives_identical_encoder_outputs(pretrained):
    learner, pre, folder = pretrained
    backbone = P.find_backbone(learner.model)
    loaded, tokenizer = kbert.load_encoder(folder)
    assert tokenizer.get_vocabulary() == pre.tokenizer.get_vocabulary()
    x = {"token_ids": np.array([[2, 7, 8, 9, 3, 0]], "int32"), "segment_ids": np.zeros((1, 6), "int32"),
         "padding_mask": np.array([[1, 1, 1, 1, 1, 0]], "int32")}
    for key in ("sequence_output", "pooled_output"):
        np.testing.assert_allclose(loaded(x)[key], backbone(x)[key], atol=1e-6)


def test_exported_encoder_is_a_preset_for_fine_tuning_and_continued_pretraining(pretrained):
    learner, pre, folder = pretrained
    rows = [{"text": f"i feel {w}", "label": "pos" if w in POSITIVE else "neg"} for w in POSITIVE + NEGATIVE]
    trn, val, cpre = kbert.text.texts_from_df(pd.DataFrame(rows * 2), "text", "label", preset=str(folder),
                                              maxlen=16, verbose=0)
    clf = kbert.text.text_classifier(cpre)
    exported = P.find_backbone(learner.model).get_weights()
    for a, b in zip(P.find_backbone(clf).get_weights(), exported):
        np.testing.assert_array_equal(a, b)
    # continued pretraining starts from the checkpoint, with its vocabulary
    trn2, val2, pre2 = P.pretraining_data(toy_corpus(seed=1), vocabulary=str(folder), maxlen=32, verbose=0)
    again = P.bert_pretrainer(pre2, encoder=str(folder))
    for a, b in zip(P.find_backbone(again).get_weights(), exported):
        np.testing.assert_array_equal(a, b)
    other = P.pretraining_data(toy_corpus(), vocabulary=tiny_vocabulary()[:-3], maxlen=32, verbose=0)[2]
    with pytest.raises(ValueError, match="another vocabulary"):
        P.bert_pretrainer(other, encoder=str(folder))


def test_export_is_versioned(pretrained, tmp_path):
    _, _, folder = pretrained
    copy = shutil.copytree(folder, tmp_path / "old-encoder")
    meta = json.loads((copy / "kbert_encoder.json").read_text())
    meta["format_version"] = 99
    (copy / "kbert_encoder.json").write_text(json.dumps(meta))
    with pytest.raises(kbert.encoders.EncoderNotAvailable, match="format version 99"):
        kbert.load_encoder(str(copy))


def copy_export(folder, tmp_path):
    return shutil.copytree(folder, tmp_path / "copy")


def edit_meta(copy, **changes):
    meta = json.loads((copy / "kbert_encoder.json").read_text())
    meta.update(changes)
    meta = {k: v for k, v in meta.items() if v is not None}
    (copy / "kbert_encoder.json").write_text(json.dumps(meta))
    return meta


def test_export_records_the_checksum_of_every_file(pretrained):
    _, pre, folder = pretrained
    folder = pathlib.Path(folder)
    meta = json.loads((folder / "kbert_encoder.json").read_text())
    assert meta["format_version"] == 2 and meta["vocabulary_tokens"] == len(pre.tokenizer.get_vocabulary())
    files = sorted(os.path.relpath(os.path.join(b, f), folder).replace(os.sep, "/")
                   for b, _, fs in os.walk(folder) for f in fs if f != "kbert_encoder.json")
    assert sorted(meta["checksums"]) == files and "model.weights.h5" in files
    for name, digest in meta["checksums"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest


def test_damaged_weights_of_an_export_are_named(pretrained, tmp_path):
    copy = copy_export(pretrained[2], tmp_path)
    path = copy / "model.weights.h5"
    data = bytearray(path.read_bytes())
    data[len(data) // 2: len(data) // 2 + 4096] = np.random.default_rng(0).bytes(4096)
    path.write_bytes(bytes(data))
    with pytest.raises(kbert.encoders.EncoderNotAvailable, match="file model.weights.h5 is damaged"):
        kbert.load_encoder(str(copy))
    kbert.encoders.load_tokenizer(str(copy))  # the tokenizer's files are intact: it loads


def test_a_cut_vocabulary_of_an_export_is_named(pretrained, tmp_path):
    copy = copy_export(pretrained[2], tmp_path)
    vocab = next(p for p in copy.rglob("*.txt"))
    lines = vocab.read_text().splitlines()
    vocab.write_text("\n".join(lines[:50]) + "\n")
    rel = vocab.relative_to(copy).as_posix()
    with pytest.raises(kbert.encoders.EncoderNotAvailable, match=f"file {rel} is damaged"):
        kbert.load_encoder(str(copy))
    with pytest.raises(kbert.encoders.EncoderNotAvailable, match=f"file {rel} is damaged"):
        kbert.encoders.load_tokenizer(str(copy))
    # checksums edited to match: the recorded token count still disagrees
    meta = json.loads((copy / "kbert_encoder.json").read_text())
    edit_meta(copy, checksums={**meta["checksums"], rel: hashlib.sha256(vocab.read_bytes()).hexdigest()})
    with pytest.raises(kbert.encoders.EncoderNotAvailable,
                       match=f"its vocabulary holds 50 tokens but kbert_encoder.json records {len(lines)}"):
        kbert.load_encoder(str(copy))


def test_format_1_exports_load_unverified_with_a_warning(pretrained, tmp_path):
    copy = copy_export(pretrained[2], tmp_path)
    edit_meta(copy, format_version=1, checksums=None, vocabulary_tokens=None)
    with pytest.warns(UserWarning, match="exported in format 1 .* its files can not be verified"):
        backbone, _ = kbert.load_encoder(str(copy))
    assert backbone.num_layers == 2


@pytest.mark.parametrize("family", ["roberta", "albert"])
def test_any_family_exports_as_a_preset_that_load_encoder_reads(family, tmp_path):
    from conftest import tiny_family_spec
    from kbert.models import encode

    backbone, tokenizer = kbert.load_encoder(tiny_family_spec(family))
    folder = P.export_encoder(backbone, tmp_path / "enc", tokenizer=tokenizer)
    assert json.loads((pathlib.Path(folder) / "kbert_encoder.json").read_text())["family"] == family
    loaded, tok = kbert.load_encoder(folder)
    assert type(loaded) is type(backbone) and type(tok) is type(tokenizer)
    assert tok("Café naïve, hello world!").tolist() == tokenizer("Café naïve, hello world!").tolist()
    x = {"token_ids": np.array([[1, 5, 6, 7, 2]], "int32"), "segment_ids": np.zeros((1, 5), "int32"),
         "padding_mask": np.ones((1, 5), "int32")}
    np.testing.assert_array_equal(encode(loaded, x)["sequence_output"], encode(backbone, x)["sequence_output"])
