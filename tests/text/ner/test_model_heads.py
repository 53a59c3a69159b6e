"""kbert.text.ner.model: ktrain's tagger names and the BiLSTM head (masked by padding)."""

import numpy as np
import pytest

import kbert
from conftest import tiny_spec

from .helpers import toy_sentences


@pytest.fixture(scope="module")
def data():
    x, y = toy_sentences(24)
    return kbert.text.entities_from_array(x, y, preset=tiny_spec(), maxlen=32, verbose=0)


def test_bilstm_head_ignores_padding(data, capsys):
    trn, val, pre = data
    model = kbert.text.sequence_tagger("bilstm-transformer", pre, seed=0)
    assert "BiLSTM(100) + Dense(100, tanh)" in capsys.readouterr().out
    assert model.get_layer("tagger_bilstm").forward_layer.units == 100
    assert model.get_layer("tagger_dense").units == 100 and model.output.shape[-1] == pre.num_outputs
    x, _ = next(iter(trn.dataset(4, training=False)))
    wide = {k: np.pad(v.numpy(), [(0, 0), (0, 8)]) for k, v in x.items()}
    wide["token_ids"][:, -8:] = 7  # junk under the padding mask
    narrow_out = model.predict_on_batch(x)
    wide_out = model.predict_on_batch(wide)
    np.testing.assert_allclose(wide_out[:, : narrow_out.shape[1]], narrow_out, atol=1e-5)
    # kbert's form keeps its dense head; head="bilstm" asks for the BiLSTM
    assert "tagger_bilstm" not in [layer.name for layer in kbert.text.sequence_tagger(pre).layers]
    assert "tagger_bilstm" in [layer.name for layer in kbert.text.sequence_tagger(pre, head="bilstm").layers]


def test_ktrain_names_and_options(data, capsys):
    trn, val, pre = data
    model = kbert.text.sequence_tagger("bilstm-crf", pre, word_embedding_dim=300, word_lstm_size=16, fc_dim=8,
                                       verbose=0)
    out = capsys.readouterr().out
    assert "no CRF layer" in out and "word_embedding_dim=300" in out
    assert model.get_layer("tagger_bilstm").forward_layer.units == 16
    with pytest.warns(DeprecationWarning, match="bert_model is deprecated"):
        kbert.text.sequence_tagger("bilstm-bert", pre, bert_model=tiny_spec(), verbose=0)
    with pytest.raises(ValueError, match="invalid name for sequence_tagger: 'crf'"):
        kbert.text.sequence_tagger("crf", pre)
    with pytest.raises(ValueError, match="head must be one of"):
        kbert.text.sequence_tagger(pre, head="gru")
    kbert.text.print_sequence_taggers()
    names = [ln.split(":")[0] for ln in capsys.readouterr().out.splitlines()]
    assert names == ["bilstm", "bilstm-transformer", "bilstm-crf", "bilstm-elmo", "bilstm-crf-elmo"]


def test_bilstm_tagger_round_trips_through_a_predictor(data, tmp_path):
    trn, val, pre = data
    p = kbert.get_predictor(kbert.text.sequence_tagger(pre, head="bilstm", seed=0), pre)
    before = p.predict("george lives in paris", return_proba=True)
    p.save(str(tmp_path / "tagger"))
    after = kbert.load_predictor(str(tmp_path / "tagger")).predict("george lives in paris", return_proba=True)
    assert [t[:2] for t in after] == [t[:2] for t in before]
    np.testing.assert_allclose([t[2] for t in after], [t[2] for t in before], atol=1e-5)


def test_ktrain_names_train_the_head_on_frozen_features_as_ktrain(data):
    trn, val, pre = data
    model = kbert.text.sequence_tagger("bilstm-transformer", pre, seed=0, verbose=0)
    backbone = next(layer for layer in model.layers if hasattr(layer, "transformer_layers"))
    assert not backbone.trainable
    before = [w.copy() for w in backbone.get_weights()]
    head_before = model.get_layer("tagger_dense").get_weights()[0].copy()
    learner = kbert.get_learner(model, trn, val, batch_size=8, seed=0)
    learner.fit(0.01, 1, verbose=0)  # ktrain's NER test rate
    for a, b in zip(before, backbone.get_weights()):
        np.testing.assert_array_equal(a, b)  # the encoder's features stay as they were
    assert not np.allclose(head_before, model.get_layer("tagger_dense").get_weights()[0])
    tuned = kbert.text.sequence_tagger("bilstm-transformer", pre, fine_tune=True, verbose=0)
    assert next(layer for layer in tuned.layers if hasattr(layer, "transformer_layers")).trainable
    own = kbert.text.sequence_tagger(pre)
    assert next(layer for layer in own.layers if hasattr(layer, "transformer_layers")).trainable
