"""kbert.predictors.load: damaged, edited or foreign predictor folders are refused with an
error naming the file (and key) and what to do; format 1 folders load with a warning."""

import hashlib
import json
import os
import shutil

import keras
import numpy as np
import pytest

import kbert
from kbert.predictors import PredictorLoadError

META = "kbert_predictor.json"


@pytest.fixture
def folder(trained, tmp_path):
    learner, pre = trained
    return kbert.get_predictor(learner.model, pre).save(tmp_path / "pred")


def edit_meta(folder, **changes):
    path = os.path.join(folder, META)
    meta = json.load(open(path))
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    json.dump(meta, open(path, "w"))
    return meta


VOCAB = "tokenizer/assets/tokenizer/vocabulary.txt"


def as_format_1(folder):
    """The folder as kbert 0.1 wrote it: format 1, vocab.txt, no checksums, sizes or family."""
    shutil.copy(os.path.join(folder, VOCAB), os.path.join(folder, "vocab.txt"))
    shutil.rmtree(os.path.join(folder, "tokenizer"))
    edit_meta(folder, format_version=1, checksums=None, vocabulary_size=None, embedding_rows=None, family=None)


def cut_vocabulary(folder, keep, name=VOCAB):
    path = os.path.join(folder, name)
    lines = open(path, encoding="utf-8").read().splitlines()
    open(path, "w", encoding="utf-8").write("\n".join(lines[:keep]) + "\n")
    return len(lines)


def test_a_cut_vocabulary_is_named_by_its_checksum(folder):
    cut_vocabulary(folder, 100)
    with pytest.raises(PredictorLoadError, match=r"file tokenizer/assets/tokenizer/vocabulary.txt is damaged: its SHA-256 is .* but "
                                                 r"kbert_predictor.json recorded .* save it again"):
        kbert.load_predictor(folder)


