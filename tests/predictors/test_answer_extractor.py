"""kbert.predictors.answer_extractor: ktrain's AnswerExtractor (extract answers into new
DataFrame columns; fine-tune on SQuAD-like dicts) on a kbert QA predictor."""

import numpy as np
import pandas as pd
import pytest

import kbert
from kbert.errors import DataError
from kbert.predictors.answer_extractor import DEFAULT_MIN_CONF, AnswerExtractor, clean_answer, squad_examples

Q = "what is the color ?"
LONG = "the cat is a dog . " * 12 + "blue " + "the dog is a cat . " * 12 + "green ."


@pytest.fixture(scope="module")
def frame():
    return pd.DataFrame({"text": ["the cat is so very red and the dog is .", "", LONG, "the sky is\tgreen ."],
                         "n": [1, 2, 3, 4]}, index=[10, 11, 12, 13])


def test_extract_adds_one_column_per_label(qa_predictor, frame):
    ae = AnswerExtractor(qa_predictor)
    out = ae.extract(frame.text.values, frame, [(Q, "Color"), ("what is it ?", "It")])
    assert list(out.columns) == ["text", "n", "Color", "It"] and list(out.index) == [10, 11, 12, 13]
    assert out["Color"].tolist()[0] == "red"
    assert out["Color"][11] is None  # an empty text has no answer
    assert out["Color"][12] == "blue | green"  # one answer per window above min_conf, in text order
    assert out["Color"][13] == "green"  # the tab became a space
    assert list(frame.columns) == ["text", "n"]  # df itself is not changed


def test_return_conf_interleaves_the_scores_of_all_candidates(qa_predictor, frame):
    out = AnswerExtractor(qa_predictor).extract(frame.text.values, frame, [(Q, "Color"), ("what is it ?", "It")],
                                                return_conf=True, batch_size=2)
    assert list(out.columns) == ["text", "n", "Color", "Color CONF", "It", "It CONF"]
    found = qa_predictor.window_answers(Q, LONG)
    assert out["Color CONF"][12] == " | ".join(str(round(a["score"], 2)) for a in found)  # those below min_conf too
    assert len(out["Color CONF"][12].split(" | ")) == len(found) > 2
    assert out["Color CONF"][11] is None
    assert qa_predictor.batch_size == 32  # restored after the call


def test_min_conf_is_a_strict_threshold_on_the_score(qa_predictor, frame, monkeypatch):
    ae = AnswerExtractor(qa_predictor)
    score = qa_predictor.predict(Q, frame.text[10])["score"]
    assert score > DEFAULT_MIN_CONF
    assert ae.extract(frame.text.values, frame, [(Q, "C")], min_conf=score + 1e-3)["C"][10] is None
    assert ae.extract(frame.text.values, frame, [(Q, "C")], min_conf=score - 1e-3)["C"][10] == "red"
    low = ae.extract(frame.text.values, frame, [(Q, "C")], min_conf=-np.inf)["C"][12]
    assert low.count(" | ") == len(qa_predictor.window_answers(Q, LONG)) - 1
    # exactly at min_conf is dropped (ktrain keeps confidence > min_conf); cleaned, empty answers dropped
    fixed = [{"answer": "the 42.", "score": 6.0, "start": 0, "end": 7}, {"answer": "", "score": 9.0, "start": -1,
                                                                          "end": -1}]
    monkeypatch.setattr(ae.predictor, "window_answers", lambda qs, cs: [fixed for _ in qs])
    df = pd.DataFrame({"text": ["x"]})
    assert ae.extract(df.text, df, [(Q, "C")], min_conf=6)["C"][0] is None
    out = ae.extract(df.text, df, [(Q, "C")], min_conf=5.99, return_conf=True)
    assert (out["C"][0], out["C CONF"][0]) == ("42", "6.0 | 9.0")
    assert ae.extract(df.text, df, [(Q, "C")], min_conf=5.99, clean=False)["C"][0] == "the 42."


def test_extract_checks_its_arguments(qa_predictor, frame):
    ae = AnswerExtractor(qa_predictor)
    texts = frame.text.values
    with pytest.raises(ValueError, match="df must be a pandas DataFrame"):
        ae.extract(texts, frame.to_dict(), [(Q, "C")])
    with pytest.raises(ValueError, match=r"Number of texts \(3\) is not equal to the number of rows in the "
                                         r"DataFrame \(4\)"):
        ae.extract(texts[:3], frame, [(Q, "C")])
    with pytest.raises(ValueError, match="There is already a column named 'text' in your DataFrame"):
        ae.extract(texts, frame, [(Q, "text")])
    with pytest.raises(TypeError, match=r"texts\[2\] \(row 12 of df\) is a float \(nan\), not a string; fill"):
        ae.extract(["a", "b", np.nan, "d"], frame, [(Q, "C")])
    with pytest.raises(ValueError, match=r"question_label_pairs\[0\] is 'what'; each item must be a "
                                         r"\(question, label\) pair"):
        ae.extract(texts, frame, ["what"])
    with pytest.raises(ValueError, match="repeats a label"):
        ae.extract(texts, frame, [(Q, "C"), ("who ?", "C")])
    with pytest.raises(TypeError, match="texts must be a list of strings, one per row of df, got None"):
        ae.extract(None, frame, [(Q, "C")])
    with pytest.raises(TypeError, match="texts must be a list of strings, one per row of df, got a str"):
        ae.extract("abcd", frame, [(Q, "C")])


