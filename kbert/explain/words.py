"""Words of a text with character offsets, and the text with some words left out: the units
that explanations weigh."""

import re

# runs of letters/digits (with inner apostrophes, hyphens or dots: "don't", "well-known",
# "U.S"), or any other single non-space character (the NER predictor's word splitter)
WORD_RE = re.compile(r"\w+(?:[-'’.]\w+)*|[^\w\s]")


def split_words(text):
    """Splits a text into words with character offsets.

    Args:
        text: a string.

    Returns:
        [(word, start, end), ...] with text[start:end] == word.

    Example:
    >>> split_words("I don't know!")
    [('I', 0, 1), ("don't", 2, 7), ('know', 8, 12), ('!', 12, 13)]
    """
    return [(m.group(), m.start(), m.end()) for m in WORD_RE.finditer(text)]


def without_words(text, spans, keep):
    """The text with the words whose `keep` flag is false cut out (with the spaces before
    them, so that no double spaces are left); every other character stays as it was.

    Args:
        text: the string the spans index.
        spans: [(word, start, end), ...] from `split_words`.
        keep: one truthy/falsy flag per span.

    Example:
    >>> t = "so very happy"
    >>> without_words(t, split_words(t), [1, 0, 1])
    'so happy'
    """
    out, pos = [], 0
    for (_, start, end), k in zip(spans, keep):
        if k:
            continue
        cut = start
        while cut > pos and text[cut - 1].isspace():
            cut -= 1
        if cut == 0:  # a removed first word takes the spaces after it instead
            while end < len(text) and text[end].isspace():
                end += 1
        out.append(text[pos:cut])
        pos = end
    out.append(text[pos:])
    return "".join(out)
