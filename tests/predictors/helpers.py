"""Helpers shared by the predictor tests: texts, toy NER sentences and toy QA questions."""

import numpy as np

TEXTS = ["i feel happy today", "so sad", "", "the cat is blue and really very awful now", "🙂 weird ünïcode"]

FIRST = ["john", "mary", "anna", "george", "peter"]
LAST = ["smith", "jones", "brown", "lee"]
PLACES = ["paris", "london", "rome", "berlin"]
FILL = ["i", "feel", "the", "a", "is", "today", "now", "so", "it", "this", "and", "there", "man", "named"]


def ner_sentences(n=200, seed=0):
    """Words and IOB2 tags: people (B-PER I-PER), places (B-LOC) among filler words, and
    ktrain's test sentence pattern "there is a man named <first> <last> ."."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for i in range(n):
        if i % 4 == 0:
            words = ["there", "is", "a", "man", "named", str(rng.choice(FIRST)), str(rng.choice(LAST)), "."]
            tags = ["O"] * 5 + ["B-PER", "I-PER", "O"]
        else:
            words, tags = [], []
            for _ in range(int(rng.integers(3, 9))):
                r = rng.random()
                if r < 0.2:
                    words += [str(rng.choice(FIRST)), str(rng.choice(LAST))]
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


def qa_examples(n=240, seed=0, question="what is the color ?", answers=("red", "blue", "green")):
    """One answer word among filler words; the question asks for it (SQuAD-like dicts)."""
    rng = np.random.default_rng(seed)
    fill = ["the", "cat", "dog", "sky", "is", "a", "it", "so", "very"]
    out = []
    for i in range(n):
        words = [str(w) for w in rng.choice(fill, size=int(rng.integers(4, 14)))]
        answer = str(rng.choice(answers))
        words.insert(int(rng.integers(0, len(words) + 1)), answer)
        context = " ".join(words) + " ."
        out.append({"id": f"q{i}", "question": question, "context": context,
                    "answers": [{"text": answer, "answer_start": (" " + context).index(f" {answer} ")}],
                    "is_impossible": False})
    return out
