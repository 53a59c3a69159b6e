"""kbert.predictors.ner: ktrain's predict formats (tuples, offsets, probabilities, merged
entities), kbert's dict form, custom tokenizers, word lists and input errors."""

import pytest

from kbert.predictors.ner import locate_words, merge_entities, split_words

SENT = "There is a man named John Smith."


def test_ktrain_assertions(ner_predictor):
    p = ner_predictor
    assert p.predict(SENT)[-2][1] == "I-PER"
    assert p.predict(SENT, merge_tokens=True, return_offsets=True)[0] == ("John Smith", "PER", (21, 31))


def test_token_formats(ner_predictor):
    p = ner_predictor
    pairs = p.predict(SENT)
    assert pairs == [("There", "O"), ("is", "O"), ("a", "O"), ("man", "O"), ("named", "O"), ("John", "B-PER"),
                     ("Smith", "I-PER"), (".", "O")]
    with_offsets = p.predict(SENT, return_offsets=True)
    assert [(w, t) for w, t, _ in with_offsets] == pairs
    assert all(SENT[s:e] == w for w, _, (s, e) in with_offsets)
    assert with_offsets[-1][2] == (31, 32)  # end exclusive, also at the end of the sentence
    with_proba = p.predict(SENT, return_proba=True)
    assert [(w, t) for w, t, _ in with_proba] == pairs
    assert all(isinstance(prob, float) and 0.5 < prob <= 1.0 for _, _, prob in with_proba)
    both = p.predict(SENT, return_proba=True, return_offsets=True)
    assert [x[:3] for x in both] == with_proba and [x[3] for x in both] == [x[2] for x in with_offsets]


def test_merged_entities(ner_predictor):
    p = ner_predictor
    text = "there is a man named Mary  Jones in Rome ."
    entities = p.predict(text, merge_tokens=True)
    # the text is the sentence's own characters (two spaces kept), not the words joined
    assert entities == [("Mary  Jones", "PER"), ("Rome", "LOC")]
    with_offsets = p.predict(text, merge_tokens=True, return_offsets=True)
    assert [e[:2] for e in with_offsets] == entities
    assert all(text[s:e] == t for t, _, (s, e) in with_offsets)
    scored = p.predict(text, merge_tokens=True, return_offsets=True, return_proba=True)
    assert [e[:3] for e in scored] == with_offsets  # ktrain's order: offsets, then the mean probability
    assert all(0.0 < e[3] <= 1.0 for e in scored)
    # kbert 0.1's dicts
    dicts = p.predict(text, merge_tokens=True, as_dict=True)
    assert dicts[0] == {"entity": "PER", "text": "Mary  Jones", "start": 21, "end": 32}
    assert [(d["text"], d["entity"], (d["start"], d["end"])) for d in dicts] == with_offsets
    assert p.predict(SENT, as_dict=True)[5] == {"word": "John", "tag": "B-PER", "start": 21, "end": 25}
    assert p.predict(SENT, merge_tokens=True, as_dict=True, return_proba=True)[0]["score"] == pytest.approx(
        scored_one(p, SENT))


def scored_one(p, sentence):
    return p.predict(sentence, merge_tokens=True, return_proba=True)[0][2]


def test_batches_empty_texts_and_word_lists(ner_predictor):
    p = ner_predictor
    assert p.predict("") == []
    batch = p.predict(["", SENT, "rome"])
    assert batch == [[], p.predict(SENT), [("rome", "B-LOC")]]
    assert p.predict([]) == []
    words = ["john", "smith", "is", "in", "rome"]
    assert p.predict(words, is_split_into_words=True) == [("john", "B-PER"), ("smith", "I-PER"), ("is", "O"),
                                                          ("in", "O"), ("rome", "B-LOC")]
    assert p.predict([words, ["paris"]], is_split_into_words=True)[1] == [("paris", "B-LOC")]
    # offsets of word lists index the words joined by single spaces
    assert p.predict(words, is_split_into_words=True, merge_tokens=True, return_offsets=True) == [
        ("john smith", "PER", (0, 10)), ("rome", "LOC", (17, 21))]


