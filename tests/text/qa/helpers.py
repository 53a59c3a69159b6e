"""Helpers shared by the QA tests: toy questions and oracle span logits."""

import numpy as np


def oracle_outputs(data):
    """Logits one-hot (×10) at each window's (first) target start/end pieces."""
    outs = []
    for ids, t in zip(data.features["token_ids"].to_list(), data.targets):
        s, e = t[0], t[1]
        z = np.zeros((len(ids), 2), "float32")
        z[s, 0] = z[e, 1] = 10.0
        outs.append(z)
    return outs


def toy_examples(n=60, impossible_every=0, seed=0):
    """One color word among filler words; the question asks for the color (none: unanswerable)."""
    rng = np.random.default_rng(seed)
    fill, colors = ["the", "cat", "dog", "sky", "is", "a", "it", "so", "very"], ["red", "blue", "green"]
    out = []
    for i in range(n):
        words = [str(w) for w in rng.choice(fill, size=int(rng.integers(4, 14)))]
        impossible = bool(impossible_every and i % impossible_every == 0)
        color = str(rng.choice(colors))
        if not impossible:
            words.insert(int(rng.integers(0, len(words) + 1)), color)
        context = " ".join(words) + " ."
        answers = [] if impossible else [{"text": color, "answer_start": (" " + context).index(f" {color} ")}]
        out.append({"id": f"q{i}", "question": "what is the color ?", "context": context, "answers": answers,
                    "is_impossible": impossible})
    return out
