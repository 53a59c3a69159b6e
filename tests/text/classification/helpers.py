"""Helpers shared by the text classification tests."""

import kbert
from conftest import tiny_spec


def load(df, label_columns="label", **kw):
    kw.setdefault("preset", tiny_spec())
    kw.setdefault("maxlen", 32)
    kw.setdefault("verbose", 0)
    return kbert.text.texts_from_df(df, "text", label_columns, **kw)
