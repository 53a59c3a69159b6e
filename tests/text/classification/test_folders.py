"""kbert.text.classification.folders: ktrain's texts_from_folder layout and its errors."""

import pytest

import kbert
from kbert.text import DataError
from conftest import tiny_spec


def write(root, files):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))


def corpus(root, n=6):
    files = {}
    for i in range(n):
        files[f"train/pos/{i}.txt"] = f"i feel happy today {i}"
        files[f"train/neg/{i}.txt"] = f"so sad and gloomy {i}"
    for i in range(2):
        files[f"test/pos/{i}.txt"] = "great movie"
        files[f"test/neg/{i}.txt"] = "awful movie"
    write(root, files)


def test_train_and_test_folders(tmp_path):
    corpus(tmp_path)
    trn, val, pre = kbert.text.texts_from_folder(str(tmp_path), preset=tiny_spec(), maxlen=32, verbose=0)
    assert pre.get_classes() == ["neg", "pos"] and len(trn) == 12 and len(val) == 4
    row = trn.source.iloc[0]
    assert row["file"].endswith("0.txt") and open(row["file"]).read() == row["text"]
    assert set(val.source["text"]) == {"great movie", "awful movie"}


def test_one_folder_holds_out_val_pct_and_classes_limit(tmp_path, capsys):
    corpus(tmp_path)
    write(tmp_path, {"train/other/0.txt": "x", "train/other/1.txt": "y", "train/README": "not a text",
                     "train/pos/.DS_Store": "junk"})
    trn, val, pre = kbert.text.texts_from_folder(str(tmp_path), classes=["pos", "neg"], train_test_names=["train"],
                                                 val_pct=0.25, preset=tiny_spec(), maxlen=32, verbose=0)
    assert pre.get_classes() == ["neg", "pos"] and len(trn) + len(val) == 12 and len(val) == 3
    out = capsys.readouterr().out
    assert "1 files directly in" in out and "1 hidden files" in out


def test_folder_errors_name_the_place(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist; texts_from_folder reads"):
        kbert.text.texts_from_folder(str(tmp_path / "nowhere"), preset=tiny_spec())
    corpus(tmp_path)
    write(tmp_path, {"test/joy/0.txt": "yay"})
    with pytest.raises(DataError, match=r"test' has class folder\(s\) \['joy'\] that .*train' lacks"):
        kbert.text.texts_from_folder(str(tmp_path), preset=tiny_spec())
    with pytest.raises(DataError, match=r"has no class folder\(s\) \['joy'\]"):
        kbert.text.texts_from_folder(str(tmp_path), classes=["joy", "pos"], preset=tiny_spec())
    write(tmp_path, {"train/pos/bad.txt": b"caf\xe9"})
    with pytest.raises(DataError, match=r"bad.txt' is not utf-8 text .*encoding='latin-1'"):
        kbert.text.texts_from_folder(str(tmp_path), classes=["pos", "neg"], preset=tiny_spec())
    with pytest.raises(ValueError, match="train_test_names must name 1 or 2"):
        kbert.text.texts_from_folder(str(tmp_path), train_test_names=["a", "b", "c"], preset=tiny_spec())
