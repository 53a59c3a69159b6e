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
