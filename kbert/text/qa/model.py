"""The extractive QA model: an encoder + start/end logits per piece."""

import keras

from kbert.models import build_task_model, encode
from kbert.text.qa.preprocessor import QAPreprocessor


@keras.saving.register_keras_serializable(package="kbert")
class SpanLogits(keras.layers.Layer):
    """Dense start/end logits per piece, with padding pushed to -1e9 (never chosen)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(2, kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
                                        dtype=self.dtype_policy, name="span")

    def build(self, input_shape):
        self.dense.build(input_shape[0])

    def call(self, inputs):
        x, mask = inputs
        logits = keras.ops.cast(self.dense(x), "float32")
        mask = keras.ops.cast(keras.ops.expand_dims(mask, -1), "float32")
        return logits + (1.0 - mask) * -1e9


def qa_model(preproc, dropout=0.1, precision=None, strategy=None, encoder=None, seed=None):
    """A compiled keras.Model: encoder + dropout + start/end span head (logits [batch, pieces, 2]).

    Args:
        preproc: the QAPreprocessor from qa_from_squad / qa_from_df.
        dropout: dropout before the head.
        precision: "float32", "mixed_bfloat16", "mixed_float16" or "auto" (kbert.precision);
            None: `kbert.precision.default_precision()` ("auto" unless set).
        strategy: a tf.distribute strategy or its name.
        encoder: a load_encoder spec; default: the preset the data was tokenized for.
        seed: seeds the head's initial weights.

    Returns:
        A compiled keras.Model; padding positions get logits of -1e9 (never chosen).

    Example:
    >>> # model = kbert.text.qa_model(preproc)
    """
    if not isinstance(preproc, QAPreprocessor):
        raise TypeError("qa_model needs the preprocessor returned by qa_from_squad / qa_from_df.")

    def head(backbone, inputs):
        x = encode(backbone, inputs)["sequence_output"]
        x = keras.layers.Dropout(dropout, name="span_dropout")(x)
        return SpanLogits(name="span_logits", dtype="float32")([x, inputs["padding_mask"]])

    # the [CLS] pooler is unused by a span head
    return build_task_model(preproc, head, name="kbert_qa", precision=precision, strategy=strategy,
                            encoder=encoder, seed=seed, learning_rate=5e-5, uses_pooler=False)
