import json
import os

import pytest

from kbert import io
from kbert.errors import DataError, PredictorLoadError


def test_atomic_folder_replaces_only_when_complete(tmp_path):
    target = tmp_path / "out"
    with io.atomic_folder(target) as tmp:
        (tmp_path / tmp / "a.txt").write_text("one")
    assert (target / "a.txt").read_text() == "one"
    with pytest.raises(RuntimeError, match="half way"):
        with io.atomic_folder(target) as tmp:
            (tmp_path / tmp / "a.txt").write_text("two")
            raise RuntimeError("half way")
    assert (target / "a.txt").read_text() == "one"  # the old folder is intact
    assert sorted(os.listdir(tmp_path)) == ["out"]  # and nothing is left beside it
    with io.atomic_folder(target) as tmp:
        (tmp_path / tmp / "b.txt").write_text("three")
    assert sorted(os.listdir(target)) == ["b.txt"]


def test_metadata_errors_name_the_file(tmp_path):
    path = tmp_path / "meta.json"
    with pytest.raises(PredictorLoadError, match="meta.json is missing"):
        io.read_metadata(str(path), "Folder X", PredictorLoadError)
    path.write_text("{not json")
    with pytest.raises(DataError, match="is not readable JSON"):
        io.read_metadata(str(path), "Folder X")
    path.write_text("[1, 2]")
    with pytest.raises(DataError, match="holds a JSON list"):
        io.read_metadata(str(path), "Folder X")
    path.write_text(json.dumps({"format_version": 7, "kbert_version": "9.9"}))
    meta = io.read_metadata(str(path), "Folder X")
    with pytest.raises(DataError, match=r"Folder X has format version 7 \(written by kbert 9.9\); this kbert reads "
                                        r"format 1"):
        io.check_format_version(meta, 1, "Folder X")


def test_read_table_sniffs_the_separator(tmp_path):
    (tmp_path / "a.txt").write_text("text;label\nhello there;joy\nso sad;sadness\n")
    df = io.read_table(str(tmp_path / "a.txt"))
    assert list(df.columns) == ["text", "label"] and df["label"].tolist() == ["joy", "sadness"]
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        io.read_table(str(tmp_path / "missing.csv"))


def test_read_table_keeps_quotes_of_files_without_csv_quoting(tmp_path, capsys):
    # ;-separated texts that start with a quote: pandas' CSV quoting would drop the quotes
    path = tmp_path / "q.txt"
    path.write_text('text;label\n"stop" she said;anger\nhe said "hi" twice;joy\n"plain";joy\n', encoding="utf-8")
    df = io.read_table(str(path))
    assert df["text"].tolist() == ['"stop" she said', 'he said "hi" twice', '"plain"']
    assert df["label"].tolist() == ["anger", "joy", "joy"]
    out = capsys.readouterr().out
    assert "q.txt: line 2 has a field that starts with a quote but is not a CSV-quoted field" in out
    assert "2 fields start with a quote" in out


def test_read_table_follows_csv_quoting_and_keeps_na_words(tmp_path, capsys):
    path = tmp_path / "a.csv"
    path.write_text('text,label\n"hello, world",joy\n"she said ""hi""",joy\nNA,null\n\n\nNone,x\n,y\n')
    df = io.read_table(str(path))
    assert df["text"].tolist()[:4] == ["hello, world", 'she said "hi"', "NA", "None"]
    assert df["text"].isna().tolist() == [False] * 4 + [True]  # only an empty field is missing
    assert df["label"].tolist() == ["joy", "joy", "null", "x", "y"]
    assert "a.csv: skipped 2 blank lines between rows (lines 5, 6)" in capsys.readouterr().out
    codes = tmp_path / "codes.csv"
    codes.write_text("code,score\n007,1.50\n1,2\n01,3\n")
    df = io.read_table(str(codes))
    assert df["code"].tolist() == ["007", "1", "01"] and df["score"].tolist() == [1.5, 2.0, 3.0]
    bom = tmp_path / "bom.csv"
    bom.write_text("text,label\nok,1\n", encoding="utf-8-sig")
    assert list(io.read_table(str(bom)).columns) == ["text", "label"]


