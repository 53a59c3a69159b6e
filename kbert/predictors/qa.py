"""Predictor for extractive question answering."""

from kbert.predictors.base import Predictor


class QAPredictor(Predictor):
    """predict(question=..., context=...) → {"answer", "score", "start", "end"}.

    Lists of questions and contexts (same length) give a list of answers; top_k > 1 gives
    a list of the k best answers per question. start/end are character offsets into the
    context, so context[start:end] == answer. Long contexts are read in windows.
    """

    task = "qa"

    @staticmethod
    def preprocessor_from_config(config, vocabulary):
        from kbert.text.qa import QAPreprocessor

        return QAPreprocessor.from_config(config, vocabulary)

    def predict(self, question, context, top_k=1):
        single = isinstance(question, str)
        questions = [question] if single else list(question)
        contexts = [context] * len(questions) if isinstance(context, str) else list(context)
        if len(contexts) != len(questions):
            raise ValueError(f"Got {len(questions)} questions but {len(contexts)} contexts.")
        examples = []
        for i, (q, c) in enumerate(zip(questions, contexts)):
            if not isinstance(q, str) or not q.strip():
                raise ValueError(f"Question {i} is empty.")
            if not isinstance(c, str) or not c.strip():
                raise ValueError(f"Context {i} is empty.")
            examples.append({"id": str(i), "question": q, "context": c, "answers": [], "is_impossible": False})
        data = self.preproc.encode(examples, verbose=0, with_targets=False)
        results, _ = self.preproc.decode(self._outputs(data, per_piece=True), data, top_k=top_k)
        out = [r if top_k > 1 else r[0] for r in results]
        return out[0] if single else out
