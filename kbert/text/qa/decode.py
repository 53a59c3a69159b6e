"""n-best decoding of span logits into answers (character spans of the context).

The 20 best starts × ends of every window of a question, end ≥ start, at most 30
pieces, context pieces only (spans of at least one character); for SQuAD v2 a no-answer
wins when the start piece's ([CLS], <s>) score beats the best span by more than a threshold.
"""

import collections

import numpy as np

from kbert.text.qa.squad import squad_scores

MAX_ANSWER_PIECES = 30
N_BEST = 20


def decode_answers(outputs, data, top_k=1, version_2=False, null_threshold=0.0):
    """Per-window span logits → per question: [{"answer", "score", "start", "end"}, ...]
    (best first). For SQuAD v2, "" (no answer) when the start piece's score beats the best span
    by more than null_threshold."""
    threshold = null_threshold
    per_q = collections.defaultdict(list)
    null = {}
    for logits, (_, row) in zip(outputs, data.source.iterrows()):
        qi = row["question"]
        ex = data.examples[qi]
        _, c_start, c_end = data.contexts[ex["context"]]
        st, en = np.asarray(logits[:, 0], "float64"), np.asarray(logits[:, 1], "float64")
        null[qi] = min(null.get(qi, np.inf), st[0] + en[0])
        lo, hi = row["offset"], row["offset"] + row["n_context"]
        s_idx = lo + np.argsort(-st[lo:hi])[:N_BEST]
        e_idx = lo + np.argsort(-en[lo:hi])[:N_BEST]
        for i in s_idx:
            for j in e_idx:
                if j < i or j - i + 1 > MAX_ANSWER_PIECES:
                    continue
                a = c_start[row["window_start"] + i - lo]
                b = c_end[row["window_start"] + j - lo]
                if b <= a:  # pieces that stand for no character (a SentencePiece "▁" alone)
                    continue
                per_q[qi].append((st[i] + en[j], a, b))
    results = []
    for qi, ex in enumerate(data.examples):
        cands = sorted(per_q.get(qi, []), key=lambda c: -c[0])
        seen, best = set(), []
        for score, a, b in cands:
            if (a, b) in seen:
                continue
            seen.add((a, b))
            best.append({"answer": ex["context"][a:b], "score": float(score), "start": int(a), "end": int(b)})
            if len(best) >= top_k:
                break
        if version_2 and (not best or null.get(qi, -np.inf) - best[0]["score"] > threshold):
            best = [{"answer": "", "score": float(null.get(qi, 0.0)), "start": -1, "end": -1}] + best[: top_k - 1]
        results.append(best or [{"answer": "", "score": float("-inf"), "start": -1, "end": -1}])
    return results, null


def best_null_threshold(outputs, data, golds):
    """The no-answer threshold (from -10 to 10 in steps of 0.5) with the best SQuAD F1."""
    best_t, best_f1 = 0.0, -1.0
    for t in np.linspace(-10, 10, 41):
        preds = [r[0]["answer"] for r in decode_answers(outputs, data, version_2=True, null_threshold=t)[0]]
        f1 = squad_scores(preds, golds)["f1"]
        if f1 > best_f1:
            best_t, best_f1 = float(t), f1
    return best_t
