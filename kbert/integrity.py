"""SHA-256 checksums of the files in a folder, written on save and verified on load.

Saved predictors and exported encoders record a checksum of each of their files, so
that a file cut short, overwritten or swapped after saving is named on load instead of
loading quietly and predicting differently (HDF5 weights with damaged bytes still load;
a cut vocab.txt still builds a tokenizer).

Bottom floor: imports only kbert.errors and the standard library.
"""

import hashlib
import os

from kbert.errors import DataError

CHUNK = 1 << 20


def file_sha256(path):
    """The SHA-256 of a file's bytes, as 64 hex digits.

    Args:
        path: the file.

    Returns:
        A string of 64 lower-case hex digits.

    Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "a.txt")
    >>> open(path, "w").close()
    >>> file_sha256(path)[:16]
    'e3b0c44298fc1c14'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_checksums(folder, exclude=()):
    """SHA-256 of every file under `folder` (sub-folders included), keyed by its path
    relative to the folder with "/" separators, in sorted order.

    Args:
        folder: the folder.
        exclude: relative paths to leave out (the metadata file that will hold the checksums).

    Returns:
        A dict {relative path: hex digest}.

    Example:
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> open(os.path.join(folder, "a.txt"), "w").close()
    >>> list(folder_checksums(folder))
    ['a.txt']
    """
    found = {}
    for base, dirs, files in os.walk(folder):
        dirs.sort()
        for name in files:
            path = os.path.join(base, name)
            rel = os.path.relpath(path, folder).replace(os.sep, "/")
            if rel not in exclude:
                found[rel] = file_sha256(path)
    return dict(sorted(found.items()))


def verify_checksums(folder, expected, what, meta_name, error=DataError):
    """Checks each file listed in `expected` against its recorded SHA-256.

    Files present in the folder but not listed are not checked (nothing reads them).

    Args:
        folder: the folder.
        expected: {relative path: hex digest}, as `folder_checksums` wrote it.
        what: how messages name the folder ("Predictor folder '/x/y'").
        meta_name: the metadata file that recorded the checksums (named in messages).
        error: the exception class to raise.

    Raises:
        error: naming the first missing or damaged file, its size, and what to do.

    Example:
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> open(os.path.join(folder, "a.txt"), "w").close()
    >>> verify_checksums(folder, folder_checksums(folder), "Folder", "meta.json")
    """
    if not isinstance(expected, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in expected.items()):
        raise error(f"{what}: the 'checksums' entry of {meta_name} is not an object of file name → SHA-256; "
                    f"the metadata file was edited or damaged. Save or export the folder again.")
    for rel, digest in expected.items():
        path = os.path.join(folder, *rel.split("/"))
        if not os.path.isfile(path):
            raise error(f"{what}: file {rel} is missing ({path!r}), though {meta_name} lists it. "
                        "Copy the whole folder again, or save it again.")
        actual = file_sha256(path)
        if actual != digest.lower():
            raise error(
                f"{what}: file {rel} is damaged: its SHA-256 is {actual[:16]}… ({os.path.getsize(path):,} bytes) "
                f"but {meta_name} recorded {digest[:16]}… when the folder was written. The file was changed, cut "
                "or overwritten after saving (an interrupted copy or download?). Copy the folder again from its "
                "source, or save it again.")
