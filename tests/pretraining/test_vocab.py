"""kbert.pretraining.vocab: WordPiece vocabularies trained on a corpus, saved and loaded, and
the errors of empty or damaged corpora and vocabulary files."""

import pytest

from kbert.errors import DataError
from kbert.pretraining import build_vocabulary, corpus_from_files, corpus_from_texts, load_vocabulary

from .test_corpus import gzip_fixtures


def test_build_vocabulary_reserved_first_and_saved(tmp_path):
    # WordPiece keeps only pieces seen often enough: the texts are repeated
    corpus = corpus_from_texts(["The cat sat on the mat. The dog sat on the log. " * 40,
                                "Cats and dogs are sitting; mats and logs are lying. " * 40])
    path = tmp_path / "vocab.txt"
    vocab = build_vocabulary(corpus, vocabulary_size=200, path=path)
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert 5 < len(vocab) <= 200 and len(set(vocab)) == len(vocab)
    assert "the" in vocab and "The" not in vocab  # lowercased
    assert any(t.startswith("##") for t in vocab)
    assert load_vocabulary(path) == vocab
    with pytest.raises(ValueError, match="missing"):
        build_vocabulary(corpus, vocabulary_size=100, reserved_tokens=["[PAD]", "[UNK]"])


def test_empty_corpus_is_a_data_error(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(DataError, match=r"the corpus holds no words \(files \[.*empty.txt'\]\)"):
        build_vocabulary(corpus_from_files([empty]), vocabulary_size=50)
    with pytest.raises(DataError, match=r"the corpus holds no words \(a list of 0 texts\)"):
        build_vocabulary([], vocabulary_size=50)
    with pytest.raises(DataError, match=r"corpus items \[1\] are not strings"):
        build_vocabulary(["fine", None], vocabulary_size=50)


def test_damaged_gzip_met_inside_tf_data_is_named(tmp_path):
    truncated, plain = gzip_fixtures(tmp_path)
    # the corpus streams through tf.data, which wraps errors; the reader's own DataError comes back
    with pytest.raises(DataError, match=r"cut.txt.gz: the gzip file is truncated"):
        build_vocabulary(corpus_from_files([truncated]), vocabulary_size=50)
    with pytest.raises(DataError, match=r"plain.txt.gz: not a gzip file"):
        build_vocabulary(corpus_from_files([plain]), vocabulary_size=50)


def test_load_vocabulary_checks_the_file(tmp_path):
    path = tmp_path / "vocab.txt"
    special = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"
    path.write_text(special + "cat\r\ndog\n")
    assert load_vocabulary(path)[5:] == ["cat", "dog"]
    path.write_text(special + "cat\n\ndog\n")
    with pytest.raises(DataError, match=r"vocab.txt, line 7: an empty line"):
        load_vocabulary(path)
    path.write_text(special + "cat\ndog\ncat\n")
    with pytest.raises(DataError, match=r"vocab.txt, line 8: token 'cat' is listed again \(first on line 6\)"):
        load_vocabulary(path)
    path.write_text("[PAD]\n[UNK]\ncat\n")
    with pytest.raises(DataError, match=r"lacks BERT's special tokens \['\[CLS\]', '\[SEP\]', '\[MASK\]'\]"):
        load_vocabulary(path)
    path.write_text("")
    with pytest.raises(DataError, match="vocabulary file is empty"):
        load_vocabulary(path)
