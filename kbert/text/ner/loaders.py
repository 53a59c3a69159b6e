"""NER loaders, as ktrain's: entities_from_conll (and ktrain's entities_from_conll2003 and
entities_from_txt), entities_from_df, entities_from_array.

    trn, val, preproc = entities_from_conll("eng.train", val_filepath="eng.testa", preset="minilm")

Every sentence is checked before the train/validation split, so errors name the caller's
sentence index (and word), not a position after shuffling.
"""

import numpy as np

from kbert import io
from kbert.data import set_fixed_shapes
from kbert.encoders import load_tokenizer
from kbert.errors import DataError, format_rows, require_columns
from kbert.text.ner.conll import check_tag, iob1_to_iob2, read_conll
from kbert.text.ner.context import document_ids, documents_of
from kbert.text.ner.preprocessor import NERPreprocessor

DEFAULT_PRESET = "minilm"


def note_use_char(use_char):
    if use_char:
        print("kbert: note: use_char=True adds ktrain's character embeddings to its BiLSTM word models — no "
              "effect on a BERT encoder's word pieces; ignored.")


def check_columns(df, columns, df_name):
    """Each column exists, once (kbert.errors.require_columns)."""
    require_columns(df, columns, df_name)


def sentences_from_df(df, word_column, tag_column, sentence_column, df_name, document_column=None):
    """(sentences, tags, documents): documents is one id per sentence (its first row's
    document_column, empty cells continuing the document above), or None without a column."""
    check_columns(df, (word_column, tag_column, sentence_column) + ((document_column,) if document_column else ()),
                  df_name)
    # ktrain's format: the sentence id is given on a sentence's first row only
    ids = df[sentence_column].ffill()
    if ids.isna().any():
        raise DataError(f"{df_name} column {sentence_column!r} is empty before the first sentence id "
                        f"(index {format_rows(df.index[ids.isna()])}).")
    for c in (word_column, tag_column):
        missing = df[c].isna()
        if missing.any():
            raise DataError(f"{df_name} column {c!r} has missing values at index {format_rows(df.index[missing])}.")
    docs = None
    if document_column:
        docs = df[document_column].ffill()
        if docs.isna().any():
            raise DataError(f"{df_name} column {document_column!r} is empty before the first document id "
                            f"(index {format_rows(df.index[docs.isna()])}).")
    sentences, tags, documents = [], [], []
    for _, group in df.groupby(ids, sort=False):
        sentences.append([str(w) for w in group[word_column]])
        t = [str(x) for x in group[tag_column]]
        for tag, idx in zip(t, group.index):
            check_tag(tag, f"{df_name} index {idx}")
        tags.append(t)
        if docs is not None:
            documents.append(docs[group.index[0]])
    return sentences, tags, (documents if docs is not None else None)


def tag_set(tag_lists):
    tags = sorted({t for ts in tag_lists for t in ts})
    # "O" first, then entity tags grouped by type (B before I)
    return (["O"] if "O" in tags else []) + sorted((t for t in tags if t != "O"), key=lambda t: (t[2:], t[:2]))


def check_unseen(tags, tag_lists, name):
    known = set(tags)
    bad = {}
    for i, ts in enumerate(tag_lists):
        for t in ts:
            if t not in known:
                bad.setdefault(t, []).append(i)
    if bad:
        parts = "; ".join(f"{t!r} in sentences {format_rows(sorted(set(ix)), 5)}" for t, ix in bad.items())
        raise DataError(f"{name} has tags not seen in the training data: {parts}. Known tags: {tags}.")


def check_sentences(x, y, x_name, y_name):
    """Word lists and IOB tag lists of equal lengths → (words, IOB2 tags); errors name the
    caller's sentence index."""
    if isinstance(x, str) or isinstance(y, str):
        raise DataError(f"{x_name} and {y_name} must be lists of sentences (word lists and tag lists), not a string.")
    x, y = list(x), list(y)
    if len(x) != len(y):
        raise DataError(f"{x_name} has {len(x)} sentences but {y_name} has {len(y)} tag lists; give one tag list "
                        "per sentence.")
    words, tags, converted = [], [], 0
    for i, (s, t) in enumerate(zip(x, y)):
        for value, what in ((s, x_name), (t, y_name)):
            if isinstance(value, str):
                raise DataError(f"{what}[{i}] is a string; give a list of {'words' if what == x_name else 'tags'} "
                                "(e.g. sentence.split()).")
        s, t = list(s), [str(v) for v in t]
        if len(s) != len(t):
            raise DataError(f"{x_name} sentence {i} has {len(s)} words but {y_name}[{i}] has {len(t)} tags.")
        for j, w in enumerate(s):
            if not isinstance(w, str):
                raise DataError(f"{x_name} sentence {i}, word {j} is {w!r}, not a string.")
        for j, tag in enumerate(t):
            check_tag(tag, f"{y_name} sentence {i}, word {j} ({s[j]!r})")
        iob2 = iob1_to_iob2(t)
        converted += sum(a != b for a, b in zip(t, iob2))
        words.append(s)
        tags.append(iob2)
    if converted:
        print(f"kbert: {y_name}: IOB1 tags detected; {converted} tags converted to IOB2.")
    return words, tags


