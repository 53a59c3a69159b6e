"""kbert.text.embedding: TransformerEmbedding's word and sentence vectors, for every family,
and all-MiniLM-L6-v2's sentence vectors equal to sentence-transformers'."""

import os

import numpy as np
import pytest

from conftest import FAMILIES, ROOT, requires_minilm, tiny_family_spec
from kbert.models import encode
from kbert.text import TransformerEmbedding

MINILM_EXPECTED = os.path.join(ROOT, "tests", "fixtures", "hf", "minilm_expected.npz")


@pytest.mark.parametrize("family", FAMILIES)
def test_word_and_sentence_vectors_of_every_family(family):
    emb = TransformerEmbedding(tiny_family_spec(family), layers=[-1, -2])
    last = TransformerEmbedding(tiny_family_spec(family), layers=[-1])
    last.backbone.set_weights(emb.backbone.get_weights())
    assert emb.embsize == 2 * last.embsize == 64
    texts = ["hello world café", "the cat is blue today"]
    words = last.embed(texts, aggregation_strategy="first")
    assert words.shape == (2, 5, 32)
    assert not words[0, 3:].any() and np.abs(words[0, :3]).min(axis=-1).all()  # zero rows after the 3rd word
    # the last hidden state is the encoder's sequence output; "cls" is its first piece
    ids = np.asarray(last.tokenizer("the cat")).tolist()
    x = {"token_ids": np.array([[last.tokenizer.start_token_id] + ids + [last.tokenizer.end_token_id]], "int32")}
    x["padding_mask"] = np.ones_like(x["token_ids"])
    x["segment_ids"] = np.zeros_like(x["token_ids"])
    states = np.asarray(encode(last.backbone, x)["sequence_output"])[0]
    np.testing.assert_allclose(last.embed("the cat", word_level=False, pooling="cls")[0], states[0], atol=1e-5)
    np.testing.assert_allclose(last.embed("the cat", word_level=False)[0], states.mean(0), atol=1e-5)
    # padding to the batch's longest row changes nothing
    np.testing.assert_allclose(last.embed(["the cat", texts[1]], word_level=False)[0], states.mean(0), atol=1e-5)
    both = emb.embed(texts, aggregation_strategy="average")
    np.testing.assert_allclose(both[..., :32], last.embed(texts, aggregation_strategy="average"), atol=1e-5)
    unit = last.embed(texts, word_level=False, normalize=True)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=-1), 1, atol=1e-5)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"layers \[7\] do not exist: this bert encoder has 3 hidden states"):
        TransformerEmbedding(tiny_family_spec("bert"), layers=[7])
    emb = TransformerEmbedding(tiny_family_spec("bert"), layers=[-1])
    with pytest.raises(ValueError, match='aggregation_strategy must be "first" or "average"'):
        emb.embed("x", aggregation_strategy="max")
    with pytest.raises(ValueError, match='pooling must be "mean" or "cls"'):
        emb.embed("x", word_level=False, pooling="max")
    with pytest.warns(UserWarning, match="1 of 1 texts are longer than max_length=4"):
        assert emb.embed("the cat is blue", max_length=4).shape == (1, 2, 32)


@requires_minilm
def test_minilm_sentence_vectors_equal_sentence_transformers():
    if not os.path.exists(MINILM_EXPECTED):
        pytest.skip(f"{MINILM_EXPECTED} (the sentence-transformers reference vectors) is absent")
    ref = np.load(MINILM_EXPECTED, allow_pickle=False)
    sentences = [str(s) for s in ref["sentences"]]
    emb = TransformerEmbedding("minilm", layers=[-1])
    max_length = int(ref["max_length"])
    for sentence, row, n in zip(sentences, ref["token_ids"], ref["lengths"]):
        ids = np.asarray(emb.tokenizer(sentence)).tolist()[:max_length - 2]
        assert [emb.tokenizer.start_token_id] + ids + [emb.tokenizer.end_token_id] == row[:n].tolist(), sentence
    got = emb.embed(sentences, word_level=False, pooling="mean", normalize=True, max_length=max_length)
    cosines = (got * ref["embeddings"]).sum(-1)
    assert cosines.min() >= 0.9999, dict(zip(sentences, cosines.round(6)))
