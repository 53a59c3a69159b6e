"""`explain` for NER predictors: which words pushed the tags of one predicted entity.

The methods for kbert/predictors/ner.py call `explain_entity(self, sentence, ...)`.
The explained output is the entity's own tags: integrated gradients of the sum of their
logits at each entity word's first piece; LIME of the mean probability of those tags, with
the entity's words always kept (so they get no LIME weight; gradients weigh them too).
"""

import numpy as np

from kbert.explain.classification import DEFAULT_SAMPLES, DEFAULT_STEPS, check_method
from kbert.explain.explanation import Explanation
from kbert.explain.gradients import completeness, integrated_gradients, word_attributions
from kbert.explain.lime import lime_weights
from kbert.explain.words import split_words
from kbert.families import special_ids


def entity_spans(tags):
    """IOB2 tags → [(first word, end word, type)], as the NER predictor merges them (an I-X
    after O or another type starts an entity)."""
    out = []
    for i, tag in enumerate(tags):
        kind = None if tag == "O" else tag[2:]
        if tag.startswith("B-") or (tag.startswith("I-") and (not out or out[-1][1] != i or out[-1][2] != kind)):
            out.append([i, i + 1, kind])
        elif tag.startswith("I-"):
            out[-1][1] = i + 1
    return [tuple(e) for e in out]


def word_probabilities(predictor, sentences):
    """Per sentence (a list of words), the tag probabilities of each word [words, tags]."""
    preproc = predictor.preproc
    data = preproc.encode(sentences, verbose=0)
    outputs = preproc.predict_outputs(predictor.model, data, predictor.batch_size)
    return preproc.word_tags(outputs, data, proba=True), data, outputs


def explain_entity(predictor, sentence, entity=0, n_samples=DEFAULT_SAMPLES, method="gradients", seed=0,
                   steps=DEFAULT_STEPS, baseline="zero"):
    """Which words pushed the tags of a predicted entity.

    Args:
        predictor: a NERPredictor (duck-typed: model, preproc, batch_size).
        sentence: one sentence (a string; words are cut as `predict` cuts them).
        entity: which entity: its index among the sentence's predicted entities, or its text.
        n_samples, method, seed, steps, baseline: as `TextClassificationPredictor.explain`.

    Returns:
        An `Explanation` over the sentence's words; `class_name` is the entity type,
        `probability` the mean probability of its words' tags.

    Example:
    >>> # ner.explain("There is a man named John Smith .", entity="John Smith").top(2)
    """
    check_method(method)
    if not isinstance(sentence, str):
        raise TypeError(f"explain takes one sentence (a string), got {type(sentence).__name__}.")
    spans = split_words(sentence)
    words = [w for w, _, _ in spans]
    if not words:
        raise ValueError("The sentence has no words, so no entity to explain.")
    probs, data, outputs = word_probabilities(predictor, [words])
    tag_ids = [int(np.argmax(p)) for p in probs[0]]
    tags = [predictor.preproc.tags[t] for t in tag_ids]
    found = entity_spans(tags)
    texts = [sentence[spans[a][1]:spans[b - 1][2]] for a, b, _ in found]
    if isinstance(entity, str):
        if entity not in texts:
            raise ValueError(f"No predicted entity reads {entity!r}; the sentence's entities: {texts}.")
        index = texts.index(entity)
    elif isinstance(entity, (int, np.integer)) and -len(found) <= entity < len(found):
        index = int(entity)
    else:
        raise ValueError(f"entity={entity!r}: the sentence has {len(found)} predicted entities {texts}; pass an "
                         "index into them or one of their texts.")
    a, b, kind = found[index]
    probability = float(np.mean([probs[0][w][tag_ids[w]] for w in range(a, b)]))
    title = f"entity <b>{texts[index]}</b> ({kind})"
    if method == "lime":
        keep = np.zeros(len(words), bool)
        keep[a:b] = True

        def render(mask):  # (kept words, the entity's first word among them)
            return tuple(w for w, m in zip(words, mask) if m), int(np.sum(mask[:a]))

        def score(items):
            p, _, _ = word_probabilities(predictor, [list(kept) for kept, _ in items])
            return [float(np.mean([sent[start + j][tag_ids[a + j]] for j in range(b - a)]))
                    for sent, (_, start) in zip(p, items)]

        weights, info = lime_weights(score, sentence, spans, n_samples=n_samples, seed=seed, keep=keep,
                                     render=render)
        return Explanation(sentence, spans, weights, kind, probability, method, info, title=title)
    rows = data.source.to_dict("records")
    r = next(i for i, row in enumerate(rows) if row["own_start"] <= a < row["own_end"])
    ids = data.features["token_ids"][r].numpy()[None]
    inputs = {"token_ids": ids.astype("int32"), "segment_ids": np.zeros_like(ids, "int32"),
              "padding_mask": np.ones_like(ids, "int32")}
    if "shape_ids" in data.features:  # a word-shape tagger: the shapes stay fixed along the path
        inputs["shape_ids"] = data.features["shape_ids"][r].numpy()[None].astype("int32")
    first_piece = rows[r]["word_ids"]
    owner = np.full(len(first_piece), -1)
    current = -1
    for p in range(1, len(first_piece) - 1):  # later pieces of a word belong to it
        current = first_piece[p] if first_piece[p] >= 0 else current
        owner[p] = current
    positions = {int(w): p for p, w in enumerate(first_piece) if w >= 0}
    picks = [(positions[w], tag_ids[w]) for w in range(a, b) if w in positions]

    def score_out(out):
        return sum(out[:, p, t] for p, t in picks)

    attributions, at_x, at_b, used = integrated_gradients(
        predictor.model, inputs, owner >= 0, score_out, steps=steps, baseline=baseline,
        pad_id=special_ids(predictor.preproc.tokenizer)["pad"], batch_size=predictor.batch_size)
    weights = word_attributions(attributions, owner, len(words))
    info = {"target_logit": at_x, "baseline_logit": at_b, "steps": used, "baseline": baseline,
            "completeness_gap": completeness(attributions, at_x, at_b)}
    return Explanation(sentence, spans, weights, kind, probability, method, info, title=title)

