"""Distillation through the Learner (kbert.distill.Distiller): alpha = 0 is ordinary training,
a distilled student's loss falls, cached and live teacher outputs give the same loss, each
task's student is an ordinary predictor, and teachers of another task or label set are
refused."""

import keras
import numpy as np
import pytest

import kbert
from kbert import distill
from conftest import sentiment_df, tiny_family_spec, tiny_spec

from tests.text.ner.helpers import toy_sentences


@pytest.fixture(scope="module")
def sentiment():
    trn, val, pre = kbert.text.texts_from_df(sentiment_df(240), "text", "label", val_df=sentiment_df(32, seed=1),
                                             preset=tiny_spec(num_layers=2), maxlen=16, verbose=0)
    teacher = kbert.text.text_classifier(pre, seed=0)
    kbert.get_learner(teacher, trn, val, batch_size=16, seed=0).fit_onecycle(3e-3, 6, verbose=0)
    return trn, val, pre, teacher


def fresh_student(teacher, seed=1, **kwargs):
    keras.utils.set_random_seed(seed)  # dropout's seed generators are drawn when layers are made
    return distill.student(teacher, **kwargs)


def test_alpha_zero_trains_as_ordinary_training(sentiment):
    trn, val, pre, teacher = sentiment
    a, b = fresh_student(teacher, num_layers=1), fresh_student(teacher, num_layers=1)
    ha = kbert.get_learner(a, trn, val, batch_size=16, seed=3, teacher=teacher, alpha=0.0).fit_onecycle(
        1e-3, 1, verbose=0)
    hb = kbert.get_learner(b, trn, val, batch_size=16, seed=3).fit_onecycle(1e-3, 1, verbose=0)
    assert ha.history["loss"] == pytest.approx(hb.history["loss"], rel=1e-6)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6, atol=1e-7)