def split_sentences(x, y, val_pct, random_state, documents=None):
    """Holds out ceil(n * val_pct) sentences; validation sentences with a tag the training
    part lost are moved back to training (and counted). With `documents` (one id per
    sentence, runs of one id a document), whole documents are held out instead, each split
    keeping its sentences in order → (x, y, xv, yv, train documents, val documents)."""
    from sklearn.model_selection import train_test_split

    if not 0 < val_pct < 1:
        raise DataError(f"val_pct must be between 0 and 1 (exclusive), got {val_pct}.")
    units = [[i] for i in range(len(x))] if documents is None else document_units(documents)
    what = "sentences" if documents is None else "documents"
    n_val = int(np.ceil(len(units) * val_pct))
    if len(units) - n_val < 1 or n_val < 1:
        raise DataError(f"{len(units)} {what}: too few to hold out val_pct={val_pct}; pass validation data.")
    trn_u, val_u = train_test_split(np.arange(len(units)), test_size=n_val, random_state=random_state)
    if documents is not None:  # whole documents, in order
        trn_u, val_u = np.sort(trn_u), np.sort(val_u)
    trn = np.asarray([i for u in trn_u for i in units[u]], dtype=np.int64)
    val = np.asarray([i for u in val_u for i in units[u]], dtype=np.int64)
    known = {t for i in trn for t in y[i]}
    move = np.array([any(t not in known for t in y[i]) for i in val])
    if move.any():
        lost = sorted({t for i in val[move] for t in y[i] if t not in known})
        if move.all():
            raise DataError(f"The validation split (val_pct={val_pct}) holds out every sentence with tag(s) {lost} "
                            f"(sentences {format_rows(val[move])}): the training part would lose them, and moving them "
                            "back would leave no validation sentences. Pass validation data, lower val_pct or add "
                            "sentences.")
        print(f"kbert: the validation split (val_pct={val_pct}) held out every sentence with tag(s) {lost}; "
              f"{int(move.sum())} of them (sentences {format_rows(val[move], 5)}) were moved back to training, so "
              f"validation has {int((~move).sum())} sentences instead of {len(val)}.")
        trn, val = np.concatenate([trn, val[move]]), val[~move]
    if documents is not None:
        trn = np.sort(trn)  # a moved sentence goes back to its place in its document
    out = [x[i] for i in trn], [y[i] for i in trn], [x[i] for i in val], [y[i] for i in val]
    if documents is None:
        return out
    return out + ([documents[i] for i in trn], [documents[i] for i in val])


def document_units(documents):
    """Sentence indices of each document (runs of one id)."""
    units = []
    for i, d in enumerate(document_ids(documents)):
        if d == len(units):
            units.append([])
        units[d].append(i)
    return units


