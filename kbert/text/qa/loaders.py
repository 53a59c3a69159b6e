"""QA loaders: qa_from_squad (SQuAD v1.1 / v2.0 JSON) and qa_from_df (one row per question).

    trn, val, preproc = qa_from_squad("train.json.gz", val_filepath="val.json.gz", maxlen=384, doc_stride=128)
"""

import numpy as np
import pandas as pd

from kbert.data import set_fixed_shapes
from kbert.encoders import load_tokenizer
from kbert.errors import DataError, format_rows, require_columns
from kbert.text.qa.preprocessor import QAPreprocessor
from kbert.text.qa.squad import as_offset, check_examples, read_squad


def split_questions(examples, val_pct, random_state):
    rng = np.random.default_rng(random_state)
    contexts = sorted({ex["context"] for ex in examples})
    rng.shuffle(contexts)
    n_val = int(np.ceil(len(contexts) * val_pct))
    if n_val < 1 or n_val >= len(contexts):
        raise DataError(f"{len(contexts)} contexts: too few to hold out val_pct={val_pct}; pass validation data.")
    val_ctx = set(contexts[:n_val])  # by context, so no paragraph is in both splits
    return [e for e in examples if e["context"] not in val_ctx], [e for e in examples if e["context"] in val_ctx]


def qa_from_examples(train, val, maxlen, doc_stride, max_query_length, preset, val_pct, random_state,
                      skip_bad_answers, verbose, sources=("train", "val"), all_answers=False):
    """Question dicts → (train, val, preprocessor); `sources` name the two sets in errors."""
    train = check_examples(train, sources[0], skip_bad_answers)
    if not train:
        raise DataError(f"{sources[0]}: no training questions.")
    if val is None:
        train, val = split_questions(train, val_pct, random_state)
    else:
        val = check_examples(val, sources[1], skip_bad_answers)
    v2 = any(ex["is_impossible"] for ex in train + val)
    preproc = QAPreprocessor(load_tokenizer(preset), maxlen, doc_stride, max_query_length, preset, version_2=v2,
                             all_answers=all_answers)
    return preproc.encode(train, "train", verbose), preproc.encode(val, "val", verbose), preproc


def qa_from_squad(train_filepath, val_filepath=None, maxlen=384, doc_stride=128, max_query_length=None,
                  preset="minilm", max_questions=None, val_pct=0.1, random_state=42, skip_bad_answers=False,
                  fixed_shapes=False, verbose=1, all_answers=False):
    """SQuAD v1.1 / v2.0 JSON (plain or .gz) → (train, val, preprocessor).

    Training uses each question's first gold answer that word pieces can express exactly
    (else its first), or with all_answers=True every distinct one (span_loss's marginal over
    them); validation scores take the best over all gold answers. max_questions: the first N
    questions of each file. A file that is damaged or not in the SQuAD layout is a
    DataError naming the file and the question id (see read_squad).
    """
    train = read_squad(train_filepath, max_questions)
    val = read_squad(val_filepath, max_questions) if val_filepath else None
    trn, val, preproc = qa_from_examples(train, val, maxlen, doc_stride, max_query_length, preset, val_pct,
                                          random_state, skip_bad_answers, verbose,
                                          (str(train_filepath), str(val_filepath or train_filepath)),
                                          all_answers)
    set_fixed_shapes(fixed_shapes, trn, val)
    return trn, val, preproc


def examples_from_df(df, qcol, ccol, acol, scol, name, id_column=None):
    require_columns(df, (qcol, ccol, acol, scol), name)
    for c in (qcol, ccol):
        missing = df[c].isna()
        if missing.any():
            raise DataError(f"{name} column {c!r} has missing values at index {format_rows(df.index[missing])}.")
    out, bad = [], []
    for idx, row in df.iterrows():
        qid = str(row[id_column]) if id_column else str(idx)
        impossible = pd.isna(row[acol]) or row[acol] == ""
        start = None if impossible else as_offset(row[scol])
        if not impossible and start is None:
            bad.append((idx, row[scol]))
        answers = [] if impossible else [{"text": str(row[acol]), "answer_start": start}]
        out.append({"id": qid, "question": str(row[qcol]), "context": str(row[ccol]), "answers": answers,
                    "is_impossible": impossible})
    if bad:
        raise DataError(f"{name} column {scol!r} is missing or not a character offset (an integer ≥ 0) at index "
                        f"{format_rows([i for i, _ in bad])}, where {acol!r} gives an answer (first: {bad[0][1]!r}). "
                        f"Give the answer's start in the context, or an empty {acol!r} for a question with no answer.")
    return out


def qa_from_df(df, question_column="question", context_column="context", answer_text_column="answer_text",
               answer_start_column="answer_start", val_df=None, id_column=None, maxlen=384, doc_stride=128,
               max_query_length=None, preset="minilm", val_pct=0.1, random_state=42, skip_bad_answers=False,
               fixed_shapes=False, verbose=1):
    """One row per question: question, context, answer text and its character start
    (an empty answer marks an unanswerable question, as SQuAD v2)."""
    if len(df) == 0:
        raise DataError("df has no rows.")
    train = examples_from_df(df, question_column, context_column, answer_text_column, answer_start_column,
                              "df", id_column)
    val = None
    if val_df is not None:
        val = examples_from_df(val_df, question_column, context_column, answer_text_column,
                                answer_start_column, "val_df", id_column)
    trn, val, preproc = qa_from_examples(train, val, maxlen, doc_stride, max_query_length, preset, val_pct,
                                          random_state, skip_bad_answers, verbose, ("df", "val_df"))
    set_fixed_shapes(fixed_shapes, trn, val)
    return trn, val, preproc
