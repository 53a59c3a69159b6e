"""kbert.text.qa.offsets: pre-tokenization with character offsets."""

from kbert.text import qa


def test_split_with_offsets_keeps_exact_substrings():
    text = "  Café «naïve» Zürich—1,000 km 東京 don't\tend."
    for word, s, e in qa.split_with_offsets(text):
        assert text[s:e] == word and word.strip() == word
    assert [w for w, _, _ in qa.split_with_offsets("a,b c")] == ["a", ",", "b", "c"]
