"""kbert.text.ner.conll: IOB1 → IOB2 and reading CoNLL column files."""

import os

import pytest

from kbert.text import ner
from kbert.errors import DataError
from conftest import ROOT


def test_iob1_to_iob2():
    assert ner.iob1_to_iob2(["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG"]) == \
        ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "B-ORG"]
    iob2 = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC"]
    assert ner.iob1_to_iob2(iob2) == iob2


def test_read_conll_drops_docstart_and_converts_iob1(tmp_path, capsys):
    path = tmp_path / "x.conll"
    path.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP I-ORG\nrejects VBZ B-VP O\n\n"
                    "Peter NNP B-NP I-PER\nBlackburn NNP I-NP I-PER\n")
    sentences, tags = ner.read_conll(str(path))
    assert sentences == [["EU", "rejects"], ["Peter", "Blackburn"]]
    assert tags == [["B-ORG", "O"], ["B-PER", "I-PER"]]
    assert "IOB1" in capsys.readouterr().out


def test_read_conll_names_file_and_line_of_bad_rows(tmp_path):
    path = tmp_path / "bad.conll"
    path.write_text("EU NNP B-NP B-ORG\nrejects VBZ O\n")
    with pytest.raises(DataError, match=r"bad.conll, line 2: 3 columns where .* has 4"):
        ner.read_conll(str(path))


def test_shared_conll_counts():
    path = os.path.join(os.path.dirname(ROOT), "shared", "datasets", "conll2003", "eng.testa")
    if not os.path.exists(path):
        pytest.skip("../shared/datasets not present")
    sentences, tags = ner.read_conll(path)
    assert len(sentences) == 3250 and sum(map(len, sentences)) == 51362


def test_docstart_without_a_blank_line_ends_the_sentence(tmp_path):
    path = tmp_path / "x.conll"
    path.write_text("EU B-ORG\nrejects O\n-DOCSTART- O\nPeter B-PER\nBlackburn I-PER\n\n-DOCSTART- O\n\nBonn B-LOC\n")
    sentences, tags = ner.read_conll(str(path))
    assert sentences == [["EU", "rejects"], ["Peter", "Blackburn"], ["Bonn"]]
    assert tags == [["B-ORG", "O"], ["B-PER", "I-PER"], ["B-LOC"]]


def test_latin1_conll_names_file_byte_offset_and_line(tmp_path):
    path = tmp_path / "l1.conll"
    path.write_bytes("Paris B-LOC\n\nJosé B-PER\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"l1.conll: byte offset 16 \(line 3, byte 4 of the line\) is not valid "
                                        r"utf-8 text: b'\\xe9'.*pass it to entities_from_conll or read_conll as "
                                        r"encoding=…, e.g. encoding='latin-1'"):
        ner.read_conll(str(path))
    sentences, _ = ner.read_conll(str(path), encoding="latin-1")
    assert sentences == [["Paris"], ["José"]]
