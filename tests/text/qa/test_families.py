"""Extractive QA on every encoder family: the family's pair format (RoBERTa and XLM-R: two
separators), character offsets for each piece style (answers are exact substrings of
contexts with accents, punctuation and runs of spaces), and a tiny span model that trains a
few steps and answers with substrings of its contexts."""

import numpy as np
import pytest

import kbert
from kbert.families import family_by_name, special_ids
from kbert.text import qa
from conftest import FAMILIES, tiny_family_spec

from .helpers import oracle_outputs

# characters the tiny SentencePiece models know (a run of unknown characters is one <unk>
# piece, which no answer can start inside)
ANSWERS = ["Café", "naïve résumé", "3.50 dollars", "Yes: it's 42", "world?", "rouge"]
FILL = ["the  cat", "Hello,  world?", "très  bien —", "a dog", "«ok»", "l'été"]


def accented_examples(n=12):
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        before, after = (str(w) for w in rng.choice(FILL, size=2))
        answer = ANSWERS[i % len(ANSWERS)]
        context = f"{before}   «{answer}»,  {after}  end."
        out.append({"id": f"q{i}", "question": "What  is it, naïve?", "context": context,
                    "answers": [{"text": answer, "answer_start": context.index(answer)}], "is_impossible": False})
    return out


@pytest.mark.parametrize("family", FAMILIES)
def test_qa_end_to_end(family):
    spec = tiny_family_spec(family, max_sequence_length=48, num_layers=1)
    examples = accented_examples()
    trn, val, pre = qa.qa_from_examples(examples, examples[:4], 48, 16, 16, spec, 0.1, 0, False, 0)
    ids, n_sep = special_ids(pre.tokenizer), family_by_name(family).pair_separators
    # the family's pair format: [start] question [end] × n_sep context [end]
    for seq, row in zip(trn.features["token_ids"].to_list(), trn.source.to_dict("records")):
        assert seq[0] == ids["start"] and seq[-1] == ids["end"]
        assert seq[row["offset"] - n_sep:row["offset"]] == [ids["end"]] * n_sep
        assert seq[row["offset"] - n_sep - 1] != ids["end"]
        assert len(seq) == row["offset"] + row["n_context"] + 1
    # the gold spans decode back to the exact answers (offsets right for this piece style)
    answers = [r[0]["answer"] for r in pre.decode(oracle_outputs(trn), trn)[0]]
    assert answers == [ex["answers"][0]["text"] for ex in examples]
    # two steps of a tiny span model (one batch: one trace); its answers are context substrings
    model = kbert.text.qa_model(pre, seed=0)
    learner = kbert.get_learner(model, trn, None, batch_size=32, seed=0)
    hist = learner.fit(1e-3, 2, verbose=0)
    assert len(hist.history["loss"]) == 2 and np.isfinite(hist.history["loss"]).all()
    p = kbert.get_predictor(learner.model, pre)
    contexts = [ex["context"] for ex in examples[:3]] + ["Café  «naïve»,   l'été " * 6 + " end."]  # 2+ windows
    got = p.predict(["What is it?"] * len(contexts), contexts, top_k=3)
    for context, top in zip(contexts, got):
        assert len(top) == 3
        for r in top:
            assert r["answer"] and context[r["start"]:r["end"]] == r["answer"]
