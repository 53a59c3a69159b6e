import os
import re
import shutil
import subprocess

import pytest

from kbert.explain.explanation import Explanation
from kbert.explain.words import split_words

TEXT = "the <movie> was so wonderful & bad"


def explanation():
    spans = split_words(TEXT)
    weights = [0.0, 0.0, 0.1, 0.0, 0.0, 0.0, 0.9, 0.0, -0.45, 0.0][:len(spans)]
    return Explanation(TEXT, spans, weights, "pos", 0.93, "lime")


def test_lists_html_and_page(tmp_path):
    e = explanation()
    assert e.top(2) == [("wonderful", 0.9), ("bad", -0.45)]
    assert len(e.as_list()) == len(e.words)
    html = e._repr_html_()  # what a notebook shows
    assert "<b>pos</b>" in html and "probability 0.930" in html
    assert "&lt;" in html and "&amp;" in html  # the text is escaped
    assert "rgba(0, 128, 0, 1.000)\">wonderful" in html and "rgba(220, 0, 0, 0.500)\">bad" in html
    path = e.save_html(tmp_path / "why.html")
    assert open(path, encoding="utf-8").read().startswith("<!DOCTYPE html>")
    assert os.listdir(tmp_path) == ["why.html"]  # no temporary file left
    with pytest.raises(ValueError, match="weights"):
        Explanation(TEXT, split_words(TEXT), [1.0], "pos", 0.5, "lime")


CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on PATH (Debian: apt-get install -y chromium)")
def test_the_page_opens_in_a_headless_browser_with_the_top_word_highlighted_most(tmp_path):
    path = explanation().save_html(tmp_path / "why.html")
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", f"file://{path}"],
                         capture_output=True, text=True, timeout=120).stdout
    assert "kbert-explanation" in dom  # the page opened and the browser built its DOM
    spans = re.findall(r'<span class="kbert-word"[^>]*rgba\(([\d, ]+), ([\d.]+)\)[^>]*>([^<]*)</span>', dom)
    assert len(spans) == len(split_words(TEXT))
    strongest = max(spans, key=lambda s: float(s[1]))
    assert strongest[2] == "wonderful" and strongest[0] == "0, 128, 0"
