"""kbert.text.qa.preprocessor: SQuAD v2 windows and report (null answers, HasAns / NoAns scores)."""

import numpy as np

import kbert
from kbert.text import qa
from conftest import tiny_spec

from .helpers import oracle_outputs, toy_examples


def test_v2_null_answers_with_oracle_logits():
    pre = qa.QAPreprocessor(kbert.encoders.load_tokenizer(tiny_spec()), 64, 16, 16, version_2=True)
    examples = toy_examples(30, impossible_every=3)
    data = pre.encode(examples, verbose=0)
    result = pre.report(oracle_outputs(data), data, print_report=False)
    assert result["exact_match"] == 100.0 and result["NoAns_f1"] == 100.0 and result["HasAns_f1"] == 100.0
    preds = [r[0]["answer"] for r in pre.decode(oracle_outputs(data), data)[0]]
    assert preds[0] == "" and preds[1] != ""


def test_questions_longer_than_the_query_budget_are_counted(capsys):
    pre = qa.QAPreprocessor(kbert.encoders.load_tokenizer(tiny_spec()), 64, 16, max_query_length=16)
    examples = toy_examples(5)  # "what is the color ?": 9 pieces ("color" is spelled c ##o ##l ##o ##r)
    examples[1]["question"] = "what is the color of the sky and the cat and the dog ?"  # 19 pieces
    examples[3]["question"] = "what is the very very very very very very very very color ?"  # 17 pieces
    data = pre.encode(examples, name="train", verbose=0)
    assert data.stats["cut_questions"] == 2
    assert ("train: 2 of 5 questions are longer than max_query_length=16 word pieces and were cut to their "
            "first 16 (ids ['q1', 'q3'])") in capsys.readouterr().out
    offsets = data.source.groupby("question")["offset"].first().tolist()
    assert offsets == [11, 18, 11, 18, 11]  # [CLS] + the question's (first 16) pieces + [SEP]


def test_all_answers_trains_on_every_distinct_gold_span():
    tokenizer = kbert.encoders.load_tokenizer(tiny_spec())
    context = "the cat is red and the dog is blue ."
    answers = [{"text": "the cat", "answer_start": 0}, {"text": "cat", "answer_start": 4},
               {"text": "cat", "answer_start": 4}, {"text": "the dog", "answer_start": 19}]
    examples = [{"id": "q0", "question": "who ?", "context": context, "answers": answers, "is_impossible": False},
                {"id": "q1", "question": "who ?", "context": context, "answers": [], "is_impossible": False}]
    first = qa.QAPreprocessor(tokenizer, 64, 16, 16).encode(examples, verbose=0)
    every = qa.QAPreprocessor(tokenizer, 64, 16, 16, all_answers=True).encode(examples, verbose=0)
    assert first.targets.shape == (2, 2) and every.targets.shape == (2, 6)  # 3 distinct spans at most
    np.testing.assert_array_equal(every.targets[:, :2], first.targets)  # the first span leads
    assert every.targets[1].tolist() == [0, 0, -1, -1, -1, -1]  # no answer: the start piece
    ids = every.features["token_ids"].to_list()[0]
    pieces = [tokenizer.id_to_token(i) for i in ids]
    spans = [" ".join(pieces[s:e + 1]) for s, e in every.targets[0].reshape(-1, 2)]
    assert spans == ["the cat", "cat", "the dog"]
    restored = qa.QAPreprocessor.from_config(every.preprocessor.get_config(), tokenizer)
    assert restored.all_answers
