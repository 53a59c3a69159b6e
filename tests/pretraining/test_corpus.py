import gzip

import pytest

from kbert.pretraining import build_vocabulary, corpus_from_files, corpus_from_texts, load_vocabulary, split_sentences
from kbert.text.classification import DataError


def test_split_sentences_rule():
    text = ('Mr. Smith went to Washington. He said, "Hello there!" Then he left? '
            "J. S. Bach wrote music. 3 cats sat. it stays in one sentence")
    assert split_sentences(text) == [
        "Mr. Smith went to Washington.",
        'He said, "Hello there!"',
        "Then he left?",
        "J. S. Bach wrote music.",
        "3 cats sat. it stays in one sentence",
    ]


def test_corpus_from_files_documents_paragraphs_and_gzip(tmp_path):
    text = ("CHAPTER I\n\nThe first line is\nwrapped here. Second sentence.\n\nA new paragraph.\n"
            "CHAPTER II\n\nOther chapter text. More of it!\n")
    plain = tmp_path / "book.txt"
    plain.write_text(text, encoding="utf-8")
    zipped = tmp_path / "book2.txt.gz"
    with gzip.open(zipped, "wt", encoding="utf-8") as f:
        f.write("Only one document here. Two sentences.\n")
    corpus = corpus_from_files([plain, zipped], doc_separator=r"^CHAPTER [IVX]+$")
    docs = list(corpus)
    assert docs == [
        ["The first line is wrapped here.", "Second sentence.", "A new paragraph."],
        ["Other chapter text.", "More of it!"],
        ["Only one document here.", "Two sentences."],
    ]
    assert list(corpus) == docs  # re-iterable: the files are read again
    assert corpus.stats == {"files": 2, "documents": 3, "paragraphs": 4, "sentences": 7,
                            "characters": sum(len(s) for d in docs for s in d)}
    # a stream into tf.data
    assert [s.decode() for s in corpus.dataset().as_numpy_iterator()] == [s for d in docs for s in d]
    limited = corpus_from_files([plain, zipped], doc_separator=r"^CHAPTER [IVX]+$", max_sentences=4)
    assert sum(len(d) for d in limited) == 4


def test_corpus_errors_name_the_file_and_line(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        corpus_from_files([tmp_path / "nope.txt"])
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"good line\nsecond\n\xff\xfe broken\n")
    with pytest.raises(DataError, match=r"bad.txt: line 3 is not valid utf-8"):
        list(corpus_from_files([bad]))


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
