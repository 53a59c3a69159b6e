"""`explain` for QA predictors: which context words pushed the chosen answer span.

The methods for kbert/predictors/qa.py call `explain_answer(self, question, context, ...)`.
The explained output is the answer's span score, start logit + end logit (the predictor's
`score`), in the window that scores it best. Integrated gradients weigh the context's words
(the question's pieces stay fixed); LIME leaves out context words, the answer's own words
always kept (so they get no LIME weight), and re-scores the same span.
"""

import numpy as np

from kbert.explain.classification import DEFAULT_SAMPLES, DEFAULT_STEPS, check_method
from kbert.explain.explanation import Explanation
from kbert.explain.gradients import completeness, integrated_gradients, word_attributions
from kbert.explain.lime import lime_weights
from kbert.explain.words import split_words, without_words
from kbert.families import special_ids


def example(question, context):
    return {"id": "0", "question": question, "context": context, "answers": [], "is_impossible": False}


def span_scores(predictor, items):
    """Per (question, context, start, end): the best span score of the pieces covering
    context[start:end] over the context's windows, and (window, start position, end position)."""
    preproc = predictor.preproc
    data = preproc.encode([example(q, c) for q, c, _, _ in items], verbose=0, with_targets=False)
    outputs = preproc.predict_outputs(predictor.model, data, predictor.batch_size)
    best = [(-np.inf, None)] * len(items)
    for w, row in enumerate(data.source.to_dict("records")):
        qi = row["question"]
        _, c, a, b = items[qi]
        _, starts, ends = data.contexts[c]
        k_s = next(k for k in range(len(ends)) if ends[k] > a)
        k_e = max(k for k in range(len(starts)) if starts[k] < b)
        s0, n = row["window_start"], row["n_context"]
        if s0 <= k_s and k_e < s0 + n:
            i, j = row["offset"] + k_s - s0, row["offset"] + k_e - s0
            score = float(outputs[w][i, 0] + outputs[w][j, 1])
            if score > best[qi][0]:
                best[qi] = (score, (w, i, j))
    return best, data


def explain_answer(predictor, question, context, n_samples=DEFAULT_SAMPLES, method="gradients", seed=0,
                   steps=DEFAULT_STEPS, baseline="zero"):
    """Which words of the context pushed the predicted answer.

    Args:
        predictor: a QAPredictor (duck-typed: model, preproc, batch_size, predict).
        question: one question (a string).
        context: its context (a string).
        n_samples, method, seed, steps, baseline: as `TextClassificationPredictor.explain`.

    Returns:
        An `Explanation` over the context's words; `class_name` is the answer text and
        `probability` its span score (start + end logit).

    Example:
    >>> # qa.explain("what is the color ?", "the sky is blue today").top(3)
    """
    check_method(method)
    if not isinstance(question, str) or not isinstance(context, str):
        raise TypeError("explain takes one question and one context (strings).")
    answer = predictor.predict(question, context)  # the predictor's own errors for empty inputs
    if answer["start"] < 0:
        raise ValueError(f"The model finds no answer to {question!r} in this context, so there is no span to "
                         "explain.")
    a, b = answer["start"], answer["end"]
    spans = split_words(context)
    best, data = span_scores(predictor, [(question, context, a, b)])
    score, (w, i, j) = best[0]
    title = f"answer <b>{answer['answer']}</b>"
    if method == "lime":
        keep = np.array([s < b and e > a for _, s, e in spans])

        def render(mask):
            before = [k for k, (_, s, _) in enumerate(spans) if s < a]
            start = len(without_words(context[:a], [spans[k] for k in before], mask[before]))
            return without_words(context, spans, mask), start, start + (b - a)

        def score_items(items):
            return [s for s, _ in span_scores(predictor, [(question, c, s, e) for c, s, e in items])[0]]

        weights, info = lime_weights(score_items, context, spans, n_samples=n_samples, seed=seed, keep=keep,
                                     render=render)
        return Explanation(context, spans, weights, answer["answer"], score, method, info, title=title,
                           value_name="score")
    row = data.source.iloc[w]
    ids = data.features["token_ids"][w].numpy()[None]
    segs = data.features["segment_ids"][w].numpy()[None]
    inputs = {"token_ids": ids.astype("int32"), "segment_ids": segs.astype("int32"),
              "padding_mask": np.ones_like(ids, "int32")}
    _, starts, ends = data.contexts[context]
    owner = np.full(ids.shape[1], -1)
    for p in range(row["n_context"]):
        k = row["window_start"] + p
        owner[row["offset"] + p] = next((n for n, (_, s, e) in enumerate(spans) if s < max(ends[k], starts[k] + 1)
                                         and e > starts[k]), -1)
    attributions, at_x, at_b, used = integrated_gradients(
        predictor.model, inputs, owner >= 0, lambda out: out[:, i, 0] + out[:, j, 1], steps=steps,
        baseline=baseline, pad_id=special_ids(predictor.preproc.tokenizer)["pad"], batch_size=predictor.batch_size)
    weights = word_attributions(attributions, owner, len(spans))
    info = {"target_logit": at_x, "baseline_logit": at_b, "steps": used, "baseline": baseline,
            "completeness_gap": completeness(attributions, at_x, at_b)}
    return Explanation(context, spans, weights, answer["answer"], score, method, info, title=title,
                       value_name="score")
