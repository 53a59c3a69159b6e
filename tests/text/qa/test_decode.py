"""kbert.text.qa.decode: oracle logits decode back to the gold answers, on real SQuAD questions."""

import os

import pytest

import kbert
from kbert.text import qa
from conftest import SHARED, requires_minilm

from .helpers import oracle_outputs

SQUAD_TRAIN = os.path.join(SHARED, "squad", "train.json.gz")


@requires_minilm
@pytest.mark.parametrize("maxlen,stride", [(384, 128), (128, 48)])
def test_oracle_decoding_recovers_gold_answers(maxlen, stride):
    if not os.path.exists(SQUAD_TRAIN):
        pytest.skip("../shared/datasets not present")
    examples = qa.read_squad(SQUAD_TRAIN, max_questions=1000)
    pre = qa.QAPreprocessor(kbert.encoders.load_tokenizer("minilm"), maxlen, stride)
    data = pre.encode(examples, verbose=0)
    if maxlen == 128:
        assert data.stats["split_contexts"] > 500  # most contexts need several windows here
    results, _ = pre.decode(oracle_outputs(data), data)
    preds = [r[0]["answer"] for r in results]
    golds = [[a["text"] for a in ex["answers"]] for ex in examples]
    misses = []
    for ex, r, p, g in zip(examples, results, preds, golds):
        assert ex["context"][r[0]["start"]:r[0]["end"]] == p  # answers are exact substrings
        if qa.squad_scores([p], [g])["exact_match"] < 100:
            gold = ex["answers"][0]
            misses.append((ex["id"], gold["text"], p))
            # a miss must be an answer whose boundary falls inside a word piece (e.g. "gold" in "golden")
            _, starts, ends = data.contexts[ex["context"]]
            a, b = gold["answer_start"], gold["answer_start"] + len(gold["text"])
            assert a not in starts or b not in ends, (ex["id"], gold["text"], p)
    em = qa.squad_scores(preds, golds)["exact_match"]
    assert em >= 99.5, misses  # the official metric: best over each question's gold answers
    print(f"oracle misses ({len(misses)}): {misses}")
