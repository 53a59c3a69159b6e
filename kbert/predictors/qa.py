"""Predictor for extractive question answering."""

import types

from kbert.explain import explain_answer
from kbert.predictors.base import Predictor, as_list, check_strings
from kbert.text.qa.preprocessor import QAPreprocessor


class QAPredictor(Predictor):
    """predict(question=..., context=...) → {"answer", "score", "start", "end"}.

    Lists of questions and contexts (same length) give a list of answers; top_k > 1 gives
    a list of the k best answers per question. start/end are character offsets into the
    context, so context[start:end] == answer. Long contexts are read in windows. The score
    is the start logit + the end logit of the span (ktrain's "confidence": unnormalised,
    higher is surer; compare scores of one model only).
    """

    task = "qa"
    preprocessor_class = QAPreprocessor

    def _examples(self, question, context):
        single = isinstance(question, str)
        questions = [question] if single else check_strings(
            as_list(question, "question", "a string or a list of strings"), "question", "a string or a list of strings")
        if isinstance(context, str):
            contexts = [context] * len(questions)
        else:
            expected = "a string (shared by all questions) or a list of strings, one per question"
            contexts = check_strings(as_list(context, "context", expected), "context", expected)
        if len(contexts) != len(questions):
            raise ValueError(f"Got {len(questions)} questions but {len(contexts)} contexts; pass one context per "
                             "question, or one string for all.")
        examples = []
        for i, (q, c) in enumerate(zip(questions, contexts)):
            if not q.strip():
                raise ValueError(f"Question {i} is empty.")
            if not c.strip():
                raise ValueError(f"Context {i} is empty.")
            examples.append({"id": str(i), "question": q, "context": c, "answers": [], "is_impossible": False})
        return examples, single

    def explain(self, question, context, n_samples=500, method="gradients", seed=0, steps=50, baseline="zero"):
        """Which context words pushed the predicted answer (`kbert.explain.explain_answer`); method
        "gradients" or "lime"."""
        return explain_answer(self, question, context, n_samples, method, seed, steps, baseline)

    def predict(self, question, context, top_k=1):
        """The answer span of a question in its context.

        Args:
            question: a string, or a list of strings.
            context: a string (shared by all questions) or a list of strings, one per question.
            top_k: how many answers per question, best first.

        Returns:
            {"answer", "score", "start", "end"} (a list of k of them when top_k > 1; a list per
            question for a list of questions); context[start:end] == answer.

        Example:
        >>> # predictor.predict(question="Who wrote Hamlet?", context="Hamlet was written by Shakespeare.")
        >>> # {'answer': 'Shakespeare', 'score': ..., 'start': 22, 'end': 33}
        """
        if not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"top_k must be a whole number ≥ 1, got {top_k!r}.")
        examples, single = self._examples(question, context)
        data = self.preproc.encode(examples, verbose=0, with_targets=False)
        results, _ = self.preproc.decode(self._outputs(data), data, top_k=top_k)
        out = [r if top_k > 1 else r[0] for r in results]
        return out[0] if single else out

    def window_answers(self, question, context):
        """The best answer of each window of each context (ktrain's AnswerExtractor reads a long
        text paragraph by paragraph and keeps one answer per paragraph; kbert's windows overlap,
        so a span found by two windows is kept once, with its higher score).

        Args:
            question: a string, or a list of strings.
            context: a string (shared by all questions) or a list of strings, one per question.

        Returns:
            Per question, a list of {"answer", "score", "start", "end"} in the order of the
            windows (an answer of "" is a window where a SQuAD v2 model predicts no answer).

        Example:
        >>> # predictor.window_answers(["Who wrote Hamlet?"], [long_text])
        >>> # [[{'answer': 'Shakespeare', 'score': 11.2, 'start': 2210, 'end': 2221}, ...]]
        """
        examples, single = self._examples(question, context)
        data = self.preproc.encode(examples, verbose=0, with_targets=False)
        outputs = self._outputs(data)
        per_question = [{} for _ in examples]
        for w, qi in enumerate(data.source["question"].tolist()):
            # decode one window as if it were the question's only one
            window = types.SimpleNamespace(source=data.source.iloc[[w]].assign(question=0),
                                           examples=[data.examples[qi]], contexts=data.contexts)
            best = self.preproc.decode([outputs[w]], window)[0][0][0]
            key = (best["start"], best["end"])
            if key not in per_question[qi] or per_question[qi][key]["score"] < best["score"]:
                per_question[qi][key] = best
        out = [list(found.values()) for found in per_question]
        return out[0] if single else out