def entities_from_array(x_train, y_train, x_test=None, y_test=None, use_char=False, val_pct=0.1, verbose=1,
                        maxlen=128, preset=None, stride=None, random_state=42, fixed_shapes=False,
                        document_context=False, train_documents=None, test_documents=None):
    """Lists of word lists and tag lists → (train, val, preprocessor), as ktrain's
    entities_from_array.

    Args:
        x_train, y_train: sentences (lists of words) and their tags (IOB1 or IOB2; → IOB2).
        x_test, y_test: validation sentences and tags (None: val_pct of the training
            sentences are held out).
        use_char: ktrain's character embeddings; ignored (noted).
        maxlen: word pieces per window; longer sentences are read in overlapping windows.
        preset: the encoder spec (default "minilm").
        stride: words shared by consecutive windows.
        fixed_shapes: static batch shapes for TPUs.
        document_context: read each sentence in a window filled with the neighbouring
            sentences of its document (as BERT evaluated CoNLL-2003); only its own words
            carry tags. Without val data, whole documents are held out.
        train_documents, test_documents: one document id per sentence of x_train / x_test
            (consecutive sentences with one id are a document); None: all of them are one
            document (with document_context).

    Returns:
        (trn, val, preproc).

    Example:
    >>> # trn, val, preproc = kbert.text.entities_from_array([["John", "lives", "here"]], [["B-PER", "O", "O"]])
    """
    note_use_char(use_char)
    x_train, y_train = check_sentences(x_train, y_train, "x_train", "y_train")
    if not x_train:
        raise DataError("x_train has no sentences.")
    if (x_test is None) != (y_test is None):
        raise DataError("Give both x_test and y_test (or neither: val_pct of the training sentences are held out).")
    docs, val_docs = None, None
    if document_context:
        docs = documents_of(train_documents if train_documents is not None else [0] * len(x_train), len(x_train),
                            "train_documents")
    elif train_documents is not None or test_documents is not None:
        raise DataError("train_documents/test_documents are read with document_context=True only.")
    if x_test is None:
        if test_documents is not None:
            raise DataError("test_documents was given without x_test.")
        x_train, y_train, x_test, y_test, *split_docs = split_sentences(x_train, y_train, val_pct, random_state, docs)
        docs, val_docs = split_docs or (None, None)
    else:
        x_test, y_test = check_sentences(x_test, y_test, "x_test", "y_test")
        if document_context:
            val_docs = documents_of(test_documents if test_documents is not None else [0] * len(x_test),
                                    len(x_test), "test_documents")
    tags = tag_set(y_train)
    check_unseen(tags, y_test, "The validation data")
    preproc = NERPreprocessor(load_tokenizer(preset or DEFAULT_PRESET), tags, maxlen, stride, preset or DEFAULT_PRESET,
                              document_context=document_context)
    trn = preproc.encode(x_train, y_train, "train", verbose, documents=docs)
    val = preproc.encode(x_test, y_test, "val", verbose, documents=val_docs)
    set_fixed_shapes(fixed_shapes, trn, val)
    return trn, val, preproc


def read_conll_file(path, word_column, tag_column, encoding):
    """(sentences, tags, document ids) of a CoNLL file."""
    encoding = encoding or "utf-8"
    try:
        return read_conll(path, word_column, tag_column, encoding, documents=True)
    except UnicodeDecodeError as e:
        raise DataError(f"{path!r} is not {encoding} text ({e.reason} at byte {e.start}); pass its encoding, "
                        "e.g. encoding='latin-1'.") from None


def entities_from_conll(train_filepath, val_filepath=None, word_column=0, tag_column=-1, val_pct=0.1,
                        maxlen=128, preset=None, stride=None, random_state=42, encoding="utf-8",
                        fixed_shapes=False, verbose=1, use_char=False, document_context=False):
    """CoNLL column files → (train, val, preprocessor). IOB1 or IOB2 tags (→ IOB2).

    Args:
        train_filepath, val_filepath: CoNLL files (a word and its tag per line, blank lines
            between sentences, -DOCSTART- lines between documents).
        word_column, tag_column: the columns of the word and the tag (default: first, last).
        document_context: each sentence is read with the neighbouring sentences of its
            document (between -DOCSTART- lines; a file without them is one document) filling
            its window, as BERT's "maximal document context"; only its own words are tagged.
        Others: as entities_from_array.

    Example:
    >>> # trn, val, preproc = kbert.text.entities_from_conll("eng.train", val_filepath="eng.testa")
    >>> # trn, val, preproc = kbert.text.entities_from_conll("eng.train", "eng.testa", document_context=True)
    """
    x, y, docs = read_conll_file(train_filepath, word_column, tag_column, encoding)
    xv = yv = val_docs = None
    if val_filepath is not None:
        xv, yv, val_docs = read_conll_file(val_filepath, word_column, tag_column, encoding)
    return entities_from_array(x, y, xv, yv, use_char=use_char, val_pct=val_pct, verbose=verbose, maxlen=maxlen,
                               preset=preset, stride=stride, random_state=random_state, fixed_shapes=fixed_shapes,
                               document_context=document_context, train_documents=docs if document_context else None,
                               test_documents=val_docs if document_context else None)


