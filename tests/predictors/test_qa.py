"""kbert.predictors.qa: answers with character offsets, the best answer of each window of a
long context, and errors naming the argument for inputs that are not texts."""

import pytest

CONTEXT = "the cat is so very red and the dog is ."
Q = "what is the color ?"


def test_answers_are_spans_of_the_context(qa_predictor):
    r = qa_predictor.predict(Q, CONTEXT)
    assert r["answer"] == "red" and CONTEXT[r["start"]:r["end"]] == "red" and r["score"] > 6
    top = qa_predictor.predict(question=Q, context=CONTEXT, top_k=3)
    assert top[0] == r and len(top) == 3 and top[0]["score"] >= top[1]["score"] >= top[2]["score"]
    both = qa_predictor.predict([Q, Q], [CONTEXT, "the sky is blue ."])
    assert [b["answer"] for b in both] == ["red", "blue"]


def test_one_question_at_a_time_gives_the_batchs_answers(qa_predictor):
    contexts = [CONTEXT, "the sky is blue .", "a dog is so very green and the cat is a dog so very so ."]
    batch = qa_predictor.predict([Q] * len(contexts), contexts, top_k=2)
    for context, expected in zip(contexts, batch):
        got = qa_predictor.predict(question=Q, context=context, top_k=2)
        assert [(a["answer"], a["start"], a["end"]) for a in got] == [(a["answer"], a["start"], a["end"])
                                                                      for a in expected]
        assert [a["score"] for a in got] == pytest.approx([a["score"] for a in expected], abs=1e-6)


def test_window_answers_keep_the_best_of_each_window(qa_predictor):
    long_context = "the cat is a dog . " * 12 + "blue " + "the dog is a cat . " * 12 + "green ."
    found = qa_predictor.window_answers(Q, long_context)
    assert len(found) > 2  # several windows
    assert len({(a["start"], a["end"]) for a in found}) == len(found)  # each span once
    good = [a["answer"] for a in found if a["score"] > 6]
    assert good == ["blue", "green"]  # in the order of the text
    assert all(long_context[a["start"]:a["end"]] == a["answer"] for a in found)
    per_question = qa_predictor.window_answers([Q, Q], [CONTEXT, long_context])
    assert [a["answer"] for a in per_question[0]] == ["red"]
    assert [a["answer"] for a in per_question[1]] == [a["answer"] for a in found]
    # the same numbers whatever else is in the batch
    assert [a["score"] for a in per_question[1]] == pytest.approx([a["score"] for a in found], abs=1e-5)


@pytest.mark.parametrize("question, context, error, match", [
    (None, CONTEXT, TypeError, r"question must be a string or a list of strings, got None"),
    (5, CONTEXT, TypeError, r"question must be a string or a list of strings, got an int \(5\)"),
    ([Q, None], CONTEXT, TypeError, r"question\[1\] is None, not a string"),
    (Q, None, TypeError, r"context must be a string \(shared by all questions\) or a list of strings"),
    ([Q], [3.5], TypeError, r"context\[0\] is a float \(3.5\), not a string"),
    ([Q, Q], [CONTEXT], ValueError, "Got 2 questions but 1 contexts"),
    (" ", CONTEXT, ValueError, "Question 0 is empty"),
    (Q, "", ValueError, "Context 0 is empty"),
])
def test_bad_inputs_name_the_argument(qa_predictor, question, context, error, match):
    with pytest.raises(error, match=match):
        qa_predictor.predict(question, context)


def test_top_k_must_be_positive(qa_predictor):
    with pytest.raises(ValueError, match="top_k must be a whole number ≥ 1, got 0"):
        qa_predictor.predict(Q, CONTEXT, top_k=0)
