"""Document context for NER, as BERT evaluated CoNLL-2003 ("maximal document context"): each
window holds one centre sentence and, around it, as many whole words of the neighbouring
sentences of its document as fit; only the centre sentence's words are tagged.

    documents = document_ids(["d1", "d1", "d2"])            → [0, 0, 1]
    left, right = context_words(doc_pieces, first, last, budget)
"""

from kbert.errors import DataError


def document_ids(ids, name="documents"):
    """One document id per sentence (any hashable values) → small ints, a new one each time
    the id changes (documents are runs of consecutive sentences: a document id met again
    after another document is a separate document, as CoNLL's -DOCSTART- lines make them).

    Example:
    >>> document_ids(["a", "a", "b", "a"])
    [0, 0, 1, 2]
    """
    out, prev, current = [], object(), -1
    for i, d in enumerate(ids):
        if d is None or d != d:  # None or NaN
            raise DataError(f"{name}[{i}] is empty; give every sentence a document id.")
        if d != prev:
            current += 1
            prev = d
        out.append(current)
    return out


def context_words(n_pieces, first, last, budget):
    """The words around a centre span of a document that fit a window, balanced left/right.

    Whole words are added one at a time, to the side that holds fewer pieces so far (the
    other side when the next word there does not fit), until neither side's next word fits.

    Args:
        n_pieces: pieces per word of the whole document (its sentences' words in order).
        first, last: the centre sentence's words are first..last-1.
        budget: pieces the window may hold (the centre's included).

    Returns:
        (start, end): the window holds the document's words start..end-1
        (start <= first, end >= last).

    Example:
    >>> context_words([1, 1, 1, 1, 1, 1], 2, 4, budget=4)
    (1, 5)
    >>> context_words([3, 1, 1, 1, 1, 1], 2, 4, budget=4)
    (1, 5)
    """
    used = sum(n_pieces[first:last])
    start, end, left, right = first, last, 0, 0
    while True:
        fits_left = start > 0 and used + n_pieces[start - 1] <= budget
        fits_right = end < len(n_pieces) and used + n_pieces[end] <= budget
        if not (fits_left or fits_right):
            return start, end
        if fits_left and (left <= right or not fits_right):
            start -= 1
            left += n_pieces[start]
            used += n_pieces[start]
        else:
            used += n_pieces[end]
            right += n_pieces[end]
            end += 1


def documents_of(sentence_documents, n_sentences, name="documents"):
    """Checks one document id per sentence → the ints of document_ids."""
    ids = list(sentence_documents)
    if len(ids) != n_sentences:
        raise DataError(f"{name}: {len(ids)} document ids for {n_sentences} sentences; give one per sentence.")
    return document_ids(ids, name)


def document_spans(documents, offsets):
    """Per sentence, (first, last): the flat word indices of its document's words.

    Args:
        documents: the ints of document_ids, one per sentence.
        offsets: offsets[i] is sentence i's first word in the flat word list (and
            offsets[-1] the number of words).
    """
    spans, i = [None] * len(documents), 0
    while i < len(documents):
        j = i
        while j < len(documents) and documents[j] == documents[i]:
            j += 1
        for k in range(i, j):
            spans[k] = (int(offsets[i]), int(offsets[j]))
        i = j
    return spans
