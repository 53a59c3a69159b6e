"""kbert.text.qa.preprocessor: SQuAD v2 windows and report (null answers, HasAns / NoAns scores)."""

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
