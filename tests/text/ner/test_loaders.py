"""kbert.text.ner.loaders: entities_from_array / _df, and unseen validation tags named."""

import pytest

import kbert
from kbert.errors import DataError
from conftest import tiny_spec

from .helpers import toy_sentences


def test_unseen_validation_tag_is_named():
    x, y = toy_sentences(20)
    yv = [list(t) for t in y[:3]]
    yv[2][0] = "B-ORG"
    with pytest.raises(DataError, match=r"'B-ORG' in sentences \[2\]"):
        kbert.text.entities_from_array(x, y, x[:3], yv, preset=tiny_spec(), verbose=0)


def test_entities_from_df_groups_sentences():
    import pandas as pd

    df = pd.DataFrame({"SentenceID": [1, None, None, 2, None], "Word": ["John", "lives", "here", "Paris", "now"],
                       "Tag": ["B-PER", "O", "O", "B-LOC", "O"]})
    trn, val, pre = kbert.text.entities_from_df(df, val_df=df, preset=tiny_spec(), verbose=0)
    assert trn.sentences == [["John", "lives", "here"], ["Paris", "now"]]
    assert pre.get_classes() == ["O", "B-LOC", "B-PER"]


# ------------------------------------------------------------------ bad input of entities_from_array (issue 14)


def test_array_errors_name_the_callers_sentence():
    x, y = toy_sentences(20)
    with pytest.raises(DataError, match="x_train has 20 sentences but y_train has 19 tag lists"):
        kbert.text.entities_from_array(x, y[:19], preset=tiny_spec(), verbose=0)
    bad = [list(t) for t in y]
    bad[13] = bad[13][:-1]
    with pytest.raises(DataError, match=rf"x_train sentence 13 has {len(x[13])} words but y_train\[13\] has "
                                        rf"{len(x[13]) - 1} tags"):
        kbert.text.entities_from_array(x, bad, preset=tiny_spec(), verbose=0)
    bad = [list(t) for t in y]
    bad[7][1] = "PERSON"
    with pytest.raises(DataError, match=rf"y_train sentence 7, word 1 \({x[7][1]!r}\): tag 'PERSON' is not IOB"):
        kbert.text.entities_from_array(x, bad, preset=tiny_spec(), verbose=0)
    with pytest.raises(DataError, match=r"x_test sentence 2 has"):
        kbert.text.entities_from_array(x, y, x[:3], [y[0], y[1], y[2] + ["O"]], preset=tiny_spec(), verbose=0)
    with pytest.raises(DataError, match=r"x_train\[0\] is a string"):
        kbert.text.entities_from_array(["John lives here"], [["B-PER", "O", "O"]], preset=tiny_spec())


def test_iob1_conversion_is_counted(capsys):
    x = [["John", "Smith", "lives", "in", "Paris"]] * 4
    y = [["I-PER", "I-PER", "O", "O", "I-LOC"]] * 4
    trn, val, pre = kbert.text.entities_from_array(x, y, x, y, preset=tiny_spec(), verbose=0)
    assert "y_train: IOB1 tags detected; 8 tags converted to IOB2" in capsys.readouterr().out
    assert trn.sentence_tags[0] == ["B-PER", "I-PER", "O", "O", "B-LOC"]


def test_split_keeps_every_tag_in_training(capsys):
    from kbert.text.ner.loaders import split_sentences

    x, y = toy_sentences(30)
    x = x + [["berlin", "gmbh"]]
    y = y + [["B-ORG", "I-ORG"]]  # one sentence holds the ORG tags
    for seed in range(30):
        xt, yt, xv, yv = split_sentences(x, y, 0.2, seed)
        assert ["B-ORG", "I-ORG"] in yt
        out = capsys.readouterr().out
        if "moved back" in out:
            assert "tag(s) ['B-ORG', 'I-ORG']" in out and "sentences [30] (1 rows)" in out
            assert len(xv) == 6 and len(xt) == 25
            break
    else:
        pytest.fail("no split held out the ORG sentence")
    with pytest.raises(DataError, match=r"holds out every sentence with tag\(s\) \['B-PER'\]"):
        split_sentences([["a"], ["john"]], [["O"], ["B-PER"]], 0.5, next(
            s for s in range(20) if split_sentences([["a"], ["b"]], [["O"], ["O"]], 0.5, s)[2] == [["b"]]))


# ------------------------------------------------------------------ ktrain's loaders and argument order


def test_entities_from_txt_conll_and_gmb(tmp_path, capsys):
    conll = tmp_path / "train.txt"
    conll.write_text("-DOCSTART- -X- O O\n\nJohn NNP B-PER\nlives VBZ O\n\nParis NNP B-LOC\nnow RB O\n\n"
                     "Mary NNP B-PER\nleft VBD O\n")
    trn, val, pre = kbert.text.entities_from_txt(str(conll), str(conll), preset=tiny_spec(), verbose=0,
                                                 use_char=True)
    assert trn.sentences == [["John", "lives"], ["Paris", "now"], ["Mary", "left"]]
    assert "use_char=True" in capsys.readouterr().out
    trn2, _, _ = kbert.text.entities_from_conll2003(str(conll), str(conll), preset=tiny_spec(), verbose=0)
    assert trn2.sentence_tags == trn.sentence_tags
    gmb = tmp_path / "ner_dataset.csv"
    gmb.write_bytes("Sentence #,Word,POS,Tag\nSentence: 1,Jos\xe9,NNP,B-PER\n,lives,VBZ,O\n"
                    "Sentence: 2,Paris,NNP,B-LOC\n,now,RB,O\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"ner_dataset.csv.* utf-8 .*encoding='latin-1'"):
        kbert.text.entities_from_txt(str(gmb), data_format="gmb", sentence_column="Sentence #",
                                     preset=tiny_spec())
    trn, val, pre = kbert.text.entities_from_txt(str(gmb), str(gmb), data_format="gmb", encoding="latin-1",
                                                 sentence_column="Sentence #", preset=tiny_spec(), verbose=0)
    assert trn.sentences == [["José", "lives"], ["Paris", "now"]]
    with pytest.raises(ValueError, match="data_format must be"):
        kbert.text.entities_from_txt(str(gmb), data_format="csv")


def test_entities_from_df_takes_ktrain_order_and_names_duplicated_columns():
    import pandas as pd

    df = pd.DataFrame({"SentenceID": [1, None, 2, None], "Word": ["John", "lives", "Paris", "now"],
                       "Tag": ["B-PER", "O", "B-LOC", "O"]})
    trn, val, pre = kbert.text.entities_from_df(df, df, preset=tiny_spec(), verbose=0)
    assert len(val.sentences) == 2
    with pytest.raises(TypeError, match="second argument is val_df"):
        kbert.text.entities_from_df(df, "Word")
    dup = pd.concat([df, df[["Tag"]]], axis=1)
    with pytest.raises(DataError, match=r"train_df has 2 columns named 'Tag' \(at positions \[2, 3\]\)"):
        kbert.text.entities_from_df(dup, preset=tiny_spec())
