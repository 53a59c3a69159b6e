"""ktrain's `AnswerExtractor` on a kbert QA predictor: information extraction by asking the
same questions of every text (new DataFrame columns), and fine-tuning on a few examples.

    ae = kbert.AnswerExtractor("qa-predictor")            # a saved QA predictor (or the predictor)
    df = ae.extract(df.text.values, df, [("What are the risk factors?", "Risk Factors")], min_conf=5)
    ae.finetune([{"question": "What is ktrain?", "context": "ktrain is a library.", "answers": "ktrain"}])
"""

import os
import string

import keras_hub

from kbert.errors import DataError
from kbert.learner import get_learner
from kbert.models import freeze_unused_pooler
from kbert.predictors.base import as_list
from kbert.predictors.load import load_predictor
from kbert.predictors.qa import QAPredictor
from kbert.text.qa.squad import check_examples

# The answer's score is start logit + end logit, ktrain's "confidence" too, so ktrain's
# default threshold is kept. Measured on a MiniLM kbert trained on 3,000 SQuAD questions
# (1 epoch, F1 46.8 on 997 validation questions): scores 4.95 / 7.21 / 8.67 at the 5th /
# 50th / 95th percentile; min_conf=6 keeps 83 % of the answers (F1 50.7 on those, 27.2 on
# those dropped); 8 keeps 24 % (F1 66.3).
DEFAULT_MIN_CONF = 6
# ktrain's clean-up of extracted answers: leading words and characters that a question
# word often drags in ("is", "the", …), stripped once each in this order
CLEAN_PREFIXES = ("is ", "are ", "was ", "were ", "of ", "include ", "including ", "in ", "of ", "the ", "for ",
                  "on ", "to ", "-", ":", "/", "and ")
DATA_KEYS = ("question", "context", "answers")


def clean_answer(answer):
    """ktrain's answer clean-up: leading filler words (CLEAN_PREFIXES) and one leading and
    one trailing punctuation character are removed.

    Example:
    >>> clean_answer("the age, sex and obesity.")
    'age, sex and obesity'
    """
    for prefix in CLEAN_PREFIXES:
        if answer.startswith(prefix):
            answer = answer[len(prefix):]
    answer = answer.strip()
    if answer and answer[0] in string.punctuation:
        answer = answer[1:]
    if answer and answer[-1] in string.punctuation:
        answer = answer[:-1]
    return answer


