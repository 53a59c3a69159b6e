"""kbert.distill.student: a student keeps exactly the teacher's weights for its layers, for
every encoder family; bad layer choices are refused with a clear error."""

import numpy as np
import pytest

import kbert
from kbert import distill
from conftest import FAMILIES, sentiment_df, tiny_family_spec


def test_kept_layers_every_other_and_explicit():
    assert distill.kept_layers(12) == [0, 2, 4, 6, 8, 10]
    assert distill.kept_layers(6, 3) == [0, 2, 4]
    assert distill.kept_layers(6, 2) == [0, 3]
    assert distill.kept_layers(1) == [0]
    assert distill.kept_layers(6, layers=[1, 5]) == [1, 5]


@pytest.mark.parametrize("kwargs, message", [
    ({"num_layers": 7}, "more than the teacher's 6"),
    ({"layers": [0, 6]}, "out of range"),
    ({"layers": [-1, 2]}, "out of range"),
    ({"layers": [3, 1]}, "ascending"),
    ({"layers": []}, "at least one"),
    ({"num_layers": 0}, "at least 1"),
    ({"num_layers": 2, "layers": [1]}, "give one of them"),
])
def test_kept_layers_refuses_bad_choices(kwargs, message):
    with pytest.raises(ValueError, match=message):
        distill.kept_layers(6, **kwargs)


def teacher_for(family, num_layers=4):
    spec = tiny_family_spec(family, num_layers=num_layers, max_sequence_length=32)
    trn, val, pre = kbert.text.texts_from_df(sentiment_df(16), "text", "label", preset=spec, maxlen=32, verbose=0)
    return kbert.text.text_classifier(pre, seed=0), trn


def weights_of(layer):
    return [np.asarray(w) for w in layer.get_weights()]


@pytest.mark.parametrize("family", FAMILIES)
def test_student_keeps_the_teachers_weights(family):
    teacher, trn = teacher_for(family)
    small = distill.student(teacher, num_layers=2)
    _, t_enc = distill.find_encoder(teacher)
    _, s_enc = distill.find_encoder(small)
    assert small.name == teacher.name and s_enc.get_config()["num_layers"] == 2
    t_blocks, s_blocks = distill.encoder_blocks(t_enc), distill.encoder_blocks(s_enc)
    if family == "albert":  # shared layers: the same weights, run twice instead of four times
        assert len(s_blocks) == len(t_blocks)
        pairs = zip(t_blocks, s_blocks)
    else:
        assert len(s_blocks) == 2
        pairs = [(t_blocks[0], s_blocks[0]), (t_blocks[2], s_blocks[1])]
    for t, s in pairs:
        for a, b in zip(weights_of(t), weights_of(s)):
            np.testing.assert_array_equal(a, b)
    blocks = {b.name for b in t_blocks}
    for layer in t_enc.layers:  # embeddings, their norm, projections, pooler
        if layer.name not in blocks:
            for a, b in zip(weights_of(layer), weights_of(s_enc.get_layer(layer.name))):
                np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(teacher.get_layer("logits").get_weights()[0],
                                  small.get_layer("logits").get_weights()[0])
    # keeping every layer gives the teacher back: equal outputs
    x = next(iter(trn.dataset(8, with_targets=False)))
    full = distill.student(teacher, num_layers=4)
    np.testing.assert_allclose(np.asarray(full(x)), np.asarray(teacher(x)), atol=1e-5)
    assert not np.allclose(np.asarray(small(x)), np.asarray(teacher(x)), atol=1e-5)


def test_student_refuses_bad_input():
    teacher, _ = teacher_for("bert")
    with pytest.raises(ValueError, match="more than the teacher's 4 encoder layers"):
        distill.student(teacher, num_layers=5)
    with pytest.raises(ValueError, match=r"\[4\] out of range.*4 layers"):
        distill.student(teacher, layers=[0, 4])
    with pytest.raises(TypeError, match="keras.Model"):
        distill.student("bert")
    albert, _ = teacher_for("albert")
    with pytest.raises(ValueError, match="ALBERT shares its layer weights"):
        distill.student(albert, layers=[0, 2])
    # explicit layers
    small = distill.student(teacher, layers=[1, 3])
    _, t_enc = distill.find_encoder(teacher)
    _, s_enc = distill.find_encoder(small)
    for a, b in zip(weights_of(t_enc.transformer_layers[3]), weights_of(s_enc.transformer_layers[1])):
        np.testing.assert_array_equal(a, b)