def test_one_sentence_at_a_time_gives_the_batchs_tags_and_probabilities(ner_predictor):
    p = ner_predictor
    sentences = [SENT, "rome", "mary lee is in paris and john jones in london now", "so i feel it"]
    batch = p.predict(sentences, return_proba=True)
    for sentence, expected in zip(sentences, batch):
        got = p.predict(sentence, return_proba=True)
        assert [(w, t) for w, t, _ in got] == [(w, t) for w, t, _ in expected]
        assert [pr for _, _, pr in got] == pytest.approx([pr for _, _, pr in expected], abs=1e-6)


def test_custom_tokenizer(ner_predictor):
    p = ner_predictor
    calls = []

    def by_spaces(text):
        calls.append(text)
        return text.replace(".", " .").split()

    out = p.predict(SENT, custom_tokenizer=by_spaces, return_offsets=True)
    assert calls == [SENT]
    assert out == p.predict(SENT, return_offsets=True)
    # a tokenizer that changes the words: tags still, offsets refused, entities joined by spaces
    upper = p.predict(SENT, custom_tokenizer=lambda t: t.upper().split(), merge_tokens=True)
    assert upper == [("JOHN SMITH.", "PER")]
    with pytest.raises(ValueError, match=r"custom_tokenizer returned the word 'THERE' for sentences\[0\]"):
        p.predict(SENT, custom_tokenizer=lambda t: t.upper().split(), return_offsets=True)
    with pytest.raises(TypeError, match="custom_tokenizer must be a function"):
        p.predict(SENT, custom_tokenizer="split")
    with pytest.raises(TypeError, match="custom_tokenizer returned a string"):
        p.predict(SENT, custom_tokenizer=lambda t: t)
    with pytest.raises(TypeError, match=r"custom_tokenizer\(text\)\[1\] is None, not a string"):
        p.predict(SENT, custom_tokenizer=lambda t: ["a", None])


@pytest.mark.parametrize("bad, match", [
    (None, r"sentences must be a string or a list of strings .*, got None"),
    (5, r"sentences must be a string or a list of strings .*, got an int \(5\)"),
    (["ok", None], r"sentences\[1\] is None, not a string"),
    ([["john", "smith"]], r"sentences\[0\] is a list"),
])
def test_inputs_that_are_not_sentences_name_the_argument(ner_predictor, bad, match):
    with pytest.raises(TypeError, match=match):
        ner_predictor.predict(bad)


def test_word_list_errors(ner_predictor):
    with pytest.raises(TypeError, match="is_split_into_words=True takes a list of words"):
        ner_predictor.predict("john smith", is_split_into_words=True)
    with pytest.raises(TypeError, match=r"sentences\[1\] must be a list of words, got an int"):
        ner_predictor.predict([["john"], 5], is_split_into_words=True)
    with pytest.raises(TypeError, match=r"sentences\[1\] must be a list of words, got a str \('rome'\)"):
        ner_predictor.predict([["john"], "rome"], is_split_into_words=True)


def test_merge_rules():
    text = "A B C D E F"
    spans = split_words(text)
    tags = ["B-PER", "I-PER", "I-LOC", "O", "I-ORG", "B-ORG"]
    ents = merge_entities(text, spans, tags, [0.5, 0.7, 0.9, 0.1, 0.2, 0.3])
    # I-X after an entity of another type, or after O, starts an entity (as seqeval counts them)
    assert [(e["text"], e["entity"], e["start"], e["end"], e["probs"]) for e in ents] == [
        ("A B", "PER", 0, 3, [0.5, 0.7]), ("C", "LOC", 4, 5, [0.9]), ("E", "ORG", 8, 9, [0.2]),
        ("F", "ORG", 10, 11, [0.3])]


def test_locate_words_follows_the_text():
    assert locate_words("a b a", ["a", "a"]) == [("a", 0, 1), ("a", 4, 5)]
    assert locate_words("ab", ["x", "b"]) == [("x", None, None), ("b", 1, 2)]