def test_distilled_student_learns_and_cache_equals_live_teacher(sentiment, tmp_path):
    trn, val, pre, teacher = sentiment
    x, y = next(iter(trn.dataset(len(trn), with_targets=True)))
    losses, before, after = {}, {}, {}
    for cache in (True, False):
        small = fresh_student(teacher, num_layers=1)
        learner = kbert.get_learner(small, trn, val, batch_size=16, seed=3, teacher=teacher, temperature=2.0,
                                    alpha=0.7)
        learner.cache_teacher = cache
        learner._compile(1e-3)  # (the distillation loss on all rows before training needs the compiled task loss)
        before[cache] = float(learner.distiller.compute_loss(x=x, y=y, y_pred=small(x), training=True))
        hist = learner.fit_onecycle(3e-3, 2, verbose=0, checkpoint_folder=str(tmp_path / str(cache)))
        losses[cache] = hist.history["loss"]
        after[cache] = float(learner.distiller.compute_loss(x=x, y=y, y_pred=small(x), training=True))
    assert losses[True] == pytest.approx(losses[False], rel=1e-4)  # cached teacher outputs = live ones
    assert after[True] < before[True] and losses[True][-1] < losses[True][0]  # training lowers the distillation loss
    assert learner.model is small and learner.distiller.student is small
    # the loss at the end equals alpha·T²·KL + (1 − alpha)·CE computed in numpy on the whole data
    t, s = np.asarray(teacher(x), "float64"), np.asarray(small(x), "float64")
    p, q = [np.exp(z / 2) / np.exp(z / 2).sum(-1, keepdims=True) for z in (t, s)]
    kl = (p * np.log(p / q)).sum(-1).mean()
    ce = -np.log(np.exp(s) / np.exp(s).sum(-1, keepdims=True))[np.arange(len(y)), np.asarray(y)].mean()
    dist = learner.distiller
    got = float(dist.compute_loss(x=x, y=y, y_pred=small(x), training=True))
    assert got == pytest.approx(0.7 * 4 * kl + 0.3 * ce, rel=1e-4)
    assert float(dist.compute_loss(x=x, y=y, y_pred=small(x), training=False)) == pytest.approx(ce, rel=1e-4)
    # the epoch checkpoints hold the student alone: they load into a student
    other = fresh_student(teacher, num_layers=1)
    other.load_weights(str(tmp_path / "False" / "weights-02.weights.h5"))
    for wa, wb in zip(other.get_weights(), small.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    # validate and predict see the student, an ordinary predictor
    assert learner.validate(print_report=False).sum() == len(val)
    texts = ["i feel so happy today", "this is awful"]
    predictor, loaded = check_predictor_round_trip(small, pre, texts, tmp_path)
    np.testing.assert_allclose(loaded.predict_proba(texts), predictor.predict_proba(texts), atol=1e-6)


def check_predictor_round_trip(model, pre, texts, tmp_path):
    predictor = kbert.get_predictor(model, pre)
    folder = predictor.save(str(tmp_path / "student"))
    loaded = kbert.load_predictor(folder)
    enc = distill.find_encoder(loaded.model)[1]
    assert enc.get_config()["num_layers"] == 1
    return predictor, loaded


def test_ner_student_is_an_ordinary_predictor(tmp_path):
    x, y = toy_sentences(24)
    trn, val, pre = kbert.text.entities_from_array(x[:20], y[:20], x[20:], y[20:], maxlen=24,
                                                   preset=tiny_spec(num_layers=2), verbose=0)
    teacher = kbert.text.sequence_tagger(pre, seed=0)
    small = fresh_student(teacher, num_layers=1)
    learner = kbert.get_learner(small, trn, val, batch_size=8, seed=0, teacher=teacher)
    hist = learner.fit_onecycle(1e-3, 1, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()
    predictor, loaded = check_predictor_round_trip(small, pre, None, tmp_path)
    sentence = "george lives in paris"
    assert loaded.predict(sentence) == predictor.predict(sentence)
    # a classifier teacher for a tagger student: another task
    with pytest.raises(ValueError, match="same task"):
        kbert.get_learner(small, trn, val, teacher=kbert.text.text_classifier(
            kbert.text.texts_from_df(sentiment_df(8), "text", "label", preset=tiny_spec(), maxlen=16,
                                     verbose=0)[2]))


def test_qa_student_is_an_ordinary_predictor(tmp_path):
    from kbert.text import qa

    from tests.text.qa.test_families import accented_examples

    examples = accented_examples(4)
    trn, val, pre = qa.qa_from_examples(examples, examples[:2], 48, 16, 16,
                                        tiny_family_spec("bert", max_sequence_length=48, num_layers=2), 0.1, 0, False, 0)
    teacher = kbert.text.qa_model(pre, seed=0)
    small = fresh_student(teacher, num_layers=1)
    learner = kbert.get_learner(small, trn, val, batch_size=4, seed=0, teacher=teacher)
    assert np.isfinite(learner.fit_onecycle(1e-3, 1, verbose=0).history["loss"]).all()
    predictor, loaded = check_predictor_round_trip(small, pre, None, tmp_path)
    ex = examples[0]
    assert loaded.predict(ex["question"], ex["context"]) == predictor.predict(ex["question"], ex["context"])


def test_teachers_of_another_label_set_are_refused(sentiment):
    trn, val, pre, teacher = sentiment
    df3 = sentiment_df(12)
    df3.loc[::3, "label"] = "meh"
    pre3 = kbert.text.texts_from_df(df3, "text", "label", preset=tiny_spec(), maxlen=16, verbose=0)[2]
    other = kbert.text.text_classifier(pre3, seed=0)
    with pytest.raises(ValueError, match="another label set"):
        kbert.get_learner(distill.student(teacher, num_layers=1), trn, val, teacher=other)
    # a predictor whose labels are in another order
    predictor = kbert.get_predictor(teacher, pre)
    predictor.preproc = type(pre).from_config({**pre.get_config()}, pre.tokenizer)
    predictor.preproc.get_classes = lambda: ["pos", "neg"]
    with pytest.raises(ValueError, match=r"labels \['pos', 'neg'\] differ"):
        kbert.get_learner(distill.student(teacher, num_layers=1), trn, val, teacher=predictor)
    with pytest.raises(ValueError, match="alpha"):
        kbert.get_learner(distill.student(teacher, num_layers=1), trn, val, teacher=teacher, alpha=2)


def test_hidden_loss_adds_the_cosine_distance_of_last_hidden_states(sentiment):
    trn, val, pre, teacher = sentiment
    small = fresh_student(teacher, num_layers=1)
    learner = kbert.get_learner(small, trn, val, batch_size=16, seed=3, teacher=teacher, alpha=0.5, hidden_loss=2.0)
    learner._compile(1e-3)
    x, y = next(iter(trn.dataset(16, with_targets=True)))
    assert np.isfinite(learner.distiller.train_on_batch(x, y)).all()  # a training step with the hidden loss
    dist, plain = learner.distiller, distill.Distiller(small, teacher, pre, alpha=0.5)
    plain.compile(loss=pre.loss())
    y_pred = dist(x, training=True)  # (dropout is 0 in the tiny encoder)
    t_hidden = distill.model.with_hidden(teacher)(x)[1]
    s_hidden = distill.model.with_hidden(small)(x)[1]
    want = float(plain.compute_loss(x=x, y=y, y_pred=y_pred)) + 2.0 * float(
        distill.hidden_distance(t_hidden, s_hidden, x["padding_mask"]))
    assert float(dist.compute_loss(x=x, y=y, y_pred=y_pred)) == pytest.approx(want, rel=1e-5)
