"""Toy NER data shared by the NER tests: people (B-PER I-PER) and places (B-LOC) among filler words."""

import numpy as np

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
