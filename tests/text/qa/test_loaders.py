"""kbert.text.qa.loaders: qa_from_df and qa_from_squad (v2 layout) end to end."""

import json

import kbert
from conftest import tiny_spec

from .helpers import toy_examples


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
    assert pre.version_2 and trn.stats["questions"] == 21 and not pre.all_answers
    _, _, pre = kbert.text.qa_from_squad(str(path), preset=tiny_spec(), maxlen=64, doc_stride=16, verbose=0,
                                         all_answers=True)
    assert pre.all_answers


def test_qa_from_df_names_rows_with_a_missing_answer_start():
    import pandas as pd
    import pytest

    from kbert.errors import DataError

    ex = toy_examples(6)
    df = pd.DataFrame({"question": [e["question"] for e in ex], "context": [e["context"] for e in ex],
                       "answer_text": [e["answers"][0]["text"] for e in ex],
                       "answer_start": [float(e["answers"][0]["answer_start"]) for e in ex]})
    df.loc[[2, 4], "answer_start"] = [float("nan"), 3.5]
    with pytest.raises(DataError, match=r"df column 'answer_start' is missing or not a character offset "
                                        r"\(an integer ≥ 0\) at index \[2, 4\] \(2 rows\)"):
        kbert.text.qa_from_df(df, preset=tiny_spec(), maxlen=64, doc_stride=16, verbose=0)
