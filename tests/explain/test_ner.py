import numpy as np
import pytest

import kbert
from conftest import tiny_spec
from kbert.explain.ner import entity_spans, explain_entity
from predictors.helpers import ner_sentences


def test_entity_spans_merge_as_the_predictor_does():
    assert entity_spans(["O", "B-PER", "I-PER", "I-LOC", "O", "I-PER", "B-PER"]) == [
        (1, 3, "PER"), (3, 4, "LOC"), (5, 6, "PER"), (6, 7, "PER")]


@pytest.fixture(scope="module")
def tagger():
    x, y = ner_sentences(120)
    trn, val, pre = kbert.text.entities_from_array(x, y, val_pct=0.1, preset=tiny_spec(), maxlen=32, verbose=0)
    learner = kbert.get_learner(kbert.text.sequence_tagger(pre, dropout=0.0, seed=0), trn, val, batch_size=16, seed=0)
    learner.fit_onecycle(5e-3, 4, verbose=0)
    return kbert.get_predictor(learner.model, pre)


def test_an_entity_is_explained_by_both_methods(tagger):
    s = "there is a man named john smith ."
    entities = tagger.predict(s, merge_tokens=True)
    assert entities, "the tiny tagger found no entity"
    text, kind = entities[0]
    g = tagger.explain(s, entity=text, method="gradients")  # the predictor method delegates here
    assert g.class_name == kind and g.info["completeness_gap"] <= 0.05 and len(g.weights) == 8
    lime = explain_entity(tagger, s, entity=0, method="lime", n_samples=60)
    inside = [i for i, (_, st, en) in enumerate(lime.spans) if st >= s.index(text) and en <= s.index(text) + len(text)]
    assert np.all(lime.weights[inside] == 0) and lime.probability == pytest.approx(g.probability)
    with pytest.raises(ValueError, match="No predicted entity reads 'paris'"):
        explain_entity(tagger, s, entity="paris")
    with pytest.raises(ValueError, match="no words"):
        explain_entity(tagger, "   ")


def test_a_word_shape_tagger_is_explained_with_its_shapes_fixed():
    x, y = ner_sentences(120)
    x = [[w.capitalize() if t != "O" else w for w, t in zip(s, tags)] for s, tags in zip(x, y)]
    trn, val, pre = kbert.text.entities_from_array(x, y, val_pct=0.1, preset=tiny_spec(), maxlen=32, verbose=0)
    model = kbert.text.sequence_tagger(pre, dropout=0.0, seed=0, word_shapes=True)
    learner = kbert.get_learner(model, trn, val, batch_size=16, seed=0)
    learner.fit_onecycle(5e-3, 4, verbose=0)
    predictor = kbert.get_predictor(learner.model, pre)
    s = "there is a man named John Smith ."
    entities = predictor.predict(s, merge_tokens=True)
    assert entities, "the tiny shape tagger found no entity"
    g = predictor.explain(s, entity=entities[0][0], method="gradients")
    # integrated gradients are complete only if the shapes entered every step of the path
    assert g.info["completeness_gap"] <= 0.05 and len(g.weights) == 8
