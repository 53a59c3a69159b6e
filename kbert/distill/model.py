"""`Distiller`: the Keras model the Learner trains when it is given a teacher. It holds the
student (its only weights) and computes the distillation loss in `compute_loss`, so Keras'
own `Model.fit` — and with it every Learner method and callback — runs unchanged.

The teacher is held outside Keras' tracking: it is neither trained nor saved with the
student's checkpoints, and `save_weights` / `load_weights` read and write the student's own
file layout (a checkpoint of a distillation run loads into the student).
"""

from copy import copy as shallow_copy

import keras
import numpy as np
import tensorflow as tf

from kbert import data as D
from kbert.distill.loss import check_mix, hidden_distance, output_kind, soft_loss
from kbert.distill.student import find_encoder

ROW = "distill_row"  # the training rows' index, fed with cached teacher outputs
PAD_LOGIT = {"spans": -1e9}  # cached padding positions: QA's padding logits (never chosen); others 0


class Held:
    """Objects the Distiller uses but Keras must not track (train, count or save)."""

    def __init__(self, **items):
        self.__dict__.update(items)


def with_hidden(model):
    """A view of a task model that returns (its output, its encoder's last hidden states);
    the same layers, so one forward pass gives both."""
    _, enc = find_encoder(model)
    # the encoder's call in this model's graph (enc.output would be its own inner graph's):
    # its [batch, pieces, hidden] output
    node = enc._inbound_nodes[-1]
    hidden = [t for t in keras.tree.flatten(node.outputs) if len(t.shape) == 3][0]
    return keras.Model(model.inputs, [model.outputs[0], hidden])


def with_row_ids(data):
    """A copy of TaskData `data` with a feature ROW: each row's index (in column 0 of the
    padded batch), the key of its cached teacher outputs."""
    copy = shallow_copy(data)  # (QA data has no row subset: its rows are windows of questions)
    copy.features = dict(data.features)
    n = len(data)
    copy.features[ROW] = tf.RaggedTensor.from_row_lengths(tf.range(n, dtype=tf.int32), tf.ones([n], tf.int64))
    return copy


def without_row(x):
    return {k: v for k, v in x.items() if k != ROW} if isinstance(x, dict) else x


