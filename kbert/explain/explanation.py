"""The result of `predictor.explain`: words with weights, shown as highlighted HTML."""

import html
import os
import tempfile

import numpy as np

POSITIVE_RGB = "0, 128, 0"  # green: the word pushed towards the explained class (or value)
NEGATIVE_RGB = "220, 0, 0"  # red: the word pushed away from it


class Explanation:
    """Which words pushed a prediction, and how much.

    Args:
        text: the explained text.
        spans: [(word, start, end), ...] into `text`.
        weights: one float per word; > 0 pushed towards `class_name`, < 0 away from it.
        class_name: the explained class (for regression: "value").
        probability: the model's probability of that class for `text` (its value for regression).
        method: "lime" or "gradients".
        info: what the method measured (LIME: the fit's weighted R² `score`, `n_samples`;
            gradients: `target_logit`, `baseline_logit`, `completeness_gap`, `steps`).
        title: the header's subject ("entity 'John Smith' (PER)", "answer 'blue'"); default the class.
        value_name: what `probability` is: "probability" (default), "value" (regression), "score" (QA).

    Example:
    >>> # e = predictor.explain("i feel so happy today"); e.top(1)
    >>> # [('happy', 0.41)]
    >>> # e.save_html("why.html")       # in a notebook, `e` alone shows the highlighted text
    """

    def __init__(self, text, spans, weights, class_name, probability, method, info=None, title=None,
                 value_name=None):
        weights = np.asarray(weights, dtype="float64").reshape(-1)
        if len(weights) != len(spans):
            raise ValueError(f"{len(spans)} words but {len(weights)} weights.")
        self.text = text
        self.spans = [(w, int(s), int(e)) for w, s, e in spans]
        self.weights = weights
        self.class_name = class_name
        self.probability = float(probability)
        self.method = method
        self.info = dict(info or {})
        self.title = title
        self.value_name = value_name or ("value" if class_name == "value" else "probability")

    @property
    def words(self):
        return [w for w, _, _ in self.spans]

    def as_list(self):
        """[(word, weight), ...], the largest |weight| first (as lime's `as_list`)."""
        order = sorted(range(len(self.weights)), key=lambda i: (-abs(self.weights[i]), i))
        return [(self.spans[i][0], float(self.weights[i])) for i in order]

    def top(self, k=5):
        """The k words of largest |weight|: [(word, weight), ...]."""
        return self.as_list()[:k]

    def __repr__(self):
        shown = ", ".join(f"{w!r}: {v:+.3f}" for w, v in self.top(5))
        return (f"<Explanation of {self.class_name!r} ({self.value_name} {self.probability:.3f}, {self.method}) "
                f"over {len(self.spans)} words; top: {shown}>")

    # ----------------------------------------------------------------- HTML
    def html_body(self):
        """The header and the highlighted text, as an HTML fragment."""
        subject = self.title or f"class <b>{html.escape(str(self.class_name))}</b>"
        header = (f'<p class="kbert-explain-header">{subject} · {self.value_name} {self.probability:.3f} · '
                  f'{html.escape(self.method)}</p>')
        scale = float(np.max(np.abs(self.weights))) if len(self.weights) else 0.0
        parts, pos = [], 0
        for (word, start, end), weight in zip(self.spans, self.weights):
            parts.append(html.escape(self.text[pos:start]))
            alpha = abs(weight) / scale if scale > 0 else 0.0
            rgb = POSITIVE_RGB if weight >= 0 else NEGATIVE_RGB
            parts.append(f'<span class="kbert-word" data-weight="{weight:.6g}" title="{weight:+.4f}" '
                         f'style="background-color: rgba({rgb}, {alpha:.3f})">{html.escape(word)}</span>')
            pos = end
        parts.append(html.escape(self.text[pos:]))
        return (f'<div class="kbert-explanation">{header}'
                f'<p style="line-height: 1.8">{"".join(parts)}</p></div>')

    def _repr_html_(self):
        return self.html_body()

    def save_html(self, path):
        """Writes a standalone HTML page (atomically: a temporary file, then a rename).

        Args:
            path: the file to write.

        Returns:
            The file's absolute path.
        """
        path = os.path.abspath(os.fspath(path))
        page = ('<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
                f"<title>kbert explanation: {html.escape(str(self.class_name))}</title></head>"
                f'<body style="font-family: sans-serif">{self.html_body()}</body></html>\n')
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".kbert-", suffix=".html")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(page)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
        return path
