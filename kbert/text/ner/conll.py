"""CoNLL column files and IOB tags.

    sentences, tags = read_conll("eng.train")     # IOB1 is converted to IOB2
"""

import io
import os
import re

from kbert.errors import DataError
from kbert.io import read_text


def iob1_to_iob2(tags):
    """IOB1 → IOB2: an I-X that starts an entity (after O, or after another type) becomes B-X.
    IOB2 input comes back unchanged."""
    out, prev = [], "O"
    for tag in tags:
        if tag.startswith("I-") and (prev == "O" or prev[2:] != tag[2:]):
            tag = "B-" + tag[2:]
        out.append(tag)
        prev = tag
    return out


def check_tag(tag, where):
    if tag != "O" and not re.fullmatch(r"[BIES]-.+", tag):
        raise DataError(f"{where}: tag {tag!r} is not IOB (O, B-TYPE or I-TYPE).")


def read_conll(path, word_column=0, tag_column=-1, encoding="utf-8", documents=False):
    """Reads CoNLL column format → (sentences, tags): lists of word lists and tag lists.

    Blank lines and -DOCSTART- lines end sentences (a -DOCSTART- with no blank line before
    it still ends the sentence above: documents never merge); -DOCSTART- lines are
    dropped. Every token line must have the same number of columns as the file's first
    one (else an error names the file and line). IOB1 tags are converted to IOB2.

    Args:
        path: the file.
        word_column, tag_column: the columns of the word and its tag.
        encoding: the file's text encoding (bytes that are not valid in it are an error
            naming the byte offset and line).
        documents: also return each sentence's document id: 0 for the sentences before the
            second -DOCSTART- line, then one more per -DOCSTART- line (a file without them is
            one document).

    Returns:
        (sentences, tags): lists of word lists and tag lists; (sentences, tags, document
        ids) with documents=True.

    Example:
    >>> # sentences, tags = read_conll("eng.train")
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"CoNLL file {path!r} does not exist.")
    text = read_text(path, encoding, to=" to entities_from_conll or read_conll")
    sentences, tags, words, wtags, doc_ids = [], [], [], [], []
    n_columns, converted, doc = None, 0, 0
    for lineno, line in enumerate(io.StringIO(text, newline=None), start=1):
        parts = line.split()
        if not parts or parts[0] == "-DOCSTART-":
            if words:
                sentences.append(words)
                tags.append(wtags)
                doc_ids.append(doc)
                words, wtags = [], []
            # the first -DOCSTART- opens document 0 as a file without them is
            doc += bool(parts) and bool(sentences)
            continue
        if n_columns is None:
            n_columns = len(parts)
            if max(word_column, tag_column) >= n_columns or min(word_column, tag_column) < -n_columns:
                raise DataError(f"{path}, line {lineno}: has {n_columns} columns; word_column={word_column} "
                                f"and tag_column={tag_column} do not fit.")
        if len(parts) != n_columns:
            raise DataError(f"{path}, line {lineno}: {len(parts)} columns where the file's first token line "
                            f"has {n_columns}: {line.rstrip()!r}")
        check_tag(parts[tag_column], f"{path}, line {lineno}")
        words.append(parts[word_column])
        wtags.append(parts[tag_column])
    if words:
        sentences.append(words)
        tags.append(wtags)
        doc_ids.append(doc)
    if not sentences:
        raise DataError(f"CoNLL file {path!r} holds no sentences.")
    normalised = []
    for t in tags:
        n = iob1_to_iob2(t)
        converted += sum(a != b for a, b in zip(t, n))
        normalised.append(n)
    if converted:
        print(f"kbert: {path}: IOB1 tags detected; {converted} tags converted to IOB2.")
    return (sentences, normalised, doc_ids) if documents else (sentences, normalised)
