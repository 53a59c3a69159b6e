"""WordPiece vocabularies: trained on a corpus with keras-hub's tools, saved as vocab.txt."""

import os
import tempfile

import keras_hub

from kbert.text.classification import DataError

RESERVED_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def build_vocabulary(corpus, vocabulary_size=8000, lowercase=True, reserved_tokens=RESERVED_TOKENS,
                     strip_accents=False, path=None):
    """Trains a WordPiece vocabulary on a corpus (keras_hub.tokenizers.compute_word_piece_vocabulary).

    corpus: a kbert Corpus (streamed through tf.data) or a list of strings.
    Returns the list of tokens (reserved tokens first); `path` also writes it as vocab.txt.
    """
    reserved = list(reserved_tokens)
    missing = [t for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]") if t not in reserved]
    if missing:
        raise ValueError(f"reserved_tokens must hold BERT's special tokens; missing {missing}.")
    if vocabulary_size <= len(reserved):
        raise ValueError(f"vocabulary_size={vocabulary_size} leaves no room beside {len(reserved)} reserved tokens.")
    if isinstance(corpus, (list, tuple)):
        import tensorflow as tf

        data = tf.data.Dataset.from_tensor_slices(tf.constant(list(corpus), dtype=tf.string))
    else:
        data = corpus.dataset()
    vocab = keras_hub.tokenizers.compute_word_piece_vocabulary(
        data.batch(1024), vocabulary_size=vocabulary_size, lowercase=lowercase,
        strip_accents=strip_accents, reserved_tokens=reserved,
    )
    vocab = list(vocab)
    if len(vocab) <= len(reserved):
        raise DataError("The corpus gave no word pieces: is it empty?")
    if path is not None:
        save_vocabulary(vocab, path)
    return vocab


def save_vocabulary(vocab, path):
    """Writes one token per line (vocab.txt), atomically."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".vocab-", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    os.replace(tmp, path)
    return path


def load_vocabulary(path):
    with open(path, encoding="utf-8") as f:
        vocab = f.read().splitlines()
    if not vocab:
        raise DataError(f"{path}: the vocabulary file is empty.")
    return vocab
