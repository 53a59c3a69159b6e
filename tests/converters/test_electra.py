"""kbert.converters.electra against a tiny Hugging Face ELECTRA discriminator
(tests/fixtures/hf/electra, made by tests/fixtures/make_hf_fixtures.py with transformers)."""

import json
import os
import shutil

import keras
import keras_hub
import numpy as np
import pytest
from keras_hub.src.utils.transformers.safetensor_utils import SafetensorLoader

from conftest import ROOT
from kbert.converters import CONVERTERS, electra

FOLDER = os.path.join(ROOT, "tests", "fixtures", "hf", "electra")
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
    model = electra.backbone_cls(**electra.convert_backbone_config(cfg))
    with SafetensorLoader(FOLDER) as loader:
        electra.convert_weights(model, loader, cfg)
    return model


def sequence_output(model, token_ids, mask, segment_ids=None):
    segment_ids = np.zeros_like(token_ids) if segment_ids is None else segment_ids
    out = model({"token_ids": token_ids, "padding_mask": mask, "segment_ids": segment_ids})
    return keras.ops.convert_to_numpy(out["sequence_output"])


def test_registered_under_its_model_type():
    assert CONVERTERS["electra"] is electra
    assert electra.backbone_cls is keras_hub.models.ElectraBackbone


def test_backbone_config_reads_sizes_from_config_json(backbone):
    kwargs = electra.convert_backbone_config(config())
    assert kwargs == {"vocab_size": 500, "num_layers": 2, "num_heads": 2, "hidden_dim": 32, "embedding_dim": 16,
                      "intermediate_dim": 64, "dropout": 0.0, "max_sequence_length": 64, "num_segments": 2}
    # embedding_size 16 ≠ hidden_size 32: the checkpoint's embeddings_project is used
    assert backbone.get_layer("embeddings_projection").kernel.shape == (16, 32)


def test_padded_batch_matches_transformers(backbone, expected):
    mask = expected["mask"]
    hidden = sequence_output(backbone, expected["token_ids"], mask)
    diff = np.abs(hidden - expected["hidden"])[mask.astype(bool)]
    assert diff.max() <= TOLERANCE, diff.max()


def test_sentence_pair_with_segment_ids_matches_transformers(backbone, expected):
    ids = expected["pair_token_ids"][None]
    hidden = sequence_output(backbone, ids, np.ones_like(ids), expected["pair_token_type_ids"][None])
    assert np.abs(hidden[0] - expected["pair_hidden"]).max() <= TOLERANCE


def test_exact_gelu_is_set_and_needed(backbone, expected):
    """keras-hub builds ELECTRA with the tanh GELU; Hugging Face's "gelu" is the exact one."""
    dense = backbone.transformer_layers[0]._feedforward_intermediate_dense
    x = np.linspace(-4, 4, 81, dtype="float32")
    exact = keras.ops.convert_to_numpy(keras.activations.gelu(x, approximate=False))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(dense.activation(x)), exact, atol=1e-6)
    # a fresh backbone (as from_config rebuilds it) has the approximation, and it shows
    fresh = electra.backbone_cls.from_config(backbone.get_config())
    fresh.set_weights(backbone.get_weights())
    mask = expected["mask"]
    approx = np.abs(sequence_output(fresh, expected["token_ids"], mask) - expected["hidden"])[mask.astype(bool)]
    assert approx.max() > TOLERANCE
    electra.set_feedforward_activation(fresh, "gelu")
    again = np.abs(sequence_output(fresh, expected["token_ids"], mask) - expected["hidden"])[mask.astype(bool)]
    assert again.max() <= TOLERANCE


class Recorder:
    """A loader that records what is asked of it."""

    def __init__(self):
        self.ported = {}

    def port_weight(self, keras_variable, hf_weight_key, hook_fn=None):
        self.ported[id(keras_variable)] = hf_weight_key


def test_every_weight_but_the_pooler_is_ported_with_prefixed_keys(backbone):
    recorder = Recorder()
    electra.convert_weights(backbone, recorder, config())
    missing = [w.path for w in backbone.weights if id(w) not in recorder.ported]
    assert missing == ["pooled_dense/kernel", "pooled_dense/bias"]  # ElectraModel has no pooler
    assert all(key.startswith("electra.") for key in recorder.ported.values())


def test_tokenizer_gives_the_checkpoints_ids(expected):
    tokenizer = electra.convert_tokenizer(keras_hub.models.ElectraTokenizer, FOLDER)
    checked = 0
    for sentence, ids, length in zip(expected["sentences"], expected["token_ids"], expected["lengths"]):
        if "\u200d" in sentence:
            # Hugging Face drops format characters (zero-width joiner: "a\u200db" → "ab"),
            # keras-hub's WordPiece splits on them — a tokenizer difference, not the converter's
            continue
        packed = [tokenizer.start_token_id] + [int(i) for i in tokenizer(str(sentence))] + [tokenizer.end_token_id]
        assert packed == ids[:length].tolist(), sentence
        checked += 1
    assert checked == 5


def test_tokenizer_lowercases_by_default_and_as_configured(tmp_path):
    shutil.copy(os.path.join(FOLDER, "vocab.txt"), tmp_path / "vocab.txt")
    # no tokenizer_config.json: Hugging Face's ElectraTokenizer default, lowercase
    tokenizer = electra.convert_tokenizer(keras_hub.models.ElectraTokenizer, str(tmp_path))
    assert tokenizer.lowercase and tokenizer.strip_accents
    (tmp_path / "tokenizer_config.json").write_text('{"do_lower_case": false}', encoding="utf-8")
    tokenizer = electra.convert_tokenizer(keras_hub.models.ElectraTokenizer, str(tmp_path))
    assert not tokenizer.lowercase and not tokenizer.strip_accents


def test_tokenizer_without_vocab_txt_is_refused(tmp_path):
    with pytest.raises(ValueError, match="vocab.txt"):
        electra.convert_tokenizer(keras_hub.models.ElectraTokenizer, str(tmp_path))


@pytest.mark.parametrize("key, value", [
    ("hidden_act", "silu"),
    ("position_embedding_type", "relative_key"),
    ("layer_norm_eps", 1e-5),
    ("is_decoder", True),
])
def test_unrepresentable_settings_are_refused_by_name(key, value):
    cfg = dict(config(), **{key: value})
    with pytest.raises(ValueError, match=f"{key}="):
        electra.convert_backbone_config(cfg)


def test_tanh_gelu_checkpoints_are_accepted():
    kwargs = electra.convert_backbone_config(dict(config(), hidden_act="gelu_new"))
    assert kwargs["hidden_dim"] == 32