def entities_from_conll2003(train_filepath, val_filepath=None, use_char=False, encoding=None, val_pct=0.1,
                            verbose=1, **kwargs):
    """ktrain's entities_from_conll2003 (its argument order): entities_from_conll with the
    word in the first column and the tag in the last. kwargs: maxlen, preset, stride,
    random_state, fixed_shapes, document_context.

    Example:
    >>> # trn, val, preproc = kbert.text.entities_from_conll2003("eng.train", "eng.testa")
    """
    return entities_from_conll(train_filepath, val_filepath, val_pct=val_pct, encoding=encoding, verbose=verbose,
                               use_char=use_char, **kwargs)


def entities_from_txt(train_filepath, val_filepath=None, use_char=False, word_column="Word", tag_column="Tag",
                      sentence_column="SentenceID", data_format="conll2003", encoding=None, val_pct=0.1, verbose=1,
                      **kwargs):
    """ktrain's entities_from_txt: CoNLL-like columns of words and tags.

    Args:
        data_format: "conll2003" (a word and its tag per line, word first and tag last,
            blank lines between sentences; the column names are not used) or "gmb" (a
            table with a header: word_column, tag_column and sentence_column, the sentence
            id on a sentence's first row, as GMB's ner_dataset.csv).
        encoding: of the files (None: utf-8; GMB's file is latin-1).
        kwargs: maxlen, preset, stride, random_state, fixed_shapes.

    Example:
    >>> # trn, val, preproc = kbert.text.entities_from_txt("ner_dataset.csv", data_format="gmb",
    >>> #                                                  sentence_column="Sentence #", encoding="latin-1")
    """
    if data_format == "conll2003":
        return entities_from_conll2003(train_filepath, val_filepath, use_char=use_char, encoding=encoding,
                                       val_pct=val_pct, verbose=verbose, **kwargs)
    if data_format != "gmb":
        raise ValueError(f"data_format must be 'conll2003' or 'gmb', got {data_format!r}.")
    encoding = encoding or "utf-8"
    frames = []
    for path in (train_filepath, val_filepath):
        if path is None:
            frames.append(None)
            continue
        try:
            frames.append(io.read_table(path, None, encoding))
        except UnicodeDecodeError as e:
            raise DataError(f"{path!r} is not {encoding} text ({e.reason} at byte {e.start}); pass its encoding, "
                            "e.g. encoding='latin-1' (GMB's ner_dataset.csv).") from None
    return entities_from_df(frames[0], frames[1], word_column, tag_column, sentence_column, use_char=use_char,
                            val_pct=val_pct, verbose=verbose, **kwargs)


def entities_from_df(train_df, val_df=None, word_column="Word", tag_column="Tag", sentence_column="SentenceID",
                     use_char=False, val_pct=0.1, verbose=1, maxlen=128, preset=None, stride=None, random_state=42,
                     fixed_shapes=False, document_column=None, document_context=None):
    """One row per word (as ktrain, and in ktrain's argument order): words, tags and a
    sentence id (given on a sentence's first row at least; empty cells continue the
    sentence above).

    Args:
        document_column: a column of document ids (on a document's first row at least;
            empty cells continue the document above); consecutive sentences with one id
            are a document.
        document_context: read each sentence with its document's neighbouring sentences
            (see entities_from_array); default: True when document_column is given.
        Others: as entities_from_array.

    Example:
    >>> # trn, val, preproc = kbert.text.entities_from_df(df, word_column="Word", tag_column="Tag")
    >>> # trn, val, preproc = kbert.text.entities_from_df(df, document_column="DocID")  # document context
    """
    if val_df is not None and not hasattr(val_df, "columns"):
        raise TypeError(f"entities_from_df's second argument is val_df (a DataFrame), as in ktrain; got "
                        f"{val_df!r}. Name the columns: word_column=..., tag_column=..., sentence_column=....")
    if len(train_df) == 0:
        raise DataError("train_df has no rows.")
    document_context = document_column is not None if document_context is None else bool(document_context)
    if document_column is None and document_context:
        print("kbert: document_context=True without document_column: each DataFrame is read as one document.")
    x, y, docs = sentences_from_df(train_df, word_column, tag_column, sentence_column, "train_df", document_column)
    xv = yv = val_docs = None
    if val_df is not None:
        xv, yv, val_docs = sentences_from_df(val_df, word_column, tag_column, sentence_column, "val_df",
                                             document_column)
    return entities_from_array(x, y, xv, yv, use_char=use_char, val_pct=val_pct, verbose=verbose, maxlen=maxlen,
                               preset=preset, stride=stride, random_state=random_state, fixed_shapes=fixed_shapes,
                               document_context=document_context, train_documents=docs if document_context else None,
                               test_documents=val_docs if document_context else None)
