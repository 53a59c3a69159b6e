import json
import os
import subprocess
import sys

import numpy as np
import pytest

import kbert
from kbert.text import qa
from kbert.text.classification import DataError
from conftest import SHARED, requires_minilm, tiny_spec

SQUAD_TRAIN = os.path.join(SHARED, "squad", "train.json.gz")


def oracle_outputs(data):
    """Logits one-hot (×10) at each window's target start/end pieces."""
    outs = []
    for ids, (s, e) in zip(data.features["token_ids"].to_list(), data.targets):
        z = np.zeros((len(ids), 2), "float32")
        z[s, 0] = z[e, 1] = 10.0
        outs.append(z)
    return outs


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


def test_split_with_offsets_keeps_exact_substrings():
    text = "  Café «naïve» Zürich—1,000 km 東京 don't\tend."
    for word, s, e in qa.split_with_offsets(text):
        assert text[s:e] == word and word.strip() == word
    assert [w for w, _, _ in qa.split_with_offsets("a,b c")] == ["a", ",", "b", "c"]


def test_normalisation_and_f1_hand_checked():
    assert qa.normalize_answer("The  Quick, brown fox!") == "quick brown fox"
    assert qa.exact_match("the Eiffel Tower", "Eiffel Tower.") == 1.0
    assert qa.f1_score("Denver Broncos", "The Denver Broncos") == 1.0
    assert qa.f1_score("Denver Broncos won", "Denver Broncos") == pytest.approx(0.8)
    assert qa.f1_score("Carolina", "Denver") == 0.0
    assert qa.f1_score("", "") == 1.0 and qa.f1_score("a", "x") == 0.0  # "a" normalises to nothing
    s = qa.squad_scores(["Broncos", "blue"], [["Denver Broncos", "Broncos"], ["red"]])
    assert s == {"exact_match": 50.0, "f1": 50.0}


def toy_examples(n=60, impossible_every=0, seed=0):
    """One color word among filler words; the question asks for the color (none: unanswerable)."""
    rng = np.random.default_rng(seed)
    fill, colors = ["the", "cat", "dog", "sky", "is", "a", "it", "so", "very"], ["red", "blue", "green"]
    out = []
    for i in range(n):
        words = [str(w) for w in rng.choice(fill, size=int(rng.integers(4, 14)))]
        impossible = bool(impossible_every and i % impossible_every == 0)
        color = str(rng.choice(colors))
        if not impossible:
            words.insert(int(rng.integers(0, len(words) + 1)), color)
        context = " ".join(words) + " ."
        answers = [] if impossible else [{"text": color, "answer_start": (" " + context).index(f" {color} ")}]
        out.append({"id": f"q{i}", "question": "what is the color ?", "context": context, "answers": answers,
                    "is_impossible": impossible})
    return out


def test_v2_null_answers_with_oracle_logits():
    pre = qa.QAPreprocessor(kbert.encoders.load_tokenizer(tiny_spec()), 64, 16, 16, version_2=True)
    examples = toy_examples(30, impossible_every=3)
    data = pre.encode(examples, verbose=0)
    result = pre.validate(oracle_outputs(data), data, print_report=False)
    assert result["exact_match"] == 100.0 and result["NoAns_f1"] == 100.0 and result["HasAns_f1"] == 100.0
    preds = [r[0]["answer"] for r in pre.decode(oracle_outputs(data), data)[0]]
    assert preds[0] == "" and preds[1] != ""


def test_bad_answer_start_names_the_question_or_is_skipped(capsys):
    examples = toy_examples(10)
    examples[4]["answers"][0]["answer_start"] += 1
    with pytest.raises(DataError, match="question 'q4': answer_start"):
        qa._qa_from_examples(examples, examples[:3], 64, 16, 16, tiny_spec(), 0.1, 0, False, 0)
    trn, _, _ = qa._qa_from_examples(examples, examples[:3], 64, 16, 16, tiny_spec(), 0.1, 0, True, 0)
    assert trn.stats["questions"] == 9 and "skipped 1 questions" in capsys.readouterr().out
    examples = toy_examples(3)
    examples[1]["context"] = "  "
    with pytest.raises(DataError, match="question 'q1' has an empty context"):
        qa._qa_from_examples(examples, None, 64, 16, 16, tiny_spec(), 0.1, 0, False, 0)