class Distiller(keras.Model):
    """Trains `student` on `alpha · T² · KL(teacher_T ‖ student_T) + (1 − alpha) · task loss`
    (see `kbert.distill.loss`); validation reports the student's own task loss and metrics.

    Args:
        student: the model to train (e.g. `kbert.distill.student(teacher)`).
        teacher: the fine-tuned model whose outputs are the soft targets (run with
            training=False, never trained).
        preproc: the task's preprocessor (the kind of output: classes, labels, values,
            tokens, spans).
        temperature, alpha, hidden_loss: the loss's mix (see `kbert.distill.loss`).

    Call `cache_teacher(train_data, batch_size)` to compute the teacher's outputs once per
    training row (then the training data must carry row ids: `with_row_ids`); otherwise the
    teacher runs at every step.
    """

    def __init__(self, student, teacher, preproc, temperature=2.0, alpha=0.5, hidden_loss=0.0, **kwargs):
        super().__init__(name=kwargs.pop("name", "kbert_distiller"), **kwargs)
        teacher = check_teacher(teacher, student, preproc)
        self.student = student
        self.kind = output_kind(preproc)
        self.temperature, self.alpha, self.hidden_loss = check_mix(temperature, alpha, hidden_loss)
        views = {}
        if self.hidden_loss:
            views = {"teacher_view": with_hidden(teacher), "student_view": with_hidden(student)}
        self.held = Held(teacher=teacher, table=None, student_hidden=None, **views)
        self.built = True

    @property
    def teacher(self):
        return self.held.teacher

    def cache_teacher(self, data, batch_size=32):
        """Computes the teacher's outputs for every row of `data` (in row order) once; the
        table is padded to the longest row (rounded up to 8) for per-piece outputs."""
        if self.hidden_loss:
            raise ValueError("With hidden_loss the teacher's hidden states are needed at every step: "
                             "its outputs are not cached.")
        per_piece = self.kind in ("tokens", "spans")
        outputs = D.predict(self.teacher, data, batch_size, per_piece=per_piece)
        if per_piece:
            width = D.round_up(max(len(o) for o in outputs))
            if data.fixed_shapes:  # (TPUs) batches as wide as their bucket
                width = max(width, max(data.bucket_lengths()))
            table = np.full((len(outputs), width, outputs[0].shape[-1]), PAD_LOGIT.get(self.kind, 0.0), "float32")
            for i, o in enumerate(outputs):
                table[i, : len(o)] = o
        else:
            table = np.asarray(outputs, "float32")
        # a variable, not a constant: the graph (and an XLA program) reads it instead of embedding it
        with self.student.distribute_strategy.scope():
            self.held.table = tf.Variable(table, trainable=False, name="distill_teacher_outputs")
        return table

    def call(self, inputs, training=False):
        inputs = without_row(inputs)
        if self.hidden_loss and training:
            out, self.held.student_hidden = self.held.student_view(inputs, training=training)
            return out
        return self.student(inputs, training=training)

    def teacher_outputs(self, x):
        """(teacher logits, teacher hidden states or None) for a batch."""
        if self.held.table is not None and isinstance(x, dict) and ROW in x:
            rows = x[ROW][:, 0]
            out = tf.gather(self.held.table, rows)
            if out.shape.rank == 3:
                out = out[:, : tf.shape(x["token_ids"])[1]]
            return out, None
        if self.hidden_loss:
            out, hidden = self.held.teacher_view(without_row(x), training=False)
            return keras.ops.stop_gradient(out), keras.ops.stop_gradient(hidden)
        return keras.ops.stop_gradient(self.teacher(without_row(x), training=False)), None

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        hard = super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)
        if not training:  # validation: the student's own task loss, comparable with ordinary training
            return hard
        teacher, teacher_hidden = self.teacher_outputs(x)
        loss = self.alpha * soft_loss(self.kind, teacher, y_pred, self.temperature, y) + (1.0 - self.alpha) * hard
        if self.hidden_loss:
            loss = loss + self.hidden_loss * hidden_distance(teacher_hidden, self.held.student_hidden,
                                                             x["padding_mask"])
        return loss

    # checkpoints hold the student alone, in its own layout
    def save_weights(self, filepath, overwrite=True, **kwargs):
        return self.student.save_weights(filepath, overwrite=overwrite, **kwargs)

    def load_weights(self, filepath, *args, **kwargs):
        return self.student.load_weights(filepath, *args, **kwargs)

    def get_config(self):
        raise NotImplementedError("A Distiller is a training wrapper: save its student "
                                  "(kbert.get_predictor(learner.model, preproc).save(folder)).")


def check_teacher(teacher, student, preproc):
    """The teacher model (a model, or a predictor: its `.model`) after checking that it does
    the student's task on the data's labels; a ValueError that says what differs."""
    if hasattr(teacher, "model") and hasattr(teacher, "preproc") and not isinstance(teacher, keras.Model):
        theirs, ours = teacher.preproc, preproc
        if getattr(theirs, "task", None) != getattr(ours, "task", None):
            raise ValueError(f"The teacher predictor does {theirs.task!r} but the training data is {ours.task!r}.")
        if list(theirs.get_classes()) != list(ours.get_classes()):
            raise ValueError(f"The teacher's labels {list(theirs.get_classes())} differ from the training data's "
                             f"{list(ours.get_classes())}: its soft targets would name other classes. Load the data "
                             "with the teacher's label order (or fine-tune a teacher on this data).")
        teacher = teacher.model
    if not isinstance(teacher, keras.Model):
        raise TypeError(f"teacher must be a keras.Model or a kbert predictor, got {type(teacher).__name__}.")
    find_encoder(teacher)
    if teacher.name != student.name:
        raise ValueError(f"The teacher is a {teacher.name} but the student a {student.name}: distillation needs "
                         "the same task (make the student with kbert.distill.student(teacher)).")
    t_shape, s_shape = tuple(teacher.outputs[0].shape[1:]), tuple(student.outputs[0].shape[1:])
    if t_shape != s_shape:
        raise ValueError(f"The teacher's outputs {t_shape} and the student's {s_shape} differ: a teacher of "
                         "another label set (or task) can not give soft targets for this student.")
    classes = list(preproc.get_classes()) if output_kind(preproc) != "values" else [None]
    if classes and t_shape[-1] not in (None, len(classes)) and output_kind(preproc) != "spans":
        raise ValueError(f"The teacher gives {t_shape[-1]} outputs per example but the training data has "
                         f"{len(classes)} labels {classes[:10]}: a teacher of another label set.")
    return teacher