def test_weights_overwritten_by_random_bytes_are_named(folder):
    path = os.path.join(folder, "model.weights.h5")
    size = os.path.getsize(path)
    assert size > 3 * 65536
    with open(path, "r+b") as f:  # 64 KiB of noise in the middle: HDF5 would still load it
        f.seek(size // 2)
        f.write(np.random.default_rng(0).bytes(65536))
    with pytest.raises(PredictorLoadError, match="file model.weights.h5 is damaged"):
        kbert.load_predictor(folder)


def test_a_cut_vocabulary_in_a_format_1_folder_is_caught_by_its_size(folder):
    as_format_1(folder)
    total = cut_vocabulary(folder, 100, "vocab.txt")
    expected = rf"vocab.txt' holds 100 tokens but the token embedding of the model in model.json has {total} rows"
    with pytest.warns(UserWarning, match="format 1"), pytest.raises(PredictorLoadError, match=expected):
        kbert.load_predictor(folder)


def test_a_vocabulary_size_that_disagrees_with_the_metadata_is_named(folder):
    total = cut_vocabulary(folder, 100)
    checksums = json.load(open(os.path.join(folder, META)))["checksums"]
    checksums[VOCAB] = hashlib.sha256(open(os.path.join(folder, VOCAB), "rb").read()).hexdigest()
    edit_meta(folder, checksums=checksums)  # the checksums edited to match: the sizes still disagree
    with pytest.raises(PredictorLoadError, match=f"holds 100 tokens but kbert_predictor.json records {total}"):
        kbert.load_predictor(folder)


def test_format_1_folders_load_unverified_with_a_warning(folder, trained):
    as_format_1(folder)
    with pytest.warns(UserWarning, match="format 1 .* no checksums: its files can not be verified"):
        p = kbert.load_predictor(folder)
    learner, pre = trained
    assert p.predict(["i feel happy", "so sad"]) == kbert.get_predictor(learner.model, pre).predict(["i feel happy",
                                                                                                     "so sad"])


@pytest.mark.parametrize("key", ["format_version", "task", "preprocessor", "checksums"])
def test_a_missing_metadata_key_is_named(folder, key):
    edit_meta(folder, **{key: None})
    with pytest.raises(PredictorLoadError, match=f"kbert_predictor.json' lacks the key '{key}'"):
        kbert.load_predictor(folder)


def test_a_file_left_out_of_the_checksums_is_named(folder):
    checksums = json.load(open(os.path.join(folder, META)))["checksums"]
    del checksums["model.weights.h5"]
    edit_meta(folder, checksums=checksums)
    with pytest.raises(PredictorLoadError, match=r"its 'checksums' lack \['model.weights.h5'\]"):
        kbert.load_predictor(folder)
    edit_meta(folder, checksums="abc")
    with pytest.raises(PredictorLoadError, match="'checksums' entry of kbert_predictor.json is not an object"):
        kbert.load_predictor(folder)


def test_a_missing_preprocessor_key_is_named(folder):
    config = json.load(open(os.path.join(folder, META)))["preprocessor"]
    del config["labels"]
    edit_meta(folder, preprocessor=config)
    with pytest.raises(PredictorLoadError, match="'preprocessor' object lacks the key 'labels'"):
        kbert.load_predictor(folder)
    edit_meta(folder, preprocessor=["not", "a", "dict"])
    with pytest.raises(PredictorLoadError, match="key 'preprocessor' holds a list, not an object"):
        kbert.load_predictor(folder)


def test_metadata_that_is_not_json_is_named(folder):
    open(os.path.join(folder, META), "w").write('{"format_version": 2, "task": ')
    with pytest.raises(PredictorLoadError, match="kbert_predictor.json' is not readable JSON"):
        kbert.load_predictor(folder)
    open(os.path.join(folder, META), "w").write("[1, 2]")
    with pytest.raises(PredictorLoadError, match="holds a JSON list, not an object"):
        kbert.load_predictor(folder)


def test_an_unknown_task_is_named(folder):
    edit_meta(folder, task="translation")
    with pytest.raises(PredictorLoadError, match="task 'translation', which this kbert does not know"):
        kbert.load_predictor(folder)


def test_a_model_file_with_code_is_refused_and_never_run(folder, tmp_path):
    marker = tmp_path / "ran"
    inputs = keras.Input((3,))
    # the path as a constant of the lambda's code (a closure would not serialise)
    evil = keras.layers.Lambda(eval(f"lambda x: __import__('pathlib').Path({str(marker)!r}).touch() or x"))
    architecture = keras.Model(inputs, evil(inputs)).to_json()
    marker.unlink()  # building the model above ran the lambda once
    as_format_1(folder)  # no checksums to stop it first
    open(os.path.join(folder, "model.json"), "w").write(architecture)
    with pytest.raises(PredictorLoadError, match="model.json' does not describe a Keras model that kbert can "
                                                 "rebuild safely .*Lambda"):
        with pytest.warns(UserWarning, match="format 1"):
            kbert.load_predictor(folder)
    assert not marker.exists()
    open(os.path.join(folder, "model.json"), "w").write("not json")
    with pytest.raises(PredictorLoadError, match="model.json' is not readable JSON"):
        with pytest.warns(UserWarning, match="format 1"):
            kbert.load_predictor(folder)


def test_a_model_of_another_family_is_named(folder, tmp_path):
    import sys
    sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
    from conftest import sentiment_df, tiny_family_spec

    _, _, pre = kbert.text.texts_from_df(sentiment_df(20), "text", "label", preset=tiny_family_spec("distilbert"),
                                         maxlen=16, verbose=0)
    other = kbert.get_predictor(kbert.text.text_classifier(pre), pre).save(tmp_path / "other")
    shutil.copy(os.path.join(other, "model.json"), os.path.join(folder, "model.json"))
    checksums = json.load(open(os.path.join(folder, META)))["checksums"]
    checksums["model.json"] = hashlib.sha256(open(os.path.join(folder, "model.json"), "rb").read()).hexdigest()
    edit_meta(folder, checksums=checksums)
    with pytest.raises(PredictorLoadError, match="holds a distilbert encoder .* tokenizer in tokenizer/ and "
                                                 "kbert_predictor.json are of family 'bert'"):
        kbert.load_predictor(folder)
