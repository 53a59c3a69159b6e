"""texts_from_folder, as ktrain's: a folder of train/test folders, one subfolder per class,
one text per file.

    datadir/train/pos/1.txt, datadir/train/neg/2.txt, ..., datadir/test/pos/..., datadir/test/neg/...
    trn, val, preproc = texts_from_folder("datadir")
"""

import os

import pandas as pd

from kbert.errors import DataError
from kbert.text.classification.loaders import texts_from_df

LAYOUT = "datadir/<train>/<class>/<file> (and datadir/<test>/<class>/<file>)"


def read_class_folders(folder, classes=None, encoding="utf-8"):
    """One row per file of `folder`'s class subfolders → DataFrame (text, label, file)."""
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Folder {folder!r} does not exist; texts_from_folder reads {LAYOUT}.")
    entries = sorted(os.listdir(folder))
    found = [e for e in entries if os.path.isdir(os.path.join(folder, e)) and not e.startswith(".")]
    loose = [e for e in entries if os.path.isfile(os.path.join(folder, e)) and not e.startswith(".")]
    if classes is not None:
        missing = [c for c in classes if c not in found]
        if missing:
            raise DataError(f"{folder!r} has no class folder(s) {missing}; its class folders are {found}.")
        found = sorted(classes)
    rows, hidden = [], 0
    for label in found:
        sub = os.path.join(folder, label)
        for name in sorted(os.listdir(sub)):
            path = os.path.join(sub, name)
            if name.startswith(".") or not os.path.isfile(path):
                hidden += name.startswith(".")
                continue
            try:
                with open(path, encoding=encoding) as f:
                    text = f.read()
            except UnicodeDecodeError as e:
                raise DataError(f"{path!r} is not {encoding} text ({e.reason} at byte {e.start}); pass "
                                "texts_from_folder its encoding, e.g. encoding='latin-1'.") from None
            rows.append({"text": text, "label": label, "file": path})
    if loose:
        print(f"kbert: {len(loose)} files directly in {folder!r} (not in a class folder) were not read.")
    if hidden:
        print(f"kbert: {hidden} hidden files (names starting with '.') in {folder!r}'s class folders were not read.")
    return pd.DataFrame(rows, columns=["text", "label", "file"]), found


def texts_from_folder(datadir, classes=None, max_features=None, maxlen=128, ngram_range=None,
                      train_test_names=("train", "test"), preprocess_mode=None, encoding=None, lang=None,
                      val_pct=0.1, random_state=42, verbose=1, preset=None, fixed_shapes=False, **long_document):
    """ktrain's texts_from_folder: `datadir/train/<class>/*` (and `datadir/test/<class>/*`),
    one text per file → (train TaskData, val TaskData, preprocessor).

    Args:
        datadir: the folder holding the train (and test) folders.
        classes: the class folders to read (None: all); the classes are their sorted names.
        train_test_names: the names of the train and test folders; one name: val_pct of
            the train folder is held out for validation.
        encoding: of the text files (None: utf-8); a file that does not decode is named.
        maxlen, preset, preprocess_mode, val_pct, random_state, fixed_shapes, verbose: as
            texts_from_df; max_features, ngram_range, lang: ktrain's word-id options, ignored.
        long_document, stride, max_windows, pooling: long texts read in overlapping windows
            (as texts_from_df's).

    Returns:
        (trn, val, preproc); each data set's `source` has the text, label and file of each row.

    Example:
    >>> # trn, val, preproc = kbert.text.texts_from_folder("aclImdb", classes=["pos", "neg"])
    """
    names = [train_test_names] if isinstance(train_test_names, str) else list(train_test_names)
    if len(names) not in (1, 2):
        raise ValueError(f"train_test_names must name 1 or 2 folders (train[, test]), got {names}.")
    if not os.path.isdir(datadir):
        raise FileNotFoundError(f"Folder {datadir!r} does not exist; texts_from_folder reads {LAYOUT}.")
    encoding = encoding or "utf-8"
    train_dir = os.path.join(datadir, names[0])
    train_df, found = read_class_folders(train_dir, classes, encoding)
    counts = train_df["label"].value_counts()
    empty = [c for c in found if counts.get(c, 0) == 0]
    if empty:
        raise DataError(f"Class folder(s) {[os.path.join(train_dir, c) for c in empty]} hold no files.")
    if len(found) < 2:
        raise DataError(f"{train_dir!r} has {len(found)} class folder(s) {found}; a classifier needs at least two "
                        f"({LAYOUT}).")
    val_df = None
    if len(names) == 2:
        test_dir = os.path.join(datadir, names[1])
        if not os.path.isdir(test_dir):
            raise FileNotFoundError(f"Folder {test_dir!r} does not exist; texts_from_folder reads {LAYOUT} "
                                    f"(train_test_names=[{names[0]!r}] holds out val_pct of the train folder).")
        test_classes = [e for e in sorted(os.listdir(test_dir))
                        if os.path.isdir(os.path.join(test_dir, e)) and not e.startswith(".")]
        extra = [c for c in test_classes if c not in found]
        if extra and classes is None:
            raise DataError(f"{test_dir!r} has class folder(s) {extra} that {train_dir!r} lacks; the training "
                            f"classes are {found}.")
        val_df, _ = read_class_folders(test_dir, [c for c in test_classes if c in found], encoding)
        if len(val_df) == 0:
            raise DataError(f"{test_dir!r} holds no files in its class folders.")
    return texts_from_df(train_df, "text", "label", val_df=val_df, val_pct=val_pct, maxlen=maxlen, preset=preset,
                         random_state=random_state, fixed_shapes=fixed_shapes, verbose=verbose,
                         preprocess_mode=preprocess_mode, max_features=max_features, ngram_range=ngram_range,
                         lang=lang, **long_document)
