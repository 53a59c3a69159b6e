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


def squad_doc(**changes):
    """A one-question SQuAD document; `changes` edit its question dict (None removes a key)."""
    qa_ = {"id": "q1", "question": "what color?", "answers": [{"text": "red", "answer_start": 0}]}
    for key, value in changes.items():
        if value is None:
            qa_.pop(key)
        else:
            qa_[key] = value
    return {"version": "1.1", "data": [{"title": "T", "paragraphs": [{"context": "red sky", "qas": [qa_]}]}]}


@pytest.mark.parametrize("changes, message", [
    ({"question": None}, r"question 'q1': has no 'question'"),
    ({"id": None}, r"question 0: has no 'id'"),
    ({"answers": 3}, r"question 'q1': 'answers' is int 3, where SQuAD has a list"),
    ({"answers": [{"text": "red", "answer_start": None}]},
     r"question 'q1', answer 0: 'answer_start' is null; it must be the character offset of the answer 'red'"),
    ({"answers": [{"text": "red"}]}, r"question 'q1', answer 0: has no 'answer_start'"),
    ({"answers": None}, r"question 'q1': has no 'answers'"),
])
def test_squad_layout_errors_name_file_and_question(tmp_path, changes, message):
    import json

    path = tmp_path / "bad.json"
    path.write_text(json.dumps(squad_doc(**changes)))
    with pytest.raises(DataError, match=r"bad.json: article 0 \('T'\), paragraph 0, " + message):
        qa.read_squad(str(path))


def test_squad_file_errors_name_the_file(tmp_path):
    import gzip
    import json

    doc = squad_doc()
    doc["data"][0]["paragraphs"][0].pop("context")
    path = tmp_path / "x.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(DataError, match=r"x.json: article 0 \('T'\), paragraph 0: has no 'context'"):
        qa.read_squad(str(path))
    path.write_text(json.dumps({"data": [{"paragraphs": 5}]}))
    with pytest.raises(DataError, match=r"x.json: article 0: 'paragraphs' is int 5, where SQuAD has a list"):
        qa.read_squad(str(path))
    path.write_text(json.dumps(squad_doc())[:-5])
    with pytest.raises(DataError, match=r"x.json: not valid JSON at line 1, column \d+"):
        qa.read_squad(str(path))
    path.write_bytes(json.dumps(squad_doc()).replace("red sky", "r\u00e9d sky").encode("latin-1"))
    with pytest.raises(DataError, match=r"x.json: byte offset \d+ \(line 1, .*JSON files are UTF-8"):
        qa.read_squad(str(path))
    # a big enough file that cutting 100 bytes leaves a truncated stream, not an empty one
    big = {"data": [{"title": f"t{i}", "paragraphs": [{"context": f"red sky {i * 7919 % 1009}", "qas": [
        {"id": f"q{i}", "question": "what color?", "answers": [{"text": "red", "answer_start": 0}]}]}]}
        for i in range(300)]}
    packed = gzip.compress(json.dumps(big).encode())
    assert len(packed) > 1000
    gz = tmp_path / "cut.json.gz"
    gz.write_bytes(packed[:-100])
    with pytest.raises(DataError, match="cut.json.gz: the gzip file is truncated"):
        qa.read_squad(str(gz))
    gz.write_text(json.dumps(big))
    with pytest.raises(DataError, match=r"cut.json.gz: not a gzip file, though its name ends in .gz"):
        qa.read_squad(str(gz))
    gz.write_bytes(packed)
    assert len(qa.read_squad(str(gz))) == 300 and len(qa.read_squad(str(gz), max_questions=7)) == 7
