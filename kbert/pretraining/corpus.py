"""Plain-text corpora as a stream of documents, each a list of sentences.

    corpus = corpus_from_files(["train.txt.gz"], doc_separator=r"^CHAPTER [IVXLC]+")

Rules (simple and documented, not a linguistic parser):
- a document is a file, or a section of one when `doc_separator` (a regex matched
  against each line) is given: a matching line starts a new document and is dropped;
- paragraphs are separated by blank lines; the wrapped lines of a paragraph are joined
  with single spaces;
- a paragraph is split into sentences after `.`, `!` or `?` (plus any closing quotes or
  brackets) followed by whitespace and an upper-case letter, a digit or an opening
  quote, except after common abbreviations (Mr., Mrs., Dr., St., …) and single
  initials ("J. S. Bach").

Files are read line by line and documents are produced one at a time, so a corpus
larger than memory streams (`Corpus.dataset()` feeds tf.data from a generator).
"""

import gzip
import os
import re

import tensorflow as tf

from kbert.errors import DataError
from kbert.io import GZIP_ERRORS, gzip_error

ABBREVIATIONS = frozenset(
    "mr mrs ms dr st prof sr jr vs etc mt no gen col capt lt sgt rev hon fr ft e.g i.e".split()
)
_BOUNDARY = re.compile(r"""(?<=[.!?])(["'”’)\]»]*)\s+(?=["'“‘(\[«]*[A-Z0-9À-ÖØ-Þ])""")


def split_sentences(paragraph):
    """Splits one paragraph into sentences (see the module's rules)."""
    paragraph = " ".join(paragraph.split())
    if not paragraph:
        return []
    sentences, start = [], 0
    for m in _BOUNDARY.finditer(paragraph):
        head = paragraph[start:m.start()]
        last = head.rsplit(" ", 1)[-1].rstrip(".!?").lower().lstrip("\"'“‘([«")
        if head.endswith(".") and (last in ABBREVIATIONS or (len(last) == 1 and last.isalpha())):
            continue  # "Mr. Smith", "J. S. Bach": not a boundary
        sentences.append(paragraph[start:m.end(1)].strip())
        start = m.end()
    sentences.append(paragraph[start:].strip())
    return [s for s in sentences if s]


def _open(path):
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def _read_lines(f, path):
    """A binary file's lines; gzip damage (not gzip, truncated, corrupt) → a DataError naming
    the file and the last line read."""
    n = 0
    while True:
        try:
            raw = f.readline()
        except GZIP_ERRORS as e:
            where = f", after line {n} of its text" if n else ", before its first line"
            raise gzip_error(path, e, where) from None
        if not raw:
            return
        n += 1
        yield raw


