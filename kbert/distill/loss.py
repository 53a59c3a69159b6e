"""The distillation loss: the teacher's softened outputs as targets, mixed with the task's
own loss.

    loss = alpha · T² · soft(teacher/T ‖ student/T) + (1 − alpha) · task loss
           (+ hidden_loss · cosine distance of the last hidden states)

soft, per kind of output:
    "classes"  softmax KL over classes, mean over examples
    "labels"   sigmoid soft targets: mean over labels of the Bernoulli KL (multi-label)
    "values"   mean squared error to the teacher's output (regression: no T, no T²)
    "tokens"   softmax KL over tags per piece, mean over the pieces whose target is not
               IGNORE_INDEX (NER: word starts only, as the task's loss)
    "spans"    softmax KL over pieces, start and end, their mean (QA)
T² keeps the soft gradients' size independent of T (Hinton et al., 2015).
"""

import keras

from kbert.metrics import IGNORE_INDEX

KINDS = ("classes", "labels", "values", "tokens", "spans")


def output_kind(preproc):
    """The kind of output (a KINDS name) of a task preprocessor's model."""
    task, mode = getattr(preproc, "task", None), getattr(preproc, "mode", None)
    if task == "text_classification":
        return {"multiclass": "classes", "multilabel": "labels", "regression": "values"}[mode]
    if task == "ner":
        return "tokens"
    if task == "qa":
        return "spans"
    raise ValueError(f"Distillation serves text classification, NER and QA; this data's task is {task!r}.")


def _kl_softmax(teacher, student, axis):
    """KL(softmax(teacher) ‖ softmax(student)) along axis (float32 logits, already / T)."""
    log_p = keras.ops.log_softmax(teacher, axis=axis)
    log_q = keras.ops.log_softmax(student, axis=axis)
    return keras.ops.sum(keras.ops.exp(log_p) * (log_p - log_q), axis=axis)


def _kl_sigmoid(teacher, student):
    """Mean over labels of KL(Bernoulli(σ(teacher)) ‖ Bernoulli(σ(student)))."""
    p = keras.ops.sigmoid(teacher)
    log_p, log_1p = keras.ops.log_sigmoid(teacher), keras.ops.log_sigmoid(-teacher)
    log_q, log_1q = keras.ops.log_sigmoid(student), keras.ops.log_sigmoid(-student)
    return keras.ops.mean(p * (log_p - log_q) + (1.0 - p) * (log_1p - log_1q), axis=-1)


def soft_loss(kind, teacher, student, temperature=2.0, targets=None):
    """The soft-target term (T² included, a scalar).

    Args:
        kind: a KINDS name (see `output_kind`).
        teacher, student: logits of the same shape ([batch, classes], [batch, pieces, tags],
            [batch, pieces, 2]).
        temperature: T > 0.
        targets: the hard targets; "tokens" uses them to leave out IGNORE_INDEX pieces.

    Returns:
        A float32 scalar tensor.

    Example:
    >>> float(soft_loss("classes", [[1.0, 0.0]], [[1.0, 0.0]]))
    0.0
    """
    t = keras.ops.cast(keras.ops.convert_to_tensor(teacher), "float32")
    s = keras.ops.cast(keras.ops.convert_to_tensor(student), "float32")
    if kind == "values":
        return keras.ops.mean(keras.ops.square(s - t))
    scale = float(temperature) ** 2
    t, s = t / temperature, s / temperature
    if kind == "classes":
        return scale * keras.ops.mean(_kl_softmax(t, s, -1))
    if kind == "labels":
        return scale * keras.ops.mean(_kl_sigmoid(t, s))
    if kind == "tokens":
        kl = _kl_softmax(t, s, -1)  # [batch, pieces]
        keep = keras.ops.cast(keras.ops.not_equal(keras.ops.cast(targets, "int32"), IGNORE_INDEX), "float32")
        keep = keep[:, : keras.ops.shape(kl)[1]]
        return scale * keras.ops.sum(kl * keep) / keras.ops.maximum(keras.ops.sum(keep), 1.0)
    if kind == "spans":
        return scale * keras.ops.mean(_kl_softmax(t, s, 1))  # over pieces; mean of start, end and examples
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}.")


def hidden_distance(teacher_hidden, student_hidden, padding_mask):
    """Mean cosine distance (1 − cos) of the two encoders' last hidden states over the real
    pieces ([batch, pieces, hidden] each; padding_mask [batch, pieces])."""
    t = keras.ops.cast(teacher_hidden, "float32")
    s = keras.ops.cast(student_hidden, "float32")
    cos = keras.ops.sum(t * s, -1) / keras.ops.maximum(
        keras.ops.sqrt(keras.ops.sum(t * t, -1) * keras.ops.sum(s * s, -1)), 1e-12)
    mask = keras.ops.cast(padding_mask, "float32")
    return keras.ops.sum((1.0 - cos) * mask) / keras.ops.maximum(keras.ops.sum(mask), 1.0)


def check_mix(temperature, alpha, hidden_loss):
    """(temperature, alpha, hidden_loss) as floats, or a ValueError naming the bad one."""
    import math

    values = []
    for name, value, ok, what in (("temperature", temperature, lambda v: v > 0, "a positive number"),
                                  ("alpha", alpha, lambda v: 0 <= v <= 1, "a number in [0, 1]"),
                                  ("hidden_loss", hidden_loss, lambda v: v >= 0, "a number ≥ 0")):
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be {what}, got {value!r}.") from None
        if not math.isfinite(v) or not ok(v):
            raise ValueError(f"{name} must be {what}, got {value!r}.")
        values.append(v)
    return tuple(values)
