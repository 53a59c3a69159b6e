"""The text classifier (and regressor): an encoder of any family + a dense head on its pooled
output ([CLS]'s pooler for BERT and ALBERT, the first token's state for the families without
a pooler: RoBERTa, XLM-RoBERTa, DistilBERT, ELECTRA, DeBERTa-v3 — `kbert.models.encode`).

`text_classifier(preproc)` is kbert's form; ktrain's `text_classifier("bert", train_data=trn,
preproc=preproc)` and `text_regression_model("bert", ...)` build the same model.
"""

import keras

from kbert.data import TaskData
from kbert.families import family_of
from kbert.first_token import first_token_only
from kbert.models import INPUT_NAMES, build_task_model, dense_head, encode, encoder_inputs
from kbert.text.classification.labels import MULTILABEL, REGRESSION
from kbert.text.classification.pooling import FlattenWindows, UnflattenWindows, WindowPooling
from kbert.text.classification.preprocessor import TextClassificationPreprocessor

ENCODER_NAMES = ("bert", "distilbert")
# ktrain's models, in print_text_classifiers' order; the word-id ones are not in kbert
CLASSIFIERS = {
    "fasttext": "a fastText-like model [http://arxiv.org/pdf/1607.01759.pdf]",
    "logreg": "logistic regression using a trainable Embedding layer",
    "nbsvm": "NBSVM model [http://www.aclweb.org/anthology/P12-2018]",
    "bigru": "Bidirectional GRU with pretrained fasttext word vectors [https://fasttext.cc/docs/en/crawl-vectors.html]",
    "standard_gru": "simple 2-layer GRU with randomly initialized embeddings",
    "bert": "Bidirectional Encoder Representations from Transformers (BERT) [https://arxiv.org/abs/1810.04805]",
    "distilbert": "distilled, smaller, and faster BERT [https://arxiv.org/abs/1910.01108]",
}
REGRESSORS = {**{k: v for k, v in CLASSIFIERS.items() if k not in ("logreg", "nbsvm")},
              "linreg": "linear text regression using a trainable Embedding layer"}
KBERT_NOTE = ("kbert fine-tunes the encoder the data was tokenized for (the loader's preset, e.g. minilm, "
              "roberta-base) with a dense head on its first token")


def print_text_classifiers():
    """Prints ktrain's text classifier names and what each means in kbert."""
    print_models(CLASSIFIERS)


def print_text_regression_models():
    """Prints ktrain's text regression model names and what each means in kbert."""
    print_models({k: REGRESSORS[k] for k in ("fasttext", "linreg", "bigru", "standard_gru", "bert", "distilbert")})


def print_models(models):
    for name, text in models.items():
        where = KBERT_NOTE if name in ENCODER_NAMES else "ktrain's word-id model: not in kbert"
        print(f"{name}: {text} — {where}")


def resolve_preproc(name, train_data, preproc, builder):
    """kbert's `builder(preproc)` or ktrain's `builder(name, train_data, preproc)` → (name, preproc)."""
    if isinstance(name, TextClassificationPreprocessor):
        if preproc is not None and preproc is not name:
            raise ValueError(f"{builder} got two preprocessors.")
        name, preproc = None, name
    if name is not None:
        if not isinstance(name, str):
            raise TypeError(f"{builder} takes a model name or the preprocessor of texts_from_df/_array, "
                            f"got {type(name).__name__}.")
        if name not in ENCODER_NAMES:
            if name in CLASSIFIERS or name in REGRESSORS:
                raise ValueError(f"{name!r} is one of ktrain's word-id models, which kbert does not have; kbert "
                                 f"fine-tunes an encoder: {builder}('bert', train_data=trn, preproc=preproc).")
            raise ValueError(f"invalid name for {builder}: {name!r}; use 'bert' or 'distilbert' "
                             "(print_text_classifiers() lists ktrain's names).")
    data = train_data[0] if isinstance(train_data, tuple) and train_data else train_data
    if data is not None and not isinstance(data, TaskData):
        raise TypeError(f"train_data must come from texts_from_df/_array/_folder, got {type(data).__name__}.")
    if preproc is None and data is not None:
        preproc = data.preprocessor
    if not isinstance(preproc, TextClassificationPreprocessor):
        raise TypeError(f"{builder} needs the preprocessor returned by texts_from_df / texts_from_array.")
    if data is not None and data.preprocessor is not preproc:
        raise ValueError("train_data was made by another preprocessor than preproc.")
    if name == "distilbert" and family_of(preproc.tokenizer).name != "distilbert":
        print(f"kbert: {builder}('distilbert') uses the encoder the data was tokenized for, {encoder_name(preproc)} "
              "(load the data with preprocess_mode='distilbert' for DistilBERT).")
    return name, preproc


def encoder_name(preproc):
    """The preset as the user wrote it, or "a <family> encoder dict" (not its whole vocabulary)."""
    if isinstance(preproc.preset, str):
        return repr(preproc.preset)
    return f"a {family_of(preproc.tokenizer).name} encoder dict"


def note_metrics(metrics, preproc, defaults):
    if metrics is not None and list(metrics) not in defaults:
        names = [m.name for m in preproc.metrics()]
        print(f"kbert: metrics={list(metrics)} ignored: the Learner compiles the task's metrics {names}.")


