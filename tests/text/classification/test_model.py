"""kbert.text.classification.model: kbert's text_classifier(preproc) and ktrain's
text_classifier(name, train_data, preproc), text_regression_model, the printed lists; every
encoder family end to end (packed with its own specials, trained, predicted), multi-label and
regression on families other than BERT."""

import numpy as np
import pytest

import kbert
from kbert.families import family_by_name, special_ids
from conftest import FAMILIES, sentiment_df, tiny_family_spec, tiny_spec

from .helpers import load


@pytest.fixture(scope="module")
def data():
    return load(sentiment_df(40))


@pytest.fixture(scope="module")
def regression_data():
    df = sentiment_df(40)
    df["score"] = np.linspace(0, 1, len(df))
    return load(df[["text", "score"]], "score")


def test_ktrain_form_builds_the_same_model(data, capsys):
    trn, val, pre = data
    a = kbert.text.text_classifier(pre, seed=0)
    b = kbert.text.text_classifier("bert", train_data=trn, preproc=pre, seed=0)
    assert "Is Multi-Label? False" in capsys.readouterr().out
    assert [w.shape for w in a.weights] == [w.shape for w in b.weights] and b.output.shape[-1] == 2
    np.testing.assert_allclose(a.get_weights()[-1], b.get_weights()[-1])
    # ktrain's (x, y) unpacking and a preproc found from the data
    (x_train, y_train) = trn
    c = kbert.text.text_classifier("distilbert", train_data=(x_train, y_train), metrics=["accuracy"], seed=0)
    out = capsys.readouterr().out
    assert "uses the encoder the data was tokenized for" in out and "metrics=" not in out
    assert c.output.shape[-1] == 2


def test_names_and_arguments_are_checked(data, regression_data, capsys):
    trn, val, pre = data
    with pytest.raises(ValueError, match="'nbsvm' is one of ktrain's word-id models"):
        kbert.text.text_classifier("nbsvm", trn, pre)
    with pytest.raises(ValueError, match="invalid name for text_classifier: 'gpt'"):
        kbert.text.text_classifier("gpt", trn, pre)
    with pytest.raises(ValueError, match="multilabel=True but the data is multiclass"):
        kbert.text.text_classifier("bert", trn, pre, multilabel=True)
    with pytest.raises(TypeError, match="needs the preprocessor"):
        kbert.text.text_classifier("bert")
    other = load(sentiment_df(40))[2]
    with pytest.raises(ValueError, match="another preprocessor"):
        kbert.text.text_classifier("bert", trn, other)
    with pytest.raises(ValueError, match="text_regression_model needs numeric targets"):
        kbert.text.text_regression_model("bert", trn, pre)
    with pytest.raises(ValueError, match="vocabulary differs"):
        vocab = tiny_spec()["vocabulary"]
        kbert.text.text_classifier(pre, encoder=tiny_spec(vocabulary=vocab[:-2] + vocab[-1:] + vocab[-2:-1]))
    kbert.text.text_classifier("bert", trn, pre, metrics=["AUC"], verbose=0)
    assert "metrics=['AUC'] ignored: the Learner compiles the task's metrics ['accuracy']" in capsys.readouterr().out


def test_text_regression_model(regression_data):
    trn, val, pre = regression_data
    model = kbert.text.text_regression_model("bert", trn, pre, metrics=["mae"])
    assert model.output.shape[-1] == 1 and pre.mode == "regression"


def test_printed_lists_follow_ktrain(capsys):
    kbert.text.print_text_classifiers()
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split(":")[0] for ln in lines] == ["fasttext", "logreg", "nbsvm", "bigru", "standard_gru", "bert",
                                                  "distilbert"]
    assert "not in kbert" in lines[0] and "fine-tunes" in lines[5]
    kbert.text.print_text_regression_models()
    names = [ln.split(":")[0] for ln in capsys.readouterr().out.splitlines()]
    assert names == ["fasttext", "linreg", "bigru", "standard_gru", "bert", "distilbert"]


def overfit_one_batch(model, data, steps=20, lr=3e-3):
    """Losses of `steps` optimizer steps on one training batch (a tiny random encoder learns it)."""
    model.optimizer.learning_rate.assign(lr)
    x, y = next(iter(data.dataset(32, training=True, seed=0)))
    return x, [float(model.train_on_batch(x, y)[0]) for _ in range(steps)]


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_packs_trains_and_predicts(family):
    trn, val, pre = load(sentiment_df(48), preset=tiny_family_spec(family, num_layers=1), maxlen=16, val_pct=0.25)
    fam, special = family_by_name(family), special_ids(pre.tokenizer)
    model = kbert.text.text_classifier(pre, seed=0)
    # the pooler trains only where the family has one (ELECTRA's keras-hub backbone has an unused one)
    assert any("pooled_dense" in w.path for w in model.trainable_weights) == fam.pooler
    x, losses = overfit_one_batch(model, trn)
    ids, mask = x["token_ids"].numpy(), x["padding_mask"].numpy().astype(bool)
    assert (ids[:, 0] == special["start"]).all() and (ids[~mask] == special["pad"]).all()
    assert ((ids == special["end"]).sum(axis=1) == 1).all()  # one text: one end piece
    assert np.isfinite(losses).all() and losses[-1] < 0.5 * losses[0], losses
    logits = model.predict(val.dataset(32, with_targets=False), verbose=0)
    assert logits.shape == (len(val), 2) and np.isfinite(logits).all()
    if not fam.segments:  # RoBERTa, DistilBERT, …: segment ids are not read at all
        shifted = dict(x, segment_ids=1 - x["segment_ids"])
        np.testing.assert_allclose(model(shifted, training=False), model(x, training=False), atol=1e-6)


def test_multilabel_on_xlm_roberta():
    df = sentiment_df(48)
    df["pos"] = (df["label"] == "pos").astype(int)
    df["long"] = (df["text"].str.split().str.len() > 3).astype(int)
    trn, val, pre = load(df[["text", "pos", "long"]], ["pos", "long"], maxlen=16, val_pct=0.25,
                         preset=tiny_family_spec("xlm_roberta", num_layers=1))
    model = kbert.text.text_classifier(pre, seed=0)
    assert pre.mode == "multilabel" and model.output.shape[-1] == 2
    _, losses = overfit_one_batch(model, trn)
    assert losses[-1] < 0.5 * losses[0], losses
    logits = model.predict(val.dataset(32, with_targets=False), verbose=0)
    assert pre.report(logits, val, print_report=False) is None
    assert pre.describe(logits[0], val.targets[0])[0] == [c for c, t in zip(["pos", "long"], val.targets[0]) if t]


def test_regression_on_deberta_v3():
    df = sentiment_df(48)
    df["score"] = np.where(df["label"] == "pos", 0.9, 0.1)
    trn, val, pre = load(df[["text", "score"]], "score", maxlen=16, val_pct=0.25,
                         preset=tiny_family_spec("deberta_v3", num_layers=1))
    model = kbert.text.text_regression_model("bert", trn, pre, verbose=0)
    assert pre.mode == "regression" and model.output.shape[-1] == 1
    _, losses = overfit_one_batch(model, trn, lr=1e-3)
    assert losses[-1] < 0.5 * losses[0], losses
    logits = model.predict(val.dataset(32, with_targets=False), verbose=0)
    (name, mae), (_, mse) = pre.report(logits, val, print_report=False)
    y = np.asarray(val.targets).reshape(-1)
    assert name == "mae" and mae == pytest.approx(float(np.abs(logits.reshape(-1) - y).mean()), rel=1e-5)
