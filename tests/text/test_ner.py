import json
import os
import subprocess
import sys

import numpy as np
import pytest

import kbert
from kbert.text import ner
from kbert.text.classification import DataError
from conftest import ROOT, tiny_spec

PEOPLE = ["george", "mary", "john", "anna"]
PLACES = ["paris", "london", "berlin", "rome"]
FILL = ["i", "feel", "the", "a", "is", "today", "now", "so", "it", "this", "and"]


def toy_sentences(n=160, seed=0):
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for _ in range(n):
        words, tags = [], []
        for _ in range(int(rng.integers(3, 9))):
            r = rng.random()
            if r < 0.2:
                words += [str(rng.choice(PEOPLE)), str(rng.choice(PEOPLE))]
                tags += ["B-PER", "I-PER"]
            elif r < 0.35:
                words.append(str(rng.choice(PLACES)))
                tags.append("B-LOC")
            else:
                words.append(str(rng.choice(FILL)))
                tags.append("O")
        xs.append(words)
        ys.append(tags)
    return xs, ys


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


@pytest.fixture(scope="module")
def pre():
    return ner.NERPreprocessor(kbert.encoders.load_tokenizer(tiny_spec()), ["O", "B-LOC", "B-PER", "I-PER"],
                               maxlen=32)


def test_first_piece_alignment_round_trips_random_words(pre):
    rng = np.random.default_rng(1)
    letters = list("abcdefghijklmnopqrstuvwxyz") + ["é", "\x00", "中", "'"]
    sentences = [["".join(rng.choice(letters, size=rng.integers(1, 9))) for _ in range(rng.integers(1, 12))]
                 for _ in range(50)]
    sentences.append(["\x00", "", "ok"])  # words with no pieces still get a tag
    tags = [[str(rng.choice(pre.tags)) for _ in s] for s in sentences]
    data = pre.encode(sentences, tags, verbose=0)
    targets = data.target_rows()
    # oracle logits: one-hot at each piece's target → every word gets exactly its tag back, in order
    outputs = [np.eye(len(pre.tags))[np.where(t == ner.IGNORE, 0, t)] * 10 for t in targets]
    assert pre.word_tags(outputs, data) == tags
    for (_, row), t, ids in zip(data.source.iterrows(), targets, data.features["token_ids"].to_list()):
        first = row["word_ids"] >= 0
        assert (t[first] != ner.IGNORE).all() and (t[~first] == ner.IGNORE).all()
        assert ids[0] == pre.tokenizer.cls_token_id and ids[-1] == pre.tokenizer.sep_token_id


def test_long_sentence_is_split_into_windows_and_every_word_gets_one_tag(pre, capsys):
    words = [PEOPLE[i % 4] if i % 7 == 0 else FILL[i % len(FILL)] for i in range(300)]
    tags = ["B-PER" if i % 7 == 0 else "O" for i in range(300)]
    data = pre.encode([words], [tags], verbose=0)
    assert "1 sentences longer than maxlen=32" in capsys.readouterr().out
    assert len(data) > 10 and data.lengths.max() <= 32
    owned = np.zeros(300, int)
    for _, row in data.source.iterrows():
        owned[row["own_start"]:row["own_end"]] += 1
        assert row["start"] <= row["own_start"] < row["own_end"] <= row["end"]
    assert (owned == 1).all()  # each word is owned by exactly one window
    outputs = [np.eye(4)[np.where(t == ner.IGNORE, 0, t)] for t in data.target_rows()]
    assert pre.word_tags(outputs, data) == [tags]


def test_masked_loss_ignores_non_first_pieces():
    loss = ner.NERPreprocessor.loss(None)
    y = np.array([[ner.IGNORE, 1, ner.IGNORE, 0, ner.IGNORE]])
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(1, 5, 3)).astype("float32")
    base = float(loss(y, logits))
    logits2 = logits.copy()
    logits2[0, [0, 2, 4]] = rng.normal(size=(3, 3)) * 100  # change only ignored positions
    assert float(loss(y, logits2)) == pytest.approx(base, rel=1e-6)
    z = logits[0, [1, 3]].astype("float64")
    manual = np.mean(np.log(np.exp(z).sum(-1)) - z[[0, 1], [1, 0]])
    assert base == pytest.approx(manual, rel=1e-5)


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


@pytest.fixture(scope="module")
def trained():
    x, y = toy_sentences(200)
    xv, yv = toy_sentences(60, seed=1)
    trn, val, pre = kbert.text.entities_from_array(x, y, xv, yv, preset=tiny_spec(), maxlen=32, verbose=0)
    model = kbert.text.sequence_tagger(pre, dropout=0.0, seed=0)
    learner = kbert.get_learner(model, trn, val, batch_size=16, seed=0)
    hist = learner.fit_onecycle(5e-3, 10, verbose=0)
    return learner, pre, hist


def test_tagger_learns_and_f1_equals_seqeval(trained, capsys):
    from seqeval.metrics import f1_score

    learner, pre, hist = trained
    assert hist.history["loss"][-1] < 0.3 * hist.history["loss"][0]
    f1 = learner.validate(class_names=pre.get_classes())
    assert "PER" in capsys.readouterr().out
    pred = pre.word_tags(learner.predict(), learner.val_data)
    assert f1 == pytest.approx(f1_score(learner.val_data.sentence_tags, pred, average="micro"))
    assert f1 > 0.75  # 0.78-0.82 over seeds 0-2 (a tiny encoder trained from scratch on 200 sentences)
    learner.view_top_losses(n=2)
    assert "true:" in capsys.readouterr().out


def test_predictor_offsets_and_save_load(trained, tmp_path):
    learner, pre, _ = trained
    p = kbert.get_predictor(learner.model, pre)
    text = "Today  George Mary is in Paris, and it is so  Rome."
    pairs = p.predict(text)
    assert [w for w, _ in pairs] == ["Today", "George", "Mary", "is", "in", "Paris", ",", "and", "it", "is", "so",
                                     "Rome", "."]
    ents = p.predict(text, merge_tokens=True)
    for e in ents:
        assert text[e["start"]:e["end"]] == e["text"]
    assert {"entity": "PER", "text": "George Mary", "start": 7, "end": 18} in ents
    assert any(e["entity"] == "LOC" and e["text"] == "Paris" for e in ents)
    assert p.predict(["george", "in", "rome"], is_split_into_words=True)[2] == ("rome", "B-LOC")
    batch = p.predict([text, "rome"])
    assert batch[0] == pairs and len(batch) == 2
    p.save(tmp_path / "ner")
    script = (f"import json, kbert; p = kbert.load_predictor({str(tmp_path / 'ner')!r}); "
              f"print(json.dumps([p.predict({text!r}), p.predict({text!r}, merge_tokens=True)]))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    got_pairs, got_ents = json.loads(out.stdout.strip().splitlines()[-1])
    assert [tuple(x) for x in got_pairs] == pairs and got_ents == ents
