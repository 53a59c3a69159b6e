"""`explain` for text classification and regression predictors (TextClassificationPredictor
calls `explain_text`)."""

import numpy as np

from kbert.explain.explanation import Explanation
from kbert.explain.gradients import completeness, integrated_gradients, word_attributions
from kbert.explain.lime import lime_weights
from kbert.explain.words import split_words
from kbert.text.ner.alignment import word_pieces

METHODS = ("lime", "gradients")
DEFAULT_SAMPLES = 500
DEFAULT_STEPS = 50


def check_method(method):
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")


def split_input(predictor, text):
    """(first text, second text or None): pair models take a (text, second text) tuple and
    explain the first text with the second fixed."""
    pairs = predictor.preproc.text_pair_column is not None
    if pairs:
        if not (isinstance(text, (tuple, list)) and len(text) == 2 and all(isinstance(t, str) for t in text)):
            raise TypeError("This model takes text pairs: explain((text, second_text)) explains the first text "
                            "with the second one fixed.")
        return text[0], text[1]
    if not isinstance(text, str):
        predictor.predict_proba(text)  # the predictor's own error for what is not a text
        raise TypeError("explain takes one text (a string); call it once per text.")
    return text, None


def target_of(predictor, probs, class_name):
    """(output column, class name shown) for the explained class (default: the predicted one)."""
    mode = predictor.preproc.mode
    classes = list(predictor.get_classes())
    if mode == "regression":
        if class_name is not None:
            raise ValueError("A regression model has one output; leave class_name=None.")
        return 0, "value"
    if class_name is None:
        index = int(np.argmax(probs))
        return index, classes[index]
    if class_name not in classes:
        raise ValueError(f"class_name {class_name!r} is not one of the model's classes {classes}.")
    return classes.index(class_name), class_name


def explain_text(predictor, text, n_samples=DEFAULT_SAMPLES, class_name=None, method="lime", seed=0,
                 steps=DEFAULT_STEPS, baseline="zero"):
    """Which words of a text pushed a text classifier's (or regressor's) prediction.

    Args:
        predictor: a TextClassificationPredictor (duck-typed: model, preproc, predict_proba, get_classes).
        text: a string; for a pair model a (text, second text) tuple (the first text is explained).
        n_samples: LIME's perturbed texts (ktrain/eli5 use 2500; 500 keeps a BERT-base explanation
            around a minute on 2 CPU cores, and the top words are usually stable by then).
        class_name: the class to explain; default the predicted one (regression: the value).
        method: "lime" (model-agnostic perturbation) or "gradients" (integrated gradients on
            the token embeddings: one model call per `steps`/batch, exact for this model).
        seed: LIME's sampling seed.
        steps: integrated gradients' interpolation steps.
        baseline: integrated gradients' baseline embedding: "zero" or "pad".

    Returns:
        An `Explanation` (words, weights, class, probability; HTML in a notebook).
    """
    check_method(method)
    first, second = split_input(predictor, text)
    probs = np.asarray(predictor.predict_proba(text if second is None else [(first, second)]))
    probs = probs.reshape(-1) if second is None else probs[0]
    column, name = target_of(predictor, probs, class_name)
    spans = split_words(first)
    if method == "lime":
        def score(texts):
            batch = texts if second is None else [(t, second) for t in texts]
            return np.asarray(predictor.predict_proba(batch)).reshape(len(texts), -1)[:, column]

        weights, info = lime_weights(score, first, spans, n_samples=n_samples, seed=seed)
    else:
        if getattr(predictor.preproc, "long_document", "truncate") == "windows":
            raise ValueError('method="gradients" reads one window of pieces; a long_document="windows" model '
                             'pools several: use method="lime", which explains the whole document.')
        weights, info = text_gradients(predictor, first, second, spans, column, steps, baseline)
    return Explanation(first, spans, weights, name, probs[column], method, info)


def text_gradients(predictor, first, second, spans, column, steps, baseline):
    """Integrated gradients of the explained output's logit, summed per word."""
    inputs, piece_words, exact = encoded_row(predictor.preproc, first, second, [w for w, _, _ in spans])
    moving = piece_words >= 0
    attributions, at_input, at_baseline, used = integrated_gradients(
        predictor.model, inputs, moving, lambda out: out[:, column], steps=steps, baseline=baseline,
        pad_id=predictor.preproc.special["pad"], batch_size=predictor.batch_size)
    weights = word_attributions(attributions, piece_words, len(spans))
    info = {"target_logit": at_input, "baseline_logit": at_baseline, "steps": used, "baseline": baseline,
            "completeness_gap": completeness(attributions, at_input, at_baseline), "exact_tokenization": exact}
    return weights, info


def encoded_row(preproc, first, second, words):
    """(model inputs [1, pieces], word index per piece (-1: special or second text), exact).

    The text is tokenized as `predict` does; its pieces are matched to the words by tokenizing
    each word alone. Where a tokenizer cuts the text otherwise than word by word (e.g. a
    SentencePiece "▁" before punctuation glued to a word), the first text's pieces are those
    of its words one by one instead (exact=False): the explained input then differs from the
    predicted one by those pieces only.
    """
    features, _ = preproc.tokenize([first], None if second is None else [second])
    ids = [int(i) for i in features["token_ids"][0].numpy()]
    segs = [int(s) for s in features["segment_ids"][0].numpy()]
    per_word = word_pieces(preproc.tokenizer, words)
    flat = [p for pieces in per_word for p in pieces]
    owner = [w for w, pieces in enumerate(per_word) for _ in pieces]
    end = ids.index(preproc.special["end"], 1)  # the end of the first text ([SEP], </s>)
    exact = ids[1:end] == flat[:end - 1]
    if not exact:
        rest_ids, rest_segs = ids[end:], segs[end:]
        room = preproc.maxlen - 1 - len(rest_ids)
        ids = ids[:1] + flat[:room] + rest_ids
        segs = segs[:1] + [segs[0]] * len(flat[:room]) + rest_segs
        end = 1 + len(flat[:room])
    piece_words = np.full(len(ids), -1)
    piece_words[1:end] = owner[:end - 1]
    inputs = {"token_ids": np.array([ids], dtype="int32"), "segment_ids": np.array([segs], dtype="int32"),
              "padding_mask": np.ones((1, len(ids)), dtype="int32")}
    return inputs, piece_words, exact
