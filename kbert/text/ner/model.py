"""The sequence tagger: an encoder + a tag head on every piece, a dense layer (kbert's
default) or ktrain's BiLSTM head (`head="bilstm"`, and ktrain's tagger names).

    model = sequence_tagger(preproc)                                  # kbert's form
    model = sequence_tagger("bilstm-transformer", preproc)            # ktrain's form: BiLSTM head
"""

import warnings

import keras

from kbert.models import build_task_model, dense_head, encode
from kbert.text.ner.preprocessor import NERPreprocessor
from kbert.text.ner.shapes import WordShapeEmbedding

HEADS = ("dense", "bilstm")
# ktrain's taggers, in print_sequence_taggers' order
TAGGERS = {
    "bilstm": "Bidirectional LSTM (https://arxiv.org/abs/1603.01360)",
    "bilstm-transformer": "Bidirectional LSTM w/ transformer embeddings (multlingual BERT is default)",
    "bilstm-crf": "Bidirectional LSTM-CRF  (https://arxiv.org/abs/1603.01360)",
    "bilstm-elmo": "Bidirectional LSTM w/ Elmo embeddings [English only]",
    "bilstm-crf-elmo": "Bidirectional LSTM-CRF w/ Elmo embeddings [English only]",
}
ALIASES = {"bilstm-bert": "bilstm-transformer"}
# word_shapes=None: shapes for uncased tokenizers, as measured (benchmarks/ner_quality.py, minilm,
# 6,000 eng.train sentences × 2 epochs, all of eng.testa: entity F1 0.8441 → 0.8565 (seed 42) and
# 0.8450 → 0.8568 (seed 7); 4,000 × 1: 0.665 → 0.718; only the 2,000 × 1 run lost, 0.435 → 0.374).
# A cased tokenizer sees capitalisation already.
SHAPES_WHEN_UNCASED = True


def print_sequence_taggers():
    """Prints ktrain's tagger names and what each builds in kbert."""
    for name, text in TAGGERS.items():
        print(f"{name}: {text} — kbert: the fine-tuned encoder (the loader's preset) + BiLSTM(100) + "
              "Dense(100, tanh) + tag logits (no CRF, no word/character/ELMo embeddings)")


def bilstm_head(num_tags, lstm_units=100, fc_dim=100, dropout=0.1):
    """ktrain's bilstm-transformer layers over the encoder's pieces: dropout, a BiLSTM that
    skips padding (masked by padding_mask), Dense(fc_dim, tanh), then the tag logits."""

    def apply(sequence, padding_mask):
        x = keras.layers.Dropout(dropout, name="tagger_dropout")(sequence)
        # a boolean mask: Keras carries it on to the logits, where the loss combines it with its own
        mask = keras.ops.cast(padding_mask, "bool")
        x = keras.layers.Bidirectional(keras.layers.LSTM(lstm_units, return_sequences=True), name="tagger_bilstm")(
            x, mask=mask)
        x = keras.layers.Dense(fc_dim, activation="tanh", name="tagger_dense")(x)
        return dense_head(num_tags, 0.0, dropout_name="logits_dropout")(x)

    return apply


