"""kbert.text.classification.windows: long documents read in overlapping windows — window
boundaries, stride and coverage, the data stats, the config round trip, the batches of
[docs, windows, pieces], a document task that only windows can learn, and a saved predictor."""

import numpy as np
import pandas as pd
import pytest

import kbert
from kbert.errors import DataError
from kbert.text.classification.preprocessor import TextClassificationPreprocessor
from kbert.text.classification.windows import merge_windows, split_windows, starts
from conftest import FILLER, NEGATIVE, POSITIVE, sentiment_df, tiny_spec

from .helpers import load


@pytest.mark.parametrize("n", [0, 1, 13, 14, 15, 24, 25, 100])
@pytest.mark.parametrize("stride", [0, 3, 13])
def test_windows_cover_every_piece_and_share_stride(n, stride):
    maxlen, content = 16, 14
    pieces = list(range(100, 100 + n))
    ids, per_text, lengths, full = split_windows([pieces], maxlen, stride, None, 1, 2)
    windows = np.split(ids, np.cumsum(lengths)[:-1])
    assert per_text.tolist() == [len(windows)] == full.tolist()
    assert all(w[0] == 1 and w[-1] == 2 and len(w) <= maxlen for w in windows)
    inner = [w[1:-1].tolist() for w in windows]
    assert sorted(set(sum(inner, []))) == pieces  # every piece is read
    assert merge_windows(inner, stride) == pieces  # in order, the shared pieces once
    for a, b in zip(inner, inner[1:]):
        assert len(a) == content and a[-stride:] == b[:stride] if stride else a[-1] + 1 == b[0]
    # as few windows as the stride allows: one for a text that fits, else 1 + ceil((n - content) / step)
    expected = 1 if n <= content else 1 + -(-(n - content) // (content - stride))
    assert len(windows) == expected


def test_window_starts():
    assert starts(10, 4, 1) == [0, 3, 6]
    assert starts(4, 4, 1) == [0] and starts(0, 4, 1) == [0]
    assert starts(5, 4, 0) == [0, 4]


def test_max_windows_cuts_and_is_counted():
    ids, per_text, lengths, full = split_windows([list(range(50)), [5]], 6, 1, 3, 1, 2)
    assert per_text.tolist() == [3, 1] and full.tolist() == [17, 1]
    assert ids[: lengths[0]].tolist() == [1, 0, 1, 2, 3, 2]


def long_docs(n, seed, filler=60, keywords=1):
    """The label is decided by a polarity keyword after `filler` filler words (past the first window)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        words = list(rng.choice(FILLER, size=filler)) + list(rng.choice(POSITIVE if i % 2 else NEGATIVE, size=keywords))
        rows.append({"text": " ".join(words), "label": "pos" if i % 2 else "neg"})
    return pd.DataFrame(rows)


def test_stats_are_counted_and_printed(capsys):
    df = pd.concat([sentiment_df(4), long_docs(3, 0, filler=40)], ignore_index=True)
    trn, _, pre = load(df, val_df=df, maxlen=16, long_document="windows", stride=4, max_windows=3, verbose=1)
    out = capsys.readouterr().out
    # 40 filler words + 1 keyword = 41 pieces: windows of 14 pieces, step 10 → 4 windows, capped at 3
    assert trn.stats["windows_min"] == 1 and trn.stats["windows_max"] == 3 and trn.stats["windowed"] == 3
    assert trn.stats["capped"] == 3 and trn.stats["windows_dropped"] == 3
    assert trn.stats["windows_mean"] == pytest.approx((4 + 9) / 7)
    assert "windows per text: min 1, mean 1.9, max 3 (3 texts longer than maxlen=16 read in windows, stride 4)" in out
    assert "3 of 7 texts need more than max_windows=3 windows; only their first 3 are read (3 windows left out)" in out
    x, y = next(iter(trn.dataset(8, training=False)))
    ids, mask = x["token_ids"].numpy(), x["padding_mask"].numpy()
    assert ids.shape[:2] == (7, 3) and ids.shape == mask.shape and x["segment_ids"].shape == ids.shape
    assert (ids[mask == 0] == pre.special["pad"]).all() and (mask[:, :, 0].sum(axis=1) == [1] * 4 + [3] * 3).all()
    assert pre.source_text(trn, 5) == df["text"][5]  # source rows
    trn.source = None
    words = df["text"][5].split()[:34]  # what the 3 windows hold: 14 + 10 + 10 words
    assert pre.source_text(trn, 5) == " ".join(words)


def test_options_are_checked_and_kept_in_the_config():
    _, _, pre = load(sentiment_df(8), maxlen=16, long_document="windows", stride=5, max_windows=None,
                     pooling="attention")
    config = pre.get_config()
    assert {k: config[k] for k in ("long_document", "stride", "max_windows", "pooling")} == {
        "long_document": "windows", "stride": 5, "max_windows": None, "pooling": "attention"}
    again = TextClassificationPreprocessor.from_config(config, pre.tokenizer)
    assert again.get_config() == config
    _, _, plain = load(sentiment_df(8), maxlen=16)
    assert plain.long_document == "truncate" and plain.stride == 4 and plain.max_windows == 8
    assert TextClassificationPreprocessor.from_config({k: v for k, v in plain.get_config().items() if k not in (
        "long_document", "stride", "max_windows", "pooling")}, plain.tokenizer).get_config() == plain.get_config()
    for bad, match in [(dict(stride=14), r"stride .* \[0, 14\)"), (dict(long_document="split"), "long_document"),
                       (dict(pooling="sum"), "pooling"), (dict(max_windows=0), "max_windows")]:
        with pytest.raises(ValueError, match=match):
            load(sentiment_df(8), maxlen=16, **{"long_document": "windows", **bad})
    with pytest.raises(DataError, match="single texts, not text pairs"):
        kbert.text.texts_from_array([("a b", "c d")] * 4, ["x", "y"] * 2, preset=tiny_spec(), maxlen=16,
                                    long_document="windows", verbose=0)


def fit(model, data, epochs, lr):
    model.optimizer.learning_rate.assign(lr)
    ds = data.dataset(16, training=True, seed=0)
    for _ in range(epochs):
        for x, y in ds:
            model.train_on_batch(x, y)


def accuracy(pre, model, data):
    return float((pre.predict_outputs(model, data, 64).argmax(-1) == data.targets).mean())


def test_windows_learn_what_truncation_cannot(tmp_path):
    # the keywords (3 of one polarity) come after 60 filler words: a 16-piece first window holds filler only
    train, test = long_docs(64, 0, keywords=3), long_docs(64, 1, keywords=3)
    common = dict(val_df=test, maxlen=16, preset=tiny_spec(num_layers=1))
    trn, val, pre = load(train, long_document="windows", pooling="attention", **common)
    assert trn.stats["windows_min"] == 6
    model = kbert.text.text_classifier(pre, seed=0)
    fit(model, trn, 10, 1e-2)
    assert accuracy(pre, model, val) >= 0.9
    cut_trn, cut_val, cut = load(train, **common)
    cut_model = kbert.text.text_classifier(cut, seed=0)
    fit(cut_model, cut_trn, 10, 1e-2)
    assert abs(accuracy(cut, cut_model, cut_val) - 0.5) <= 0.15
    # the predictor windows a document the same way, and a saved one predicts the same. Keras
    # retraces its predict function for each new batch shape and a retraced graph may round a
    # logit differently in its last bit: both models start from a fresh trace and get the same calls
    model.make_predict_function(force=True)
    predictor = kbert.get_predictor(model, pre)
    doc = test["text"][3]
    probs = predictor.predict_proba([doc, test["text"][4]])
    loaded = kbert.load_predictor(predictor.save(tmp_path / "p"))
    assert loaded.preproc.get_config() == pre.get_config()
    np.testing.assert_array_equal(loaded.predict_proba([doc, test["text"][4]]), probs)
    np.testing.assert_allclose(probs, pre.postprocess(pre.predict_outputs(model, val.subset([3, 4]), 8)), atol=1e-6)
    assert loaded.predict(doc) == "pos"


def test_every_loader_and_the_transformer_take_windows(tmp_path):
    docs = long_docs(4, 0, filler=20)
    for i, row in docs.iterrows():
        (tmp_path / "train" / row["label"]).mkdir(parents=True, exist_ok=True)
        (tmp_path / "train" / row["label"] / f"{i}.txt").write_text(row["text"])
    got = [kbert.text.texts_from_folder(str(tmp_path), train_test_names=["train"], val_pct=0.5, maxlen=16,
                                        preset=tiny_spec(), verbose=0, long_document="windows", stride=2)[0],
           kbert.text.texts_from_array(docs["text"].tolist(), docs["label"].tolist(), maxlen=16, preset=tiny_spec(),
                                       verbose=0, long_document="windows", stride=2)[0]]
    t = kbert.text.Transformer(tiny_spec(), maxlen=16, long_document="windows", stride=2, pooling="max")
    got.append(t.preprocess_train(docs["text"].tolist(), docs["label"].tolist(), verbose=0))
    for data in got:  # 21 pieces: windows of 14 pieces, step 12 → 2 windows
        assert data.preprocessor.stride == 2 and data.stats["windows_min"] == data.stats["windows_max"] == 2
    assert t.get_classifier().get_layer("window_pooling").mode == "max"