def test_read_table_rows_with_the_wrong_number_of_fields_are_named(tmp_path):
    path = tmp_path / "b.txt"
    path.write_text("text;label\nfine;joy\na;b;c\nno separator\n")
    with pytest.raises(DataError, match=r"b.txt: 2 rows do not have the header's 2 fields \(separator ';'\): "
                                        r"line 3 has 3, line 4 has 1"):
        io.read_table(str(path))
    path.write_text("text;text\na;b\n")
    with pytest.raises(DataError, match=r"names columns \['text'\] more than once"):
        io.read_table(str(path))
    path.write_text("")
    with pytest.raises(DataError, match="b.txt: the file is empty"):
        io.read_table(str(path))


def test_latin1_table_names_file_byte_offset_and_line_and_reads_with_encoding(tmp_path):
    path = tmp_path / "l1.csv"
    path.write_bytes("text;label\nok;joy\ncafé au lait;joy\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"l1.csv: byte offset 21 \(line 3, byte 4 of the line\) is not valid "
                                        r"utf-8 text: b'\\xe9'.*encoding='latin-1'"):
        io.read_table(str(path))
    assert io.read_table(str(path), encoding="latin-1")["text"].tolist() == ["ok", "café au lait"]


def test_emotion_file_reads_exactly():
    from conftest import SHARED

    path = os.path.join(SHARED, "emotion", "train.txt")
    if not os.path.exists(path):
        pytest.skip("../shared/datasets not present")
    df = io.read_table(path)
    lines = [line for line in open(path, encoding="utf-8").read().split("\n")[1:] if line]
    assert len(df) == 16000 == len(lines)
    assert df["text"].tolist() == [line.rsplit(";", 1)[0] for line in lines]
    assert df["label_name"].tolist() == [line.rsplit(";", 1)[1] for line in lines]


def test_damaged_gzip_files_are_named(tmp_path):
    import gzip

    text = "".join(f"line {i} of some text that does not compress to nothing {i * 7919 % 1000}\n" for i in range(400))
    packed = gzip.compress(text.encode())
    truncated = tmp_path / "cut.txt.gz"
    truncated.write_bytes(packed[:-100])
    with pytest.raises(DataError, match=r"cut.txt.gz: the gzip file is truncated"):
        io.read_text(str(truncated))
    plain = tmp_path / "plain.txt.gz"
    plain.write_text(text)
    with pytest.raises(DataError, match=r"plain.txt.gz: not a gzip file, though its name ends in .gz "
                                        r"\(it starts with b'line 0 of some t'\)"):
        io.read_text(str(plain))
    good = tmp_path / "good.txt.gz"
    good.write_bytes(packed)
    assert io.read_text(str(good)) == text


def test_needless_quotes_beside_unquoted_texts_are_counted(tmp_path, capsys):
    import csv

    path = tmp_path / "n.txt"
    path.write_text('text;label\n"stop";anger\ngo away;anger\n"a;b";joy\n')
    assert io.read_table(str(path))["text"].tolist() == ["stop", "go away", "a;b"]  # CSV quoting, as written
    assert ("n.txt: 1 texts are in quotes that CSV does not need (no separator, quote or line break inside) while "
            "other texts of their column are not, e.g. line 2: '\"stop\";anger'") in capsys.readouterr().out
    path.write_text('text;label\n"stop";anger\ngo away;anger\n')
    assert io.read_table(str(path), quoting=csv.QUOTE_NONE)["text"].tolist() == ['"stop"', "go away"]
    # a writer that quotes every text (R's write.csv) is no reason for a note
    path.write_text('"text","label"\n"hello","joy"\n"bye, now","sad"\n')
    assert io.read_table(str(path))["text"].tolist() == ["hello", "bye, now"]
    assert capsys.readouterr().out == ""