def sequence_tagger(name=None, preproc=None, wv_path_or_url=None, transformer_model=None,
                    transformer_layers_to_use=None, bert_model=None, word_embedding_dim=None, char_embedding_dim=None,
                    word_lstm_size=100, char_lstm_size=None, fc_dim=100, dropout=None, verbose=1, *, head=None,
                    fine_tune=None, precision=None, strategy=None, encoder=None, seed=None, word_shapes=None):
    """A compiled keras.Model: the encoder + a tag head on every piece.

    kbert's form `sequence_tagger(preproc)` puts a dense head on the encoder and fine-tunes
    it; ktrain's form `sequence_tagger("bilstm-transformer", preproc, transformer_model=...)`
    (and ktrain's other names) puts ktrain's BiLSTM head on the encoder's features with the
    encoder frozen, as ktrain builds it, so that ktrain's rates (`learner.fit(0.01, 1)`) train
    the head without wrecking the encoder (measured on CoNLL-2003, MiniLM, one epoch, batch 128:
    entity F1 0.736 on eng.testa frozen at 0.01; the BiLSTM head fine-tuned at a constant 2e-4
    learns nothing in that epoch). `fine_tune=` overrides.

    Args:
        name: kbert's form: the preprocessor; ktrain's form: a tagger name (see
            print_sequence_taggers; "bilstm-bert" is "bilstm-transformer").
        preproc: the NERPreprocessor from entities_from_conll / _df / _array / _txt.
        transformer_model: ktrain's encoder name; the encoder is `encoder` if given, else
            this, else the preset the data was tokenized for (its vocabulary must match).
        bert_model: ktrain's deprecated name of transformer_model.
        word_lstm_size, fc_dim: the BiLSTM's units and the tanh layer's width (bilstm head).
        dropout: dropout before the head (default 0.1).
        verbose: ktrain's form prints the head it builds.
        head: "dense" (kbert's default) or "bilstm" (ktrain's names' default).
        fine_tune: train the encoder too (default: True in kbert's form, False for ktrain's
            names, whose encoder gives frozen features); `learner.unfreeze()` also unfreezes it.
        wv_path_or_url, transformer_layers_to_use, word_embedding_dim, char_embedding_dim,
            char_lstm_size: ktrain's word/character embedding options; noted and ignored.
        precision: "float32", "mixed_bfloat16", "mixed_float16" or "auto" (kbert.precision);
            None: `kbert.precision.default_precision()` ("auto" unless set).
        strategy: a tf.distribute strategy or its name.
        encoder: a load_encoder spec.
        seed: seeds the head's initial weights.
        word_shapes: add a learned vector per word shape (Xxxx, XXXX, xxxx, dd, mixed,
            punctuation: kbert.text.ner.shapes) to each word's first piece before the head,
            the capitalisation an uncased tokenizer loses. The model then reads a
            "shape_ids" input, which the preprocessor's data carries from now on
            (`preproc.word_shapes` is set to this). None: on for a lowercasing
            tokenizer (minilm, bert-base-uncased), off for a cased one (SHAPES_WHEN_UNCASED).

    Returns:
        A compiled keras.Model with logits [batch, pieces, tags] and masked softmax cross-entropy.

    Example:
    >>> # model = kbert.text.sequence_tagger(preproc)
    >>> # model = kbert.text.sequence_tagger("bilstm-transformer", preproc)
    """
    if isinstance(name, NERPreprocessor):
        if preproc is not None and preproc is not name:
            raise ValueError("sequence_tagger got two preprocessors.")
        name, preproc = None, name
    if name is not None:
        if not isinstance(name, str):
            raise TypeError(f"sequence_tagger takes a tagger name or a preprocessor, got {type(name).__name__}.")
        name = ALIASES.get(name, name)
        if name not in TAGGERS:
            raise ValueError(f"invalid name for sequence_tagger: {name!r}; ktrain's names are {sorted(TAGGERS)} "
                             "(print_sequence_taggers()).")
    if not isinstance(preproc, NERPreprocessor):
        raise TypeError("sequence_tagger needs the preprocessor returned by entities_from_conll/df/array.")
    if bert_model is not None:
        warnings.warn("bert_model is deprecated (as in ktrain); use transformer_model.", DeprecationWarning,
                      stacklevel=2)
        transformer_model = transformer_model or bert_model
    head = head or ("dense" if name is None else "bilstm")
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, got {head!r}.")
    given = {k: v for k, v in (("wv_path_or_url", wv_path_or_url),
                               ("transformer_layers_to_use", transformer_layers_to_use),
                               ("word_embedding_dim", word_embedding_dim), ("char_embedding_dim", char_embedding_dim),
                               ("char_lstm_size", char_lstm_size)) if v is not None}
    if given:
        print(f"kbert: note: {', '.join(f'{k}={v!r}' for k, v in given.items())} shape ktrain's word/character "
              "embeddings or its choice of transformer layers — not in kbert's tagger (it reads the encoder's last "
              "layer); ignored.")
    if name in ("bilstm-crf", "bilstm-crf-elmo"):
        print(f"kbert: {name!r}: no CRF layer (as ktrain in TensorFlow 2): a BiLSTM head with a softmax loss.")
    spec = encoder if encoder is not None else transformer_model
    dropout = 0.1 if dropout is None else dropout
    fine_tune = (name is None) if fine_tune is None else bool(fine_tune)
    if name is not None and verbose:
        print(f"kbert: {name}: encoder {spec or preproc.preset!r} ({'fine-tuned' if fine_tune else 'frozen features'}) + "
              + (f"BiLSTM({word_lstm_size}) + Dense({fc_dim}, tanh) + " if head == "bilstm" else "")
              + f"{preproc.num_outputs} tag logits")

    if word_shapes is None:
        word_shapes = SHAPES_WHEN_UNCASED and bool(getattr(preproc.tokenizer, "lowercase", False))
    # the data made before this model carries the shapes from now on (see NERData.features)
    preproc.word_shapes = bool(word_shapes)

    def build(backbone, inputs):
        backbone.trainable = fine_tune
        x = encode(backbone, inputs)["sequence_output"]
        if word_shapes:
            x = WordShapeEmbedding(name="word_shapes")(x, inputs["shape_ids"])
        if head == "bilstm":
            return bilstm_head(preproc.num_outputs, word_lstm_size, fc_dim, dropout)(x, inputs["padding_mask"])
        return dense_head(preproc.num_outputs, dropout, dropout_name="tagger_dropout")(x)

    # the [CLS] pooler is unused by a tagger
    return build_task_model(preproc, build, name="kbert_sequence_tagger", precision=precision, strategy=strategy,
                            encoder=spec, seed=seed, learning_rate=5e-5, uses_pooler=False,
                            extra_inputs=("shape_ids",) if word_shapes else ())