class AnswerExtractor:
    """Question-answering-based information extraction, as ktrain's `text.qa.AnswerExtractor`.

    Args:
        predictor: a kbert QAPredictor (`kbert.get_predictor(learner.model, preproc)` of a
            `qa_model`), or the folder of a saved one. (ktrain's `model_name` of a Hugging
            Face SQuAD model has no kbert equivalent: train one with `qa_from_squad` and
            `qa_model`, or load a saved predictor.)

    Example:
    >>> # ae = kbert.AnswerExtractor("qa-predictor")
    >>> # df = ae.extract(df.text.values, df, [("What is the sample size?", "Sample Size")])
    """

    def __init__(self, predictor):
        if isinstance(predictor, (str, os.PathLike)):
            if not os.path.isdir(predictor):
                raise ValueError(f"AnswerExtractor takes a kbert QA predictor or the folder of a saved one; "
                                 f"{os.fspath(predictor)!r} is no folder. Hugging Face SQuAD models (ktrain's "
                                 "model_name) are not loaded by kbert: train one with kbert.text.qa_from_squad "
                                 "and qa_model, then kbert.get_predictor(...).save(folder).")
            predictor = load_predictor(predictor)
        if not isinstance(predictor, QAPredictor):
            raise TypeError(f"AnswerExtractor needs a QA predictor, got {type(predictor).__name__}.")
        self.predictor = predictor

    # ------------------------------------------------------------------ extract
    def extract(self, texts, df, question_label_pairs, min_conf=DEFAULT_MIN_CONF, return_conf=False, batch_size=8,
                clean=True):
        """Asks each question of every text; the answers become new columns of `df`.

        Args:
            texts: one string per row of df (e.g. `df.text.values`).
            df: the pandas DataFrame that gets the new columns (its index is kept).
            question_label_pairs: [(question, label), …]; the answers to a question go to a
                new column named label.
            min_conf: answers with a score at or below this are dropped. The score is the start
                logit + the end logit of the span (as ktrain's confidence); lower it for fewer
                missed answers, raise it for fewer wrong ones.
            return_conf: add a "<label> CONF" column after each label with the scores of all
                of the row's candidates (those below min_conf too), rounded to 2 decimals.
            batch_size: windows per model call.
            clean: ktrain's clean-up of each answer (`clean_answer`); False keeps the exact
                characters of the text.

        Returns:
            `df.join(new columns)`: per row, the answers above min_conf joined by " | "
            (several when a long text's windows find several), or None.

        Example:
        >>> # ae.extract(df.text.values, df, [("How many individuals in sample?", "Sample Size")],
        >>> #            min_conf=5, return_conf=True)
        """
        import pandas as pd

        if not isinstance(df, pd.DataFrame):
            raise ValueError(f"df must be a pandas DataFrame, got {type(df).__name__}.")
        texts = as_list(texts, "texts", "a list of strings, one per row of df")
        if len(texts) != len(df):
            raise ValueError(f"Number of texts ({len(texts)}) is not equal to the number of rows in the DataFrame "
                             f"({len(df)}).")
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                row = df.index.tolist()[i]
                raise TypeError(f"texts[{i}] (row {row!r} of df) is a {type(t).__name__} ({t!r:.40}), not a "
                                "string; fill or drop missing texts first (e.g. df.text.fillna('')).")
        questions, labels = self._pairs(question_label_pairs, df)
        texts = [t.replace("\t", " ") for t in texts]
        rows = [i for i, t in enumerate(texts) if t.strip()]  # empty texts have no answer
        columns = {}
        old = self.predictor.batch_size
        self.predictor.batch_size = int(batch_size)
        try:
            for question, label in zip(questions, labels):
                found = self.predictor.window_answers([question] * len(rows), [texts[i] for i in rows]) if rows else []
                answers, confs = [None] * len(texts), [None] * len(texts)
                for i, candidates in zip(rows, found):
                    kept = [clean_answer(c["answer"]) if clean else c["answer"] for c in candidates
                            if c["score"] > min_conf and c["answer"]]
                    answers[i] = " | ".join(a for a in kept if a) or None
                    confs[i] = " | ".join(str(round(c["score"], 2)) for c in candidates) or None
                columns[label] = answers
                if return_conf:
                    columns[f"{label} CONF"] = confs
        finally:
            self.predictor.batch_size = old
        # object columns, so that a row without an answer holds None (as ktrain), not NaN
        return df.join(pd.DataFrame(columns, index=df.index, dtype=object))

    @staticmethod
    def _pairs(pairs, df):
        pairs = as_list(pairs, "question_label_pairs", "a list of (question, label) tuples")
        if not pairs:
            raise ValueError("question_label_pairs is empty; pass [(question, label), …].")
        for i, p in enumerate(pairs):
            if not (isinstance(p, (tuple, list)) and len(p) == 2 and all(isinstance(x, str) and x.strip() for x in p)):
                raise ValueError(f"question_label_pairs[{i}] is {p!r}; each item must be a (question, label) pair "
                                 "of non-empty strings.")
        labels = [label for _, label in pairs]
        for label in labels:
            if label in df.columns:
                raise ValueError(f"There is already a column named {label!r} in your DataFrame.")
        if len(set(labels)) < len(labels):
            raise ValueError(f"question_label_pairs repeats a label ({labels}); each label names a new column.")
        return [q for q, _ in pairs], labels

    # ------------------------------------------------------------------ finetune
    def finetune(self, data, epochs=3, learning_rate=2e-5, batch_size=8, max_seq_length=None, seed=None, verbose=1):
        """Fine-tunes the predictor's model in place on a few SQuAD-like examples (ktrain's
        `finetune`), through kbert's Learner at a constant learning rate (AdamW).

        Args:
            data: a list of dicts with "question", "context" and "answers": the answer's text
                (located in the context), a dict {"text": [...], "answer_start": [...]}
                (SQuAD / Hugging Face datasets form), or None for a question without answer.
            epochs: passes over data.
            learning_rate: the constant rate.
            batch_size: examples per step (at most len(data)).
            max_seq_length: pieces per training window (default: the predictor's maxlen; at most
                the encoder's positions). ktrain ignores it and always uses 512.
            seed: makes the run repeatable on CPU.
            verbose: Keras' progress output.

        Returns:
            The Keras History of the run (ktrain returns None).

        Example:
        >>> # ae.finetune([{"question": "What is ktrain?", "context": "ktrain is a low-code library.",
        >>> #               "answers": "ktrain"}], epochs=3)
        """
        examples = squad_examples(data)
        pre = self.predictor.preproc
        if max_seq_length is not None and max_seq_length != pre.maxlen:
            positions = next((layer.max_sequence_length for layer in self.predictor.model.layers
                              if hasattr(layer, "max_sequence_length")), None)
            if positions is not None and max_seq_length > positions:
                raise ValueError(f"max_seq_length={max_seq_length} exceeds the encoder's {positions} positions.")
            pre = type(pre).from_config({**pre.get_config(), "maxlen": int(max_seq_length)}, pre.tokenizer)
        trn = pre.encode(examples, "finetune", verbose=0)
        for layer in self.predictor.model.layers:
            if isinstance(layer, keras_hub.models.Backbone):  # a pooler (BERT, ALBERT) is unused by the span head
                freeze_unused_pooler(layer)
        learner = get_learner(self.predictor.model, trn, None, batch_size=max(1, min(int(batch_size), len(examples))),
                              seed=seed)
        return learner.fit(learning_rate, int(epochs), verbose=verbose)


