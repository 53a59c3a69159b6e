"""Knowledge distillation (DistilBERT's recipe): a smaller, faster student from any
fine-tuned teacher, for classification, NER and QA.

    student.py  `student(teacher_model, num_layers=None, layers=None)`: the teacher's model
                with fewer encoder layers, started from the teacher's weights
    loss.py     the distillation loss (soft targets at a temperature, mixed with the task's)
    model.py    `Distiller`: the Keras model the Learner trains when given a teacher

Example:
>>> # small = kbert.distill.student(teacher_model, num_layers=3)
>>> # learner = kbert.get_learner(small, trn, val, teacher=teacher_model, temperature=2.0, alpha=0.5)
>>> # learner.fit_onecycle(5e-5, 2); kbert.get_predictor(learner.model, preproc).save("student")
"""

from kbert.distill.loss import hidden_distance, output_kind, soft_loss
from kbert.distill.model import Distiller, check_teacher, with_row_ids
from kbert.distill.student import encoder_blocks, find_encoder, kept_layers, student

__all__ = ["Distiller", "check_teacher", "encoder_blocks", "find_encoder", "hidden_distance", "kept_layers", "output_kind",
           "soft_loss", "student", "with_row_ids"]
