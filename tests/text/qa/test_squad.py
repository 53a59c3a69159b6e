"""kbert.text.qa.squad: the official answer normalisation, EM and F1, and the checks of
questions (bad answer_start named or skipped, empty contexts)."""

import pytest

from kbert.text import qa
from kbert.errors import DataError
from conftest import tiny_spec

from .helpers import toy_examples


def test_normalisation_and_f1_hand_checked():
    assert qa.normalize_answer("The  Quick, brown fox!") == "quick brown fox"
    assert qa.exact_match("the Eiffel Tower", "Eiffel Tower.") == 1.0
    assert qa.f1_score("Denver Broncos", "The Denver Broncos") == 1.0
    assert qa.f1_score("Denver Broncos won", "Denver Broncos") == pytest.approx(0.8)
    assert qa.f1_score("Carolina", "Denver") == 0.0
    assert qa.f1_score("", "") == 1.0 and qa.f1_score("a", "x") == 0.0  # "a" normalises to nothing
    s = qa.squad_scores(["Broncos", "blue"], [["Denver Broncos", "Broncos"], ["red"]])
    assert s == {"exact_match": 50.0, "f1": 50.0}


def test_bad_answer_start_names_the_question_or_is_skipped(capsys):
    examples = toy_examples(10)
    examples[4]["answers"][0]["answer_start"] += 1
    with pytest.raises(DataError, match="question 'q4': answer_start"):
        qa.qa_from_examples(examples, examples[:3], 64, 16, 16, tiny_spec(), 0.1, 0, False, 0)
    trn, _, _ = qa.qa_from_examples(examples, examples[:3], 64, 16, 16, tiny_spec(), 0.1, 0, True, 0)
    assert trn.stats["questions"] == 9 and "skipped 1 questions" in capsys.readouterr().out
    examples = toy_examples(3)
    examples[1]["context"] = "  "
    with pytest.raises(DataError, match="question 'q1' has an empty context"):
        qa.qa_from_examples(examples, None, 64, 16, 16, tiny_spec(), 0.1, 0, False, 0)
