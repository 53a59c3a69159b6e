"""kbert.pretraining.corpus: the sentence rule, documents and paragraphs, and damaged files."""

import gzip

import pytest

from kbert.pretraining import corpus_from_files, split_sentences
from kbert.errors import DataError


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
                            "characters": sum(len(s) for d in docs for s in d), "empty_sources": 0}
    # a stream into tf.data
    assert [s.decode() for s in corpus.dataset().as_numpy_iterator()] == [s for d in docs for s in d]
    limited = corpus_from_files([plain, zipped], doc_separator=r"^CHAPTER [IVX]+$", max_sentences=4)
    assert sum(len(d) for d in limited) == 4


def test_corpus_errors_name_the_file_and_line(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        corpus_from_files([tmp_path / "nope.txt"])
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"good line\nsecond\n\xff\xfe broken\n")
    with pytest.raises(DataError, match=r"bad.txt: line 3 \(byte offset 17\) is not valid utf-8 text: b'\\xff'.*"
                                        r"pass it to corpus_from_files as encoding="):
        list(corpus_from_files([bad]))
    assert list(corpus_from_files([bad], encoding="latin-1")) == [["good line second ÿþ broken"]]


def gzip_fixtures(tmp_path):
    """A truncated gzip (its last 100 bytes cut) and a plain text file named .gz."""
    text = "".join(f"Sentence number {i} is here. It has {i * 7919 % 1009} words.\n" for i in range(400))
    packed = gzip.compress(text.encode())
    assert len(packed) > 1000
    truncated = tmp_path / "cut.txt.gz"
    truncated.write_bytes(packed[:-100])
    plain = tmp_path / "plain.txt.gz"
    plain.write_text(text)
    return truncated, plain


def test_damaged_gzip_corpus_files_are_named(tmp_path):
    truncated, plain = gzip_fixtures(tmp_path)
    with pytest.raises(DataError, match=r"cut.txt.gz: the gzip file is truncated: its compressed data ends early, "
                                        r"after line \d+ of its text"):
        list(corpus_from_files([truncated]))
    with pytest.raises(DataError, match=r"plain.txt.gz: not a gzip file, though its name ends in .gz"):
        list(corpus_from_files([plain]))


def test_sources_without_text_are_counted(tmp_path, capsys):
    good, empty = tmp_path / "good.txt", tmp_path / "empty.txt.gz"
    good.write_text("One sentence here.\n")
    empty.write_bytes(gzip.compress(b"\n\n"))
    corpus = corpus_from_files([good, empty])
    assert list(corpus) == [["One sentence here."]] and list(corpus) == [["One sentence here."]]
    assert corpus.stats["empty_sources"] == 1
    out = capsys.readouterr().out
    assert out.count("corpus: 1 of 2 sources gave no text") == 1 and "empty.txt.gz" in out  # told once
