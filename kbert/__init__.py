"""kbert: a Keras 3 trainer for BERT in the style of ktrain.

    trn, val, preproc = kbert.text.texts_from_df(train_df, "text", "label", val_df=val_df)
    learner = kbert.get_learner(kbert.text.text_classifier(preproc), trn, val, batch_size=32)
    learner.fit_onecycle(1e-4, 3)
    kbert.get_predictor(learner.model, preproc).save("my-predictor")
"""

import os

# kbert runs on Keras' TensorFlow backend (tf.data, tf-text and tf.distribute); the
# backend must be chosen before Keras is first imported.
_backend = os.environ.setdefault("KERAS_BACKEND", "tensorflow")
if _backend != "tensorflow":
    raise ImportError(
        f"kbert needs Keras' TensorFlow backend, but KERAS_BACKEND={_backend!r}. "
        "Unset it or set KERAS_BACKEND=tensorflow before importing kbert."
    )
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

from kbert import distribute  # noqa: E402
from kbert import optimizers  # noqa: E402
from kbert import pretraining  # noqa: E402
from kbert import text  # noqa: E402
from kbert.encoders import load_encoder  # noqa: E402
from kbert.learner import Learner, get_learner  # noqa: E402
from kbert.predictors import get_predictor, load_predictor  # noqa: E402

__all__ = [
    "Learner",
    "distribute",
    "get_learner",
    "get_predictor",
    "load_encoder",
    "load_predictor",
    "optimizers",
    "pretraining",
    "text",
]
