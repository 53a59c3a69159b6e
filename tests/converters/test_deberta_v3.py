"""kbert.converters.deberta_v3 against a tiny Hugging Face DeBERTa-v3
(tests/fixtures/hf/deberta_v3, made by tests/fixtures/make_hf_fixtures.py with transformers)."""

import json
import os
import shutil

import keras
import keras_hub
import numpy as np
import pytest
from keras_hub.src.utils.transformers.safetensor_utils import SafetensorLoader

from conftest import ROOT
from kbert.converters import CONVERTERS, deberta_v3

FOLDER = os.path.join(ROOT, "tests", "fixtures", "hf", "deberta_v3")
TOLERANCE = 1e-4


def config():
    with open(os.path.join(FOLDER, "config.json"), encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def expected():
    return dict(np.load(os.path.join(FOLDER, "expected.npz")))


@pytest.fixture(scope="module")
def backbone():
    cfg = config()
    model = deberta_v3.backbone_cls(**deberta_v3.convert_backbone_config(cfg))
    with SafetensorLoader(FOLDER) as loader:
        deberta_v3.convert_weights(model, loader, cfg)
    return model


def sequence_output(model, token_ids, mask):
    return keras.ops.convert_to_numpy(model({"token_ids": token_ids, "padding_mask": mask}))


def test_registered_under_its_model_type():
    assert CONVERTERS["deberta-v2"] is deberta_v3
    assert deberta_v3.backbone_cls is keras_hub.models.DebertaV3Backbone


def test_backbone_config_reads_sizes_and_buckets_from_config_json():
    assert deberta_v3.convert_backbone_config(config()) == {
        "vocabulary_size": 401, "num_layers": 2, "num_heads": 2, "hidden_dim": 32, "intermediate_dim": 64,
        "dropout": 0.0, "max_sequence_length": 64, "bucket_size": 16}
    # the log buckets span max_relative_positions when it is set (≥ 1)
    assert deberta_v3.convert_backbone_config(dict(config(), max_relative_positions=128))["max_sequence_length"] == 128


def test_padded_batch_matches_transformers(backbone, expected):
    # rows up to 56 tokens with 16 buckets: relative positions past ±8 go through the log buckets
    mask = expected["mask"]
    assert mask.sum(axis=1).max() > 2 * backbone.bucket_size
    hidden = sequence_output(backbone, expected["token_ids"], mask)
    # padded positions differ by design (Hugging Face zeroes their embeddings), so only real tokens count
    diff = np.abs(hidden - expected["hidden"])[mask.astype(bool)]
    assert diff.max() <= TOLERANCE, diff.max()


def test_single_unpadded_row_matches_transformers(backbone, expected):
    ids = expected["pair_token_ids"][None]
    hidden = sequence_output(backbone, ids, np.ones_like(ids))
    assert np.abs(hidden[0] - expected["pair_hidden"]).max() <= TOLERANCE


class Recorder:
    """A loader that records what is asked of it."""

    def __init__(self):
        self.ported = {}

    def port_weight(self, keras_variable, hf_weight_key, hook_fn=None):
        self.ported[id(keras_variable)] = hf_weight_key


def test_every_weight_is_ported_with_prefixed_keys(backbone):
    recorder = Recorder()
    deberta_v3.convert_weights(backbone, recorder, config())
    assert [w.path for w in backbone.weights if id(w) not in recorder.ported] == []
    assert all(key.startswith("deberta.") for key in recorder.ported.values())
    assert "deberta.encoder.rel_embeddings.weight" in recorder.ported.values()


def test_tokenizer_gives_the_checkpoints_ids(expected):
    tokenizer = deberta_v3.convert_tokenizer(keras_hub.models.DebertaV3Tokenizer, FOLDER)
    for sentence, ids, length in zip(expected["sentences"], expected["token_ids"], expected["lengths"]):
        packed = [tokenizer.start_token_id] + [int(i) for i in tokenizer(str(sentence))] + [tokenizer.end_token_id]
        assert packed == ids[:length].tolist(), sentence


@pytest.mark.parametrize("key", ["do_lower_case", "split_by_punct"])
def test_tokenizer_settings_sentencepiece_cannot_follow_are_refused(tmp_path, key):
    shutil.copy(os.path.join(FOLDER, "spm.model"), tmp_path / "spm.model")
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({key: True}), encoding="utf-8")
    with pytest.raises(ValueError, match=key):
        deberta_v3.convert_tokenizer(keras_hub.models.DebertaV3Tokenizer, str(tmp_path))


def test_tokenizer_without_spm_model_is_refused(tmp_path):
    with pytest.raises(ValueError, match="spm.model"):
        deberta_v3.convert_tokenizer(keras_hub.models.DebertaV3Tokenizer, str(tmp_path))


@pytest.mark.parametrize("key, value", [
    ("relative_attention", False),
    ("pos_att_type", ["c2p"]),
    ("pos_att_type", "p2c|c2p|p2p"),
    ("position_biased_input", True),
    ("share_att_key", False),
    ("norm_rel_ebd", "none"),
    ("position_buckets", -1),
    ("type_vocab_size", 2),
    ("conv_kernel_size", 3),
    ("embedding_size", 16),
    ("hidden_act", "gelu_new"),
    ("layer_norm_eps", 1e-12),
])
def test_unrepresentable_settings_are_refused_by_name(key, value):
    cfg = dict(config(), **{key: value})
    with pytest.raises(ValueError, match=f"{key}="):
        deberta_v3.convert_backbone_config(cfg)


def test_absent_keys_take_transformers_defaults_and_are_refused():
    # DebertaV2Config's defaults describe DeBERTa v1/v2 (absolute positions, no relative attention)
    cfg = {k: v for k, v in config().items() if k != "position_biased_input"}
    with pytest.raises(ValueError, match="position_biased_input=True"):
        deberta_v3.convert_backbone_config(cfg)


def test_pos_att_type_may_be_a_string():
    assert deberta_v3.convert_backbone_config(dict(config(), pos_att_type="c2p|p2c"))["bucket_size"] == 16