class Corpus:
    """A re-iterable stream of documents (lists of sentences) from text files or strings.

    Iterating reads the sources again; nothing but the current document is held.
    `stats` holds the counts of the last complete pass.
    """

    def __init__(self, paths=None, texts=None, doc_separator=None, encoding="utf-8", min_chars=1,
                 max_sentences=None):
        if (paths is None) == (texts is None):
            raise ValueError("Give paths (files) or texts (strings), not both.")
        if paths is not None:
            paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
            paths = [os.fspath(p) for p in paths]
            if not paths:
                raise DataError("corpus_from_files got no files.")
            missing = [p for p in paths if not os.path.isfile(p)]
            if missing:
                raise FileNotFoundError(f"Corpus files not found: {missing}.")
        self.paths = paths
        self.texts = None if texts is None else list(texts)
        self.doc_separator = None if doc_separator is None else re.compile(doc_separator)
        self.encoding = encoding
        self.min_chars = int(min_chars)
        self.max_sentences = None if max_sentences is None else int(max_sentences)
        self.stats = {}
        self.stream_error = None  # the error that ended the last dataset() stream, if any
        self._told_empty = False

    # --- sources → lines
    def _sources(self):
        if self.texts is not None:
            for i, text in enumerate(self.texts):
                if not isinstance(text, str):
                    raise DataError(f"Corpus text {i} is a {type(text).__name__}, expected a string.")
                yield f"text {i}", iter(text.splitlines())
            return
        for path in self.paths:
            yield path, self._lines(path)

    def _lines(self, path):
        # bytes are decoded line by line, so that an error names its line and byte offset
        offset = 0
        with _open(path) as f:
            for n, raw in enumerate(_read_lines(f, path), 1):
                try:
                    line = raw.decode(self.encoding)
                except UnicodeDecodeError as e:
                    of = " of the uncompressed text" if path.endswith(".gz") else ""
                    raise DataError(f"{path}: line {n} (byte offset {offset + e.start}{of}) is not valid "
                                    f"{self.encoding} text: {raw[e.start:e.end]!r} ({e.reason}). The file is in "
                                    "another encoding: pass it to corpus_from_files as encoding=…, e.g. "
                                    "encoding='latin-1'.") from None
                offset += len(raw)
                yield line.rstrip("\r\n")

    # --- lines → documents
    def documents(self):
        """Yields documents, each a list of sentence strings (empty documents skipped)."""
        stats = {"files": 0, "documents": 0, "paragraphs": 0, "sentences": 0, "characters": 0}
        empty = []
        for source, lines in self._sources():
            stats["files"] += 1
            before = stats["documents"]
            doc, para = [], []

            def flush_paragraph():
                if para:
                    sents = [s for s in split_sentences(" ".join(para)) if len(s) >= self.min_chars]
                    if sents:
                        stats["paragraphs"] += 1
                        doc.extend(sents)
                    para.clear()

            for line in lines:
                if self.doc_separator is not None and self.doc_separator.search(line):
                    flush_paragraph()
                    if doc:
                        yield self._count(doc, stats)
                        doc = []
                    continue
                if line.strip():
                    para.append(line.strip())
                else:
                    flush_paragraph()
            flush_paragraph()
            if doc:
                yield self._count(doc, stats)
            if stats["documents"] == before:
                empty.append(source)
        stats["empty_sources"] = len(empty)
        if empty and not self._told_empty:  # once per corpus, not at every pass
            self._told_empty = True
            print(f"kbert: corpus: {len(empty)} of {stats['files']} sources gave no text: "
                  f"{empty[:5]}{' …' if len(empty) > 5 else ''}.")
        self.stats = stats

    @staticmethod
    def _count(doc, stats):
        stats["documents"] += 1
        stats["sentences"] += len(doc)
        stats["characters"] += sum(len(s) for s in doc)
        return doc

    def __iter__(self):
        if self.max_sentences is None:
            yield from self.documents()
            return
        left = self.max_sentences
        for doc in self.documents():
            if left <= 0:
                return
            yield doc[:left]
            left -= len(doc)

    def sentences(self):
        for doc in self:
            yield from doc

    def dataset(self):
        """The sentences as a `tf.data.Dataset` of strings, streamed from a generator.

        tf.data wraps an error of the generator (a damaged file) in a tf.errors.UnknownError;
        the original error is kept in `stream_error`, for callers to raise it again
        (build_vocabulary does)."""
        self.stream_error = None

        def sentences():
            try:
                yield from self.sentences()
            except Exception as e:
                self.stream_error = e
                raise

        return tf.data.Dataset.from_generator(sentences, output_signature=tf.TensorSpec((), tf.string))

    def __repr__(self):
        src = f"{len(self.paths)} files" if self.paths is not None else f"{len(self.texts)} texts"
        return f"Corpus({src}, doc_separator={None if self.doc_separator is None else self.doc_separator.pattern!r})"


def corpus_from_files(paths, doc_separator=None, encoding="utf-8", min_chars=1, max_sentences=None):
    """Text files (.txt, .raw, or gzipped .gz) → a streaming `Corpus` (see the module's rules).

    doc_separator: a regex; a line matching it starts a new document (e.g. chapter headings).
    min_chars: sentences shorter than this are dropped.
    max_sentences: stop after this many sentences (quick runs on a corpus's beginning).
    """
    return Corpus(paths=paths, doc_separator=doc_separator, encoding=encoding, min_chars=min_chars,
                  max_sentences=max_sentences)


def corpus_from_texts(texts, doc_separator=None, min_chars=1):
    """Strings (one per document) → a `Corpus`, for small corpora held in memory."""
    return Corpus(texts=texts, doc_separator=doc_separator, min_chars=min_chars)
