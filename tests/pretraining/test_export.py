"""kbert.pretraining.export: the exported encoder loads with identical outputs, is a preset for
fine-tuning and continued pretraining, and its format is versioned."""

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
    import json
    import shutil

    _, _, folder = pretrained
    copy = shutil.copytree(folder, tmp_path / "old-encoder")
    meta = json.loads((copy / "kbert_encoder.json").read_text())
    meta["format_version"] = 99
    (copy / "kbert_encoder.json").write_text(json.dumps(meta))
    with pytest.raises(kbert.encoders.EncoderNotAvailable, match="format version 99"):
        kbert.load_encoder(str(copy))