def test_clean_answer_as_ktrain():
    assert clean_answer("the age, sex and obesity.") == "age, sex and obesity"
    assert clean_answer("is the cat") == "cat"  # each prefix once, in ktrain's order
    assert clean_answer("(356 patients)") == "356 patients"
    assert clean_answer("") == ""


def test_a_saved_predictor_folder_or_a_model_name(qa_predictor, tmp_path):
    folder = qa_predictor.save(tmp_path / "qa")
    ae = AnswerExtractor(folder)
    assert ae.predictor.predict(Q, "the sky is blue .")["answer"] == "blue"
    with pytest.raises(ValueError, match="Hugging Face SQuAD models .* are not loaded by kbert"):
        AnswerExtractor("bert-large-uncased-whole-word-masking-finetuned-squad")
    with pytest.raises(TypeError, match="needs a QA predictor"):
        AnswerExtractor(42)


def place_data(n, seed):
    """Contexts with a color and a place; the question asks for the place."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        words = [str(w) for w in rng.choice(["the", "cat", "dog", "sky", "is", "a", "so"], size=6)]
        place = str(rng.choice(["paris", "rome", "berlin"]))
        words.insert(int(rng.integers(0, 7)), str(rng.choice(["red", "blue", "green"])))
        words.insert(int(rng.integers(0, 8)), place)
        out.append({"question": "what is the place ?", "context": " ".join(words) + " .", "answers": place})
    return out


def test_finetune_teaches_the_predictor_a_new_question(qa_predictor, tmp_path):
    ae = AnswerExtractor(qa_predictor.save(tmp_path / "qa"))  # a copy: the shared model stays as it is
    held_out = place_data(30, seed=1)

    def accuracy():
        got = ae.predictor.predict([d["question"] for d in held_out], [d["context"] for d in held_out])
        return np.mean([g["answer"] == d["answers"] for g, d in zip(got, held_out)])

    before = accuracy()
    hist = ae.finetune(place_data(160, seed=0), epochs=4, learning_rate=3e-3, batch_size=16, seed=0, verbose=0)
    assert len(hist.history["loss"]) == 4 and hist.history["loss"][-1] < hist.history["loss"][0]
    after = accuracy()
    assert before < 0.5 and after > 0.8, (before, after)


def test_finetune_data_forms_as_ktrain():
    ex = squad_examples([
        {"question": "who ?", "context": "ann ran .", "answers": "ann"},
        {"question": "who ?", "context": "bo and ann", "answers": {"text": ["ann"], "answer_start": [7]}},
        {"question": "who ?", "context": "nobody ran", "answers": None},
        {"question": "who ?", "context": "nobody ran", "answers": {"text": [], "answer_start": []}},
    ])
    assert [e["answers"] for e in ex] == [[{"text": "ann", "answer_start": 0}], [{"text": "ann", "answer_start": 7}],
                                          [], []]
    assert [e["is_impossible"] for e in ex] == [False, False, True, True]
    with pytest.raises(ValueError, match=r'must have the following keys: "question", "context", "answers"; '
                                         r"data\[0\] lacks \['answers'\]"):
        squad_examples([{"question": "who ?", "context": "ann", "answer": "ann"}])
    with pytest.raises(DataError, match=r"data\[0\]: answer 'bob' is not in its context"):
        squad_examples([{"question": "who ?", "context": "ann", "answers": "bob"}])
    with pytest.raises(DataError, match=r"question 'data\[0\]': answer_start 1 does not point at answer 'ann'"):
        squad_examples([{"question": "who ?", "context": "ann", "answers": {"text": "ann", "answer_start": 1}}])
    with pytest.raises(TypeError, match=r"data\[0\]\['context'\] is a NoneType, not a string"):
        squad_examples([{"question": "who ?", "context": None, "answers": None}])


def test_finetune_max_seq_length_is_checked(qa_predictor):
    with pytest.raises(ValueError, match="max_seq_length=512 exceeds the encoder's 128 positions"):
        AnswerExtractor(qa_predictor).finetune(place_data(4, 0), max_seq_length=512)


def test_exported_from_the_package():
    assert kbert.predictors.AnswerExtractor is AnswerExtractor