def text_classifier(name=None, train_data=None, preproc=None, multilabel=None, metrics=None, verbose=1, *,
                    dropout=0.1, precision=None, strategy=None, encoder=None, seed=None):
    """A compiled `keras.Model`: the encoder + dropout + a dense head on its pooled output
    (BERT/ALBERT: the [CLS] pooler; other families: the first token's hidden state).

    Outputs logits; the loss is softmax cross-entropy (multi-class), sigmoid binary
    cross-entropy (multi-label) or mean squared error (regression).

    Args:
        name: kbert's form: the preprocessor (`text_classifier(preproc)`); ktrain's form: a
            model name, "bert" or "distilbert" (both: the encoder the data was tokenized for).
        train_data: ktrain's form: the training TaskData (or its `(x, y)` unpacking).
        preproc: the preprocessor of texts_from_df / _array / _folder (or a Transformer).
        multilabel: None (found from the data) or a check of it.
        metrics: ktrain's; the Learner compiles the task's metrics (other lists are noted).
        verbose: prints "Is Multi-Label?" in ktrain's form.
        dropout: dropout before the head.
        precision: "float32", "mixed_bfloat16", "mixed_float16" or "auto" (see kbert.precision);
            None: `kbert.precision.default_precision()` ("auto" unless set).
        strategy: a tf.distribute strategy or its name.
        encoder: a load_encoder spec; default: the preset the data was tokenized for (it
            must have the same vocabulary).
        seed: seeds the head's (and a fresh encoder's) initial weights.

    Returns:
        A compiled keras.Model.

    Example:
    >>> # model = kbert.text.text_classifier(preproc)
    >>> # model = kbert.text.text_classifier("bert", train_data=trn, preproc=preproc)   # ktrain's form
    """
    ktrain_form = isinstance(name, str)
    name, preproc = resolve_preproc(name, train_data, preproc, "text_classifier")
    if multilabel is not None and bool(multilabel) != (preproc.mode == MULTILABEL):
        raise ValueError(f"multilabel={multilabel} but the data is {preproc.mode} "
                         "(kbert finds it from the labels: leave multilabel out).")
    if ktrain_form and verbose:
        if preproc.mode == REGRESSION:
            print("kbert: the targets are numbers: building a regression model (ktrain: text_regression_model).")
        else:
            print(f"Is Multi-Label? {preproc.mode == MULTILABEL}")
    note_metrics(metrics, preproc, (["accuracy"], ["binary_accuracy"], ["mae"]))
    if getattr(preproc, "long_document", "truncate") == "windows":
        return build_task_model(
            preproc, name="kbert_document_classifier", precision=precision, strategy=strategy, encoder=encoder,
            seed=seed, model_fn=lambda backbone: build_document_classifier(backbone, preproc.num_outputs, dropout,
                                                                          preproc.pooling))
    return build_task_model(preproc, lambda backbone, inputs: build_head(backbone, inputs, preproc.num_outputs, dropout),
                            name="kbert_text_classifier", precision=precision, strategy=strategy, encoder=encoder,
                            seed=seed)


def text_regression_model(name=None, train_data=None, preproc=None, metrics=None, verbose=1, **kwargs):
    """ktrain's text_regression_model: text_classifier for numeric targets (one output, mean
    squared error, mean absolute error reported).

    Example:
    >>> # trn, val, preproc = kbert.text.texts_from_df(df, "text", "score")   # float scores
    >>> # model = kbert.text.text_regression_model("bert", train_data=trn, preproc=preproc)
    """
    name, preproc = resolve_preproc(name, train_data, preproc, "text_regression_model")
    if preproc.mode != REGRESSION:
        raise ValueError(f"text_regression_model needs numeric targets, but the data has classes "
                         f"{preproc.get_classes()}: use text_classifier, or load float targets "
                         "(or is_regression=True).")
    note_metrics(metrics, preproc, (["mae"],))
    return text_classifier(preproc, verbose=0, **kwargs)


def build_head(backbone, inputs, num_outputs, dropout=0.1):
    """Logits of a dense layer on the encoder's pooled output (`kbert.models.encode`); the
    encoder's last layer computes the first position alone (`kbert.first_token`)."""
    first_token_only(backbone)
    pooled = encode(backbone, inputs)["pooled_output"]
    return dense_head(num_outputs, dropout, dropout_name="classifier_dropout")(pooled)


def build_classifier(backbone, num_outputs, dropout=0.1):
    """An uncompiled classifier on a loaded backbone (the same layers as text_classifier's).
    The backbone's last layer then computes the first position alone (`kbert.first_token`):
    its "sequence_output" is [batch, 1, hidden]."""
    inputs = encoder_inputs()
    return keras.Model(inputs, build_head(backbone, inputs, num_outputs, dropout), name="kbert_text_classifier")


def build_document_classifier(backbone, num_outputs, dropout=0.1, pooling="mean"):
    """The document model of long documents read in windows (`long_document="windows"`):
    inputs [docs, windows, pieces]; every window goes through the encoder as one row
    ([docs·windows, pieces]), the windows' pooled vectors are pooled per document (empty
    windows left out; `WindowPooling`: "mean", "max" or a learned "attention"), and one
    dense head gives the document's logits. Training and prediction run the same graph.

    Example:
    >>> # model = build_document_classifier(backbone, 2, pooling="attention")
    """
    first_token_only(backbone)  # the windows' pooled vectors read [CLS] alone
    inputs = {name: keras.Input(shape=(None, None), dtype="int32", name=name) for name in INPUT_NAMES}
    flatten = FlattenWindows(name="flatten_windows")
    flat = {name: flatten(x) for name, x in inputs.items()}
    vectors = UnflattenWindows(name="unflatten_windows")(encode(backbone, flat)["pooled_output"], inputs["token_ids"])
    document = WindowPooling(pooling, name="window_pooling")(vectors, inputs["padding_mask"])
    logits = dense_head(num_outputs, dropout, dropout_name="classifier_dropout")(document)
    return keras.Model(inputs, logits, name="kbert_document_classifier")