def squad_examples(data):
    """ktrain's finetune data (dicts of question, context, answers) → kbert's SQuAD question dicts,
    checked (each error names data[i]).

    Example:
    >>> squad_examples([{"question": "Who?", "context": "Ann ran.", "answers": "Ann"}])[0]["answers"]
    [{'text': 'Ann', 'answer_start': 0}]
    """
    data = as_list(data, "data", 'a list of dicts with "question", "context" and "answers"')
    if not data:
        raise ValueError("data is empty.")
    examples = []
    for i, d in enumerate(data):
        if not isinstance(d, dict) or any(k not in d for k in DATA_KEYS):
            missing = [k for k in DATA_KEYS if not isinstance(d, dict) or k not in d]
            raise ValueError(f'All dictionaries in list must have the following keys: "question", "context", '
                             f'"answers"; data[{i}] lacks {missing} (ktrain\'s docstring says "answer": the key '
                             'is "answers").')
        question, context, answers = d["question"], d["context"], d["answers"]
        for key, value in (("question", question), ("context", context)):
            if not isinstance(value, str):
                raise TypeError(f"data[{i}][{key!r}] is a {type(value).__name__}, not a string.")
        found = answer_dicts(answers, context, i)
        examples.append({"id": f"data[{i}]", "question": question, "context": context, "answers": found,
                         "is_impossible": not found})
    return check_examples(examples, "finetune data")


def answer_dicts(answers, context, i):
    """SQuAD answer dicts from ktrain's answer forms: a string, {"text", "answer_start"} (lists or
    single values; empty lists: no answer) or None (no answer)."""
    if answers is None:
        return []
    if isinstance(answers, str):
        start = context.find(answers)
        if not answers or start < 0:
            raise DataError(f"data[{i}]: answer {answers!r} is not in its context; give the exact text, or "
                            "{'text': [...], 'answer_start': [...]}.")
        return [{"text": answers, "answer_start": start}]
    if isinstance(answers, dict) and "text" in answers and "answer_start" in answers:
        texts, starts = answers["text"], answers["answer_start"]
        texts = [texts] if isinstance(texts, str) else list(texts)
        starts = [starts] if isinstance(starts, int) else list(starts)
        if len(texts) != len(starts):
            raise DataError(f"data[{i}]: answers has {len(texts)} texts and {len(starts)} answer_starts; give one "
                            "start per text.")
        return [{"text": t, "answer_start": int(s)} for t, s in zip(texts, starts)]
    raise DataError(f"data[{i}]: answers is {answers!r}; give the answer's text, "
                    "{'text': [...], 'answer_start': [...]}, or None for no answer.")
