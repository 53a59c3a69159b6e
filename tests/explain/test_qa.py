import numpy as np
import pytest

import kbert
from conftest import tiny_spec
from kbert.explain.qa import explain_answer
from predictors.helpers import qa_examples


@pytest.fixture(scope="module")
def reader():
    trn, val, pre = kbert.text.qa.qa_from_examples(qa_examples(120), qa_examples(20, seed=1), 64, 16, 16,
                                                   tiny_spec(), 0.1, 0, False, 0)
    learner = kbert.get_learner(kbert.text.qa_model(pre, dropout=0.0, seed=0), trn, val, batch_size=16, seed=0)
    learner.fit_onecycle(3e-3, 3, verbose=0)
    return kbert.get_predictor(learner.model, pre)


def test_the_answer_span_is_explained_by_both_methods(reader):
    q, c = "what is the color ?", "i feel the sky is blue today and it is so"
    answer = reader.predict(q, c)
    g = reader.explain(q, c, method="gradients")  # the predictor method delegates here
    assert g.class_name == answer["answer"] and g.probability == pytest.approx(answer["score"], abs=1e-4)
    assert g.info["target_logit"] == pytest.approx(answer["score"], abs=1e-4)
    assert g.info["completeness_gap"] <= 0.05 and "score" in g._repr_html_()
    lime = explain_answer(reader, q, c, method="lime", n_samples=40)
    inside = [i for i, (_, s, e) in enumerate(lime.spans) if s < answer["end"] and e > answer["start"]]
    assert inside and np.all(lime.weights[inside] == 0)
    with pytest.raises(ValueError, match="empty"):
        explain_answer(reader, "", c)
