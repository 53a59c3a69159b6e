"""kbert.integrity: SHA-256 checksums of a folder's files, and errors naming a damaged or missing file."""

import hashlib

import pytest

from kbert import integrity
from kbert.errors import DataError, PredictorLoadError


def make_folder(root):
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("alpha")
    (root / "sub" / "b.bin").write_bytes(bytes(range(256)) * 4096)  # 1 MiB: read in chunks
    (root / "meta.json").write_text("{}")
    return root


def test_checksums_cover_every_file_but_the_excluded(tmp_path):
    folder = make_folder(tmp_path / "f")
    sums = integrity.folder_checksums(folder, exclude={"meta.json"})
    assert list(sums) == ["a.txt", "sub/b.bin"]
    assert sums["a.txt"] == hashlib.sha256(b"alpha").hexdigest()
    assert sums["sub/b.bin"] == hashlib.sha256(bytes(range(256)) * 4096).hexdigest()
    integrity.verify_checksums(folder, sums, "Folder f", "meta.json")  # intact: no error


def test_a_changed_or_missing_file_is_named(tmp_path):
    folder = make_folder(tmp_path / "f")
    sums = integrity.folder_checksums(folder, exclude={"meta.json"})
    data = bytearray((folder / "sub" / "b.bin").read_bytes())
    data[500_000] ^= 1  # one bit
    (folder / "sub" / "b.bin").write_bytes(bytes(data))
    with pytest.raises(PredictorLoadError, match=r"Folder f: file sub/b.bin is damaged: its SHA-256 is .* "
                                                 r"\(1,048,576 bytes\) but meta.json recorded"):
        integrity.verify_checksums(folder, sums, "Folder f", "meta.json", PredictorLoadError)
    (folder / "a.txt").unlink()
    with pytest.raises(DataError, match="file a.txt is missing .* meta.json lists it"):
        integrity.verify_checksums(folder, sums, "Folder f", "meta.json")


def test_a_malformed_checksums_entry_is_an_error(tmp_path):
    folder = make_folder(tmp_path / "f")
    for bad in (["a.txt"], {"a.txt": 5}, None):
        with pytest.raises(DataError, match="'checksums' entry of meta.json is not an object"):
            integrity.verify_checksums(folder, bad, "Folder f", "meta.json")