def test_qa_from_df_and_v2_format_from_squad_file(tmp_path):
    import gzip

    import pandas as pd

    ex = toy_examples(40)
    df = pd.DataFrame({"question": [e["question"] for e in ex], "context": [e["context"] for e in ex],
                       "answer_text": [e["answers"][0]["text"] for e in ex],
                       "answer_start": [e["answers"][0]["answer_start"] for e in ex]})
    trn, val, pre = kbert.text.qa_from_df(df, preset=tiny_spec(), maxlen=64, doc_stride=16, verbose=0)
    assert trn.stats["questions"] + val.stats["questions"] == 40 and not pre.version_2
    # SQuAD v2 layout: questions paired with another article's paragraph, is_impossible=true
    doc = {"version": "v2.0", "data": [{"title": "t", "paragraphs": [
        {"context": e["context"], "qas": [{"id": e["id"], "question": e["question"], "answers": e["answers"],
                                           "is_impossible": False}]} for e in ex[:20]] + [
        {"context": "paris is in france .", "qas": [{"id": "imp", "question": ex[0]["question"], "answers": [],
                                                     "is_impossible": True}]}]}]}
    path = tmp_path / "v2.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump(doc, f)
    trn, val, pre = kbert.text.qa_from_squad(str(path), val_filepath=str(path), preset=tiny_spec(), maxlen=64,
                                             doc_stride=16, verbose=0)
    assert pre.version_2 and trn.stats["questions"] == 21


@pytest.fixture(scope="module")
def toy_qa():
    trn_ex, val_ex = toy_examples(240), toy_examples(40, seed=1)
    trn, val, pre = qa._qa_from_examples(trn_ex, val_ex, 64, 16, 16, tiny_spec(), 0.1, 0, False, 0)
    model = kbert.text.qa_model(pre, dropout=0.0, seed=0)
    learner = kbert.get_learner(model, trn, val, batch_size=16, seed=0)
    hist = learner.fit_onecycle(3e-3, 8, verbose=0)
    return learner, pre, hist


def test_qa_model_learns_and_validates(toy_qa):
    learner, pre, hist = toy_qa
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0]
    result = learner.validate()
    assert result["f1"] > 90


def test_predictor_long_context_and_save_load(toy_qa, tmp_path):
    learner, pre, _ = toy_qa
    p = kbert.get_predictor(learner.model, pre)
    context = "the cat is so very red and the dog is ."
    r = p.predict(question="what is the color ?", context=context)
    assert context[r["start"]:r["end"]] == r["answer"]
    assert r["answer"] == "red"
    top = p.predict(question="what is the color ?", context=context, top_k=3)
    assert len(top) == 3 and top[0]["score"] >= top[1]["score"] >= top[2]["score"]
    long_context = ("the cat is a dog . " * 6000)[:100_000]
    long_context = long_context[:50_000] + " blue " + long_context[50_000:]
    r_long = p.predict(question="what is the color ?", context=long_context)
    assert long_context[r_long["start"]:r_long["end"]] == r_long["answer"]
    with pytest.raises(ValueError, match="empty"):
        p.predict(question=" ", context=context)
    p.save(tmp_path / "qa")
    script = (f"import json, kbert; p = kbert.load_predictor({str(tmp_path / 'qa')!r}); "
              f"print(json.dumps(p.predict(question='what is the color ?', context={context!r}, top_k=3)))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert [g["answer"] for g in got] == [t["answer"] for t in top]
    np.testing.assert_allclose([g["score"] for g in got], [t["score"] for t in top], atol=1e-5)
