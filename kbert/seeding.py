"""One seed for Python, NumPy, TensorFlow and Keras, that keeps tokenizers working.

`keras.utils.set_random_seed` calls `tf.random.set_seed`, which clears TensorFlow's kernel
cache; the SentencePiece op of a tokenizer made before it (ALBERT, XLM-R, DeBERTa-v3) is
then gone ("Resource …SentencepieceOp does not exist" on the next tokenization). `set_seed`
rebuilds those tokenizers' ops from their own model bytes.

Example:
>>> set_seed(0)
"""

import keras


def set_seed(seed, tokenizers=()):
    """Seeds every generator (keras.utils.set_random_seed) and rebuilds the SentencePiece ops of
    `tokenizers` that the seeding dropped.

    Args:
        seed: an int.
        tokenizers: keras-hub tokenizers in use (any kind; only SentencePiece ones need it).
    """
    keras.utils.set_random_seed(seed)
    for tokenizer in tokenizers:
        proto = getattr(tokenizer, "proto", None)
        if proto is not None:
            tokenizer.set_proto(proto)
