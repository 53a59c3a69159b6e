"""SQuAD: reading v1.1 / v2.0 JSON, checking questions, and the official EM / F1 metric."""

import collections
import json
import os
import re
import string

import numpy as np

from kbert.errors import DataError
from kbert.io import read_text


def read_squad(path, max_questions=None):
    """SQuAD v1.1 / v2.0 JSON (plain or .gz) → list of question dicts.

    Every article, paragraph, question and answer is checked against the SQuAD layout; a
    missing field, a wrong type (a number where a list belongs, `answer_start: null`) or a
    damaged file is a DataError naming the file and the question id (or the article,
    paragraph and question index).

    Args:
        path: the file.
        max_questions: read only the first N questions.

    Returns:
        A list of {"id", "question", "context", "answers": [{"text", "answer_start"}],
        "is_impossible", "title"}.

    Example:
    >>> # examples = read_squad("../shared/datasets/squad/val.json.gz", max_questions=100)
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"SQuAD file {path!r} does not exist.")
    path = os.fspath(path)
    text = read_text(path, "utf-8", advice="JSON files are UTF-8: convert it (e.g. `iconv -f latin1 -t utf-8`).")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: not valid JSON at line {e.lineno}, column {e.colno} (character {e.pos}): "
                        f"{e.msg}. The file is damaged or not SQuAD JSON.") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise DataError(f"{path}: no 'data' list at the top: not the SQuAD layout "
                        "({\"data\": [{\"paragraphs\": [{\"context\", \"qas\": [...]}]}]}).")
    out = []
    for ai, article in enumerate(doc["data"]):
        where = f"{path}: article {ai}"
        article = field(article, None, dict, where, "an article")
        where += f" ({article['title']!r})" if isinstance(article.get("title"), str) else ""
        for pi, para in enumerate(field(article, "paragraphs", list, where)):
            pwhere = f"{where}, paragraph {pi}"
            para = field(para, None, dict, pwhere, "a paragraph")
            context = field(para, "context", str, pwhere)
            for qi, qa in enumerate(field(para, "qas", list, pwhere)):
                qa = field(qa, None, dict, f"{pwhere}, question {qi}", "a question")
                if not isinstance(qa.get("id"), (str, int)) or isinstance(qa.get("id"), bool):
                    field(qa, "id", str, f"{pwhere}, question {qi}")
                qwhere = f"{pwhere}, question {qa['id']!r}"
                impossible = field(qa, "is_impossible", bool, qwhere, default=False)
                answers = field(qa, "answers", list, qwhere, default=[] if impossible else None)
                out.append({"id": str(qa["id"]), "question": field(qa, "question", str, qwhere), "context": context,
                            "answers": [squad_answer(a, f"{qwhere}, answer {k}") for k, a in enumerate(answers)],
                            "is_impossible": impossible, "title": article.get("title", "")})
                if max_questions and len(out) >= max_questions:
                    return out
    return out


TYPE_NAMES = {dict: "an object", list: "a list", str: "a string", bool: "true or false", int: "an integer"}


def field(obj, key, kind, where, what=None, default=None):
    """obj[key] (obj itself when key is None), checked to be a `kind`: else a DataError naming
    `where`. A missing key gives `default` when one is given."""
    if key is not None:
        if key not in obj:
            if default is not None:
                return default
            raise DataError(f"{where}: has no {key!r}; SQuAD needs it. Fix the file.")
        value, what = obj[key], f"{key!r}"
    else:
        value = obj
    if not isinstance(value, kind):
        got = "null" if value is None else f"{type(value).__name__} {json.dumps(value)[:50]}"
        raise DataError(f"{where}: {what} is {got}, where SQuAD has {TYPE_NAMES[kind]}. Fix the file.")
    return value


def squad_answer(answer, where):
    answer = field(answer, None, dict, where, "the answer")
    text = field(answer, "text", str, where)
    if "answer_start" not in answer:
        raise DataError(f"{where}: has no 'answer_start'; SQuAD needs it. Fix the file.")
    start = as_offset(answer["answer_start"])
    if start is None:
        raise DataError(f"{where}: 'answer_start' is {json.dumps(answer['answer_start'])}; it must be the character "
                        f"offset of the answer {text!r} in the context (an integer ≥ 0). Fix the file.")
    return {"text": text, "answer_start": start}


def as_offset(value):
    """A character offset (an int ≥ 0, a whole float or a string of digits) as int; None if
    the value is none of these (null, NaN, negative, 3.5, "abc", true)."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value) if value >= 0 else None
    if isinstance(value, (float, np.floating)):
        return int(value) if np.isfinite(value) and float(value).is_integer() and value >= 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def check_examples(examples, name, skip_bad_answers=False):
    good, bad = [], []
    for ex in examples:
        qid = ex["id"]
        if not ex["question"].strip():
            raise DataError(f"{name}: question {qid!r} has an empty question.")
        if not ex["context"].strip():
            raise DataError(f"{name}: question {qid!r} has an empty context.")
        if not ex["answers"] and not ex["is_impossible"]:
            raise DataError(f"{name}: question {qid!r} has no answer and is not marked is_impossible.")
        wrong = [a for a in ex["answers"]
                 if ex["context"][a["answer_start"]:a["answer_start"] + len(a["text"])] != a["text"]]
        if wrong:
            if not skip_bad_answers:
                a = wrong[0]
                raise DataError(
                    f"{name}: question {qid!r}: answer_start {a['answer_start']} does not point at answer "
                    f"{a['text']!r} (the context has "
                    f"{ex['context'][a['answer_start']:a['answer_start'] + len(a['text'])]!r} there). "
                    "Fix it, or pass skip_bad_answers=True to skip such questions (they are counted).")
            bad.append(qid)
            continue
        good.append(ex)
    if bad:
        print(f"kbert: {name}: skipped {len(bad)} questions whose answer_start does not point at their answer "
              f"(ids {bad[:5]}{'…' if len(bad) > 5 else ''}).")
    return good


# ----------------------------------------------------------------------- SQuAD metric


def normalize_answer(s):
    """The official SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def f1_score(prediction, gold):
    p, g = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not p or not g:
        return float(p == g)
    common = collections.Counter(p) & collections.Counter(g)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction, gold):
    return float(normalize_answer(prediction) == normalize_answer(gold))


def squad_scores(predictions, golds):
    """Exact match and F1 in percent, each the max over a question's gold answers."""
    em = [max(exact_match(p, g) for g in gs) for p, gs in zip(predictions, golds)]
    f1 = [max(f1_score(p, g) for g in gs) for p, gs in zip(predictions, golds)]
    return {"exact_match": 100 * float(np.mean(em)), "f1": 100 * float(np.mean(f1))}
