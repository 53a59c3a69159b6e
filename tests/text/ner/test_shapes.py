"""kbert.text.ner.shapes: word shapes for uncased encoders — the classes (in Python and in
TensorFlow), the data's "shape_ids" on first pieces, and a tagger that learns from them what
its lowercasing tokenizer cannot see."""

import numpy as np
import pytest
import tensorflow as tf

import kbert
from conftest import tiny_spec
from kbert.text.ner.shapes import SHAPES, WordShapeEmbedding, shape_ids, shape_ids_tf, word_shape

CLASSES = {
    "xxxx": ["paris", "e-mail", "3rd", "x", "東京", "ﬁ"],
    "Xxxx": ["Paris", "A", "I", "O'neil", "Émile", "A4"],
    "XXXX": ["EU", "NATO", "U.S", "ÉCOLE", "B2B"],
    "mixed": ["iPhone", "McDonald", "eBay", "pAris"],
    "dd": ["1996", "3.5", "1,000", "١٢٣"],
    "punct": [".", ",", "--", "", "$", "🙂"],
}


def test_each_class_in_python_and_in_tensorflow():
    for name, words in CLASSES.items():
        assert [SHAPES[word_shape(w)] for w in words] == [name] * len(words), name
    words = [w for ws in CLASSES.values() for w in ws]
    assert shape_ids_tf(tf.constant(words)).numpy().tolist() == shape_ids(words)
    assert SHAPES[0] == "none" and 0 not in shape_ids(words)  # 0 is kept for pieces without a shape


def test_embedding_adds_a_vector_per_shape_to_first_pieces_only():
    layer = WordShapeEmbedding()
    seq = np.random.default_rng(0).normal(size=(1, 4, 6)).astype("float32")
    ids = np.array([[0, 2, 0, 5]], "int32")
    out = np.asarray(layer(seq, ids))
    table = np.asarray(layer.embeddings)
    assert table.shape == (len(SHAPES), 6)
    np.testing.assert_allclose(out[0, [0, 2]], seq[0, [0, 2]])
    np.testing.assert_allclose(out[0, 1], seq[0, 1] + table[2], rtol=1e-6)
    np.testing.assert_allclose(out[0, 3], seq[0, 3] + table[5], rtol=1e-6)
    assert WordShapeEmbedding.from_config(layer.get_config()).num_shapes == len(SHAPES)


def cased_sentences(n, seed):
    """Words of the tiny vocabulary, each capitalised at random: a capitalised word is a
    person (B-PER), else O. The lowercasing tokenizer reads both alike."""
    rng = np.random.default_rng(seed)
    words = ["cat", "dog", "sky", "movie", "actor", "plot", "answer", "question"]
    xs, ys = [], []
    for _ in range(n):
        sent = [str(w) for w in rng.choice(words, size=int(rng.integers(3, 8)))]
        caps = rng.random(len(sent)) < 0.35
        xs.append([w.capitalize() if c else w for w, c in zip(sent, caps)])
        ys.append(["B-PER" if c else "O" for c in caps])
    return xs, ys


def test_data_carries_shapes_on_first_pieces_while_the_tagger_reads_them():
    x, y = [["Paris", "is", "NATO"], ["cat", "1996"]], [["B-LOC", "O", "B-ORG"], ["O", "O"]]
    trn, _, pre = kbert.text.entities_from_array(x, y, x, y, preset=tiny_spec(), maxlen=32, verbose=0)
    assert pre.word_shapes is None and "shape_ids" not in trn.features
    kbert.text.sequence_tagger(pre, seed=0, word_shapes=True)
    assert pre.word_shapes is True and pre.get_config()["word_shapes"] is True
    shapes = trn.features["shape_ids"].to_list()
    first = [[t != -100 for t in row] for row in trn.targets.to_list()]  # the tagged pieces: the words' first
    assert [[s for s, f in zip(r, fr) if f] for r, fr in zip(shapes, first)] == [[2, 1, 3], [1, 5]]
    assert all(s == 0 for r, fr in zip(shapes, first) for s, f in zip(r, fr) if not f)
    assert trn.subset([1]).features["shape_ids"].to_list() == [shapes[1]]
    kbert.text.sequence_tagger(pre, seed=0, word_shapes=False)
    assert "shape_ids" not in trn.features and trn.subset([1]).shape_ids.to_list() == [shapes[1]]


@pytest.fixture(scope="module")
def cased():
    x, y = cased_sentences(160, 0)
    xv, yv = cased_sentences(40, 1)
    trn, val, pre = kbert.text.entities_from_array(x, y, xv, yv, preset=tiny_spec(), maxlen=32, verbose=0)
    out = {}
    for shapes in (True, False):
        model = kbert.text.sequence_tagger(pre, dropout=0.0, seed=0, word_shapes=shapes)
        learner = kbert.get_learner(model, trn, val, batch_size=16, seed=0)
        hist = learner.fit_onecycle(5e-3, 5, verbose=0)
        out[shapes] = (learner, hist)
    return out, pre, xv, yv


def word_accuracy(predictor, xv, yv):
    pred = predictor.predict(xv, is_split_into_words=True)
    return np.mean([t == tag for sent, tags in zip(pred, yv) for (_, t), tag in zip(sent, tags)])


def test_shapes_teach_what_the_uncased_tokenizer_lost(cased):
    out, pre, xv, yv = cased
    (with_shapes, hist), (without, _) = out[True], out[False]
    assert hist.history["loss"][-1] < 0.2 * hist.history["loss"][0]
    assert word_accuracy(kbert.get_predictor(with_shapes.model, pre), xv, yv) > 0.97
    # without shapes "Cat" and "cat" are the same pieces: no better than always O (about 0.65)
    assert word_accuracy(kbert.get_predictor(without.model, pre), xv, yv) < 0.75


def test_shape_tagger_saves_and_loads_with_identical_predictions(cased, tmp_path):
    out, pre, xv, _ = cased
    p = kbert.get_predictor(out[True][0].model, pre)
    assert p.preproc.word_shapes  # the model decides, whatever tagger the preprocessor saw last
    expected = p.predict(xv[:10], is_split_into_words=True, return_proba=True)
    loaded = kbert.load_predictor(p.save(tmp_path / "shapes"))
    assert loaded.preproc.word_shapes and loaded.preproc.get_config() == p.preproc.get_config()
    got = loaded.predict(xv[:10], is_split_into_words=True, return_proba=True)
    assert [[(w, t) for w, t, _ in s] for s in got] == [[(w, t) for w, t, _ in s] for s in expected]
    np.testing.assert_allclose([q for s in got for _, _, q in s], [q for s in expected for _, _, q in s], atol=1e-6)
    with pytest.raises(ValueError, match="word shapes.*saved_model"):
        p.export(tmp_path / "t", format="tflite")
    with pytest.raises(ValueError, match="word shapes"):
        p.export_model_to_tflite(str(tmp_path / "t.tflite"))
