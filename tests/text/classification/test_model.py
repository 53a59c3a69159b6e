"""kbert.text.classification.model: kbert's text_classifier(preproc) and ktrain's
text_classifier(name, train_data, preproc), text_regression_model, the printed lists."""

import numpy as np
import pytest

import kbert
from conftest import sentiment_df, tiny_spec

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
