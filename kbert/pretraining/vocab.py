"""WordPiece vocabularies: trained on a corpus with keras-hub's tools, saved as vocab.txt."""

import os
import tempfile

import keras_hub
import tensorflow as tf

from kbert.errors import DataError
from kbert.io import read_text_lines

RESERVED_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def build_vocabulary(corpus, vocabulary_size=8000, lowercase=True, reserved_tokens=RESERVED_TOKENS,
                     strip_accents=False, path=None):
    """Trains a WordPiece vocabulary on a corpus (keras_hub.tokenizers.compute_word_piece_vocabulary).

    Args:
        corpus: a kbert Corpus (streamed through tf.data) or a list of strings.
        vocabulary_size: the most tokens, reserved ones included.
        lowercase, strip_accents: the normalisation of the texts.
        reserved_tokens: first in the vocabulary; must hold BERT's special tokens.
        path: also write the vocabulary there (vocab.txt).

    Returns:
        The list of tokens, reserved tokens first. An empty corpus, or a damaged corpus file
        (met while tf.data streams it), is a DataError naming the files.

    Example:
    >>> # vocab = build_vocabulary(corpus_from_files(["train.txt.gz"]), vocabulary_size=8000)
    """
    reserved = list(reserved_tokens)
    missing = [t for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]") if t not in reserved]
    if missing:
        raise ValueError(f"reserved_tokens must hold BERT's special tokens; missing {missing}.")
    if vocabulary_size <= len(reserved):
        raise ValueError(f"vocabulary_size={vocabulary_size} leaves no room beside {len(reserved)} reserved tokens.")
    if isinstance(corpus, (list, tuple)):
        bad = [i for i, t in enumerate(corpus) if not isinstance(t, str)]
        if bad:
            raise DataError(f"build_vocabulary: corpus items {bad[:10]} are not strings (the first is a "
                            f"{type(corpus[bad[0]]).__name__}); give a list of texts or a kbert Corpus.")
        data = tf.data.Dataset.from_tensor_slices(tf.constant(list(corpus), dtype=tf.string))
    else:
        data = corpus.dataset()
    try:
        vocab = keras_hub.tokenizers.compute_word_piece_vocabulary(
            data.batch(1024), vocabulary_size=vocabulary_size, lowercase=lowercase,
            strip_accents=strip_accents, reserved_tokens=reserved,
        )
    except tf.errors.OpError:
        # tf.data wrapped the corpus reader's error (a damaged file): raise the reader's own
        error = getattr(corpus, "stream_error", None)
        if error is not None:
            raise error from None
        raise
    except StopIteration:  # tensorflow-text's word counter on an empty stream
        raise DataError(f"build_vocabulary: the corpus holds no words ({describe(corpus)}). Check that the texts or "
                        "files hold text, and that doc_separator, min_chars or max_sentences do not drop it all."
                        ) from None
    vocab = list(vocab)
    if len(vocab) <= len(reserved):
        raise DataError(f"build_vocabulary: the corpus gave no word pieces ({describe(corpus)}): is it empty?")
    if path is not None:
        save_vocabulary(vocab, path)
    return vocab


def describe(corpus):
    if isinstance(corpus, (list, tuple)):
        return f"a list of {len(corpus)} texts"
    paths = getattr(corpus, "paths", None)
    return f"files {paths}" if paths else repr(corpus)


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
    """A vocab.txt (one token per line, UTF-8) → list of tokens.

    An empty file, an empty line, a token listed twice or a missing special token ([PAD],
    [UNK], [CLS], [SEP], [MASK]) is a DataError naming the file and line: each would
    silently give a tokenizer whose ids do not match the file.

    Example:
    >>> # vocab = load_vocabulary("my-vocab/vocab.txt")
    """
    path = os.fspath(path)
    vocab = read_text_lines(path)
    if not vocab:
        raise DataError(f"{path}: the vocabulary file is empty.")
    seen = {}
    for n, token in enumerate(vocab, 1):
        token = token.removesuffix("\r")
        if not token.strip():
            raise DataError(f"{path}, line {n}: an empty line; a vocabulary holds one token per line, and an empty "
                            "line would shift the ids of the tokens after it.")
        if token in seen:
            raise DataError(f"{path}, line {n}: token {token!r} is listed again (first on line {seen[token]}); "
                            "each token must appear once, or the ids of the later tokens shift.")
        seen[token] = n
        vocab[n - 1] = token
    missing = [t for t in RESERVED_TOKENS if t not in seen]
    if missing:
        raise DataError(f"{path}: the vocabulary lacks BERT's special tokens {missing}.")
    return vocab
