"""The one model builder every task uses: an encoder from `load_encoder` + a task head.

Seeding, precision, the strategy scope, the encoder checks (maxlen, vocabulary) and
compiling live here, so that a task only says what its head is.
"""

import keras

from kbert import distribute, optimizers
from kbert.backbones import find_backbone  # noqa: F401 (kbert.models.find_backbone: where callers look)
from kbert.encoders import load_encoder
from kbert.families import family_of
from kbert.precision import dtype_policy
from kbert.seeding import set_seed

INPUT_NAMES = ("token_ids", "segment_ids", "padding_mask")


def encoder_inputs(extra=()):
    """keras.Input per feature: [batch, pieces] int32 each."""
    return {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in INPUT_NAMES + tuple(extra)}


def encode(backbone, inputs):
    """Runs any family's backbone on kbert's inputs → {"sequence_output", "pooled_output"}.

    Families without segment ids (RoBERTa, DistilBERT, DeBERTa-v3, …) are not given them;
    families without a pretrained pooler get the first token's hidden state as their
    "pooled_output" (as Hugging Face's classification heads of those families read it).

    Example:
    >>> # x = encode(backbone, encoder_inputs())["pooled_output"]
    """
    family = family_of(backbone)
    feed = {"token_ids": inputs["token_ids"], "padding_mask": inputs["padding_mask"]}
    if family.segments:
        feed["segment_ids"] = inputs["segment_ids"]
    out = backbone(feed)
    if not isinstance(out, dict):
        out = {"sequence_output": out}
    if not family.pooler or "pooled_output" not in out:
        out = {"sequence_output": out["sequence_output"], "pooled_output": out["sequence_output"][:, 0, :]}
    return out


def freeze_unused_pooler(backbone):
    """Freezes a pooler that no head reads, so that no optimizer step asks for its gradients."""
    try:
        backbone.get_layer("pooled_dense").trainable = False
    except ValueError:  # the family has no pooler layer
        pass


def check_encoder(backbone, preproc):
    """The encoder fits the data: enough positions for maxlen and rows for the vocabulary."""
    if preproc.maxlen > backbone.max_sequence_length:
        raise ValueError(f"maxlen={preproc.maxlen} exceeds the encoder's {backbone.max_sequence_length} positions.")
    size = preproc.tokenizer.vocabulary_size()
    rows = vocabulary_rows(backbone)
    if rows < size:
        raise ValueError(f"The tokenizer has {size} pieces but the encoder embeds only {rows}.")


def vocabulary_rows(backbone):
    """Rows of the backbone's token embedding (ELECTRA calls its size vocab_size)."""
    return int(backbone.token_embedding.input_dim)


def build_task_model(preproc, head=None, name=None, precision=None, strategy=None, encoder=None, seed=None,
                     learning_rate=2e-5, uses_pooler=True, extra_inputs=(), check=None, model_fn=None,
                     check_vocabulary=True):
    """Builds and compiles a task model inside the strategy's scope.

    Args:
        preproc: the task's preprocessor (a `kbert.tasks.TaskPreprocessor`); its loss and
            metrics are compiled in, its `preset` is the default encoder.
        head: `head(backbone, inputs) -> outputs`, the task's layers on top of the encoder
            (a functional keras.Model named `name` is built from them).
        name: the keras.Model's name.
        model_fn: instead of head, `model_fn(backbone) -> keras.Model`, for task models that
            are their own (serialisable) classes.
        precision: "float32", "mixed_bfloat16", "mixed_float16" or "auto" (kbert.precision);
            None: `kbert.precision.default_precision()` ("auto" unless set).
        strategy: a tf.distribute strategy or its name (kbert.distribute.get_strategy).
        encoder: a `load_encoder` spec; default: the preset the data was tokenized for.
        seed: seeds the head's (and a fresh encoder's) initial weights.
        learning_rate: the compiled optimizer's rate (the Learner compiles its own).
        uses_pooler: False freezes the [CLS] pooler, so no optimizer step asks for its gradients.
        extra_inputs: more int32 [batch, n] inputs besides token_ids, segment_ids, padding_mask.
        check: `check(backbone, tokenizer)`, extra checks of the loaded encoder.
        check_vocabulary: when `encoder` is given, its tokenizer's vocabulary must be the one
            the data was tokenized with (else the model would read other pieces than trained).

    Returns:
        A compiled `keras.Model`.

    Example:
    >>> # model = build_task_model(preproc, lambda b, x: keras.layers.Dense(2)(encode(b, x)["pooled_output"]),
    >>> #                          name="my_classifier")
    """
    spec = preproc.preset if encoder is None else encoder
    if spec is None:
        raise ValueError("The preprocessor has no encoder preset; pass encoder=…")
    policy = dtype_policy(precision)
    strategy = distribute.get_strategy(strategy)
    if seed is not None:
        set_seed(seed, [preproc.tokenizer])
    with strategy.scope():
        backbone, tokenizer = load_encoder(spec, dtype=policy)
        check_encoder(backbone, preproc)
        if check_vocabulary and encoder is not None and tokenizer.get_vocabulary() != preproc.tokenizer.get_vocabulary():
            raise ValueError(f"Encoder {encoder!r}'s vocabulary differs from the one the data was tokenized with "
                             f"(preset {preproc.preset!r}); load the data with preset=<this encoder>.")
        if check is not None:
            check(backbone, tokenizer)
        if not uses_pooler or not family_of(backbone).pooler:
            freeze_unused_pooler(backbone)
        if model_fn is not None:
            model = model_fn(backbone)
        else:
            inputs = encoder_inputs(extra_inputs)
            model = keras.Model(inputs, head(backbone, inputs), name=name)
        model.compile(optimizer=optimizers.AdamW(learning_rate), loss=preproc.loss(), metrics=preproc.metrics())
    return model


def dense_head(units, dropout=0.1, dropout_name="head_dropout", name="logits"):
    """Dropout + a Dense layer of `units` logits, in float32 under mixed precision (a stable
    softmax and loss), initialised as BERT's heads (truncated normal, stddev 0.02)."""

    def apply(x):
        x = keras.layers.Dropout(dropout, name=dropout_name)(x)
        return keras.layers.Dense(units, kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
                                  name=name, dtype="float32")(x)

    return apply
