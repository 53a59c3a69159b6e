from kbert.explain.words import split_words, without_words


def test_words_carry_their_offsets():
    text = "I don't  know, well-known U.S!"
    spans = split_words(text)
    assert [w for w, _, _ in spans] == ["I", "don't", "know", ",", "well-known", "U.S", "!"]
    assert all(text[s:e] == w for w, s, e in spans)


def test_left_out_words_take_their_spaces_with_them():
    t = "so  very happy!"
    spans = split_words(t)
    assert without_words(t, spans, [1, 1, 1, 1]) == t
    assert without_words(t, spans, [0, 1, 1, 1]) == "very happy!"
    assert without_words(t, spans, [1, 0, 1, 1]) == "so happy!"
    assert without_words(t, spans, [1, 1, 0, 1]) == "so  very!"
    assert without_words(t, spans, [0, 0, 0, 0]) == ""
