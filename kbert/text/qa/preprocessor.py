"""The QA preprocessor: question/context windows with character offsets → TaskData, and
the span loss, metric and SQuAD report.

A feature is `[start] question [sep] window of the context [end]` in the family's tokens:
`[CLS] q [SEP] c [SEP]` for BERT, `<s> q </s></s> c </s>` for RoBERTa and XLM-R (two
separators, `Family.pair_separators`). Contexts longer than one window are covered by windows
that start every `doc_stride` pieces (BERT's convention).
Each context piece keeps the character span it came from, so an answer is cut from the
original context string (spaces, accents and unicode included). A window's targets are the
gold answers it holds whole, as (start, end) piece pairs (`all_answers=True`: every distinct
gold span; else the first); a window that holds none is trained to point at the start piece
([CLS], <s>).
"""

import numpy as np
import pandas as pd
import tensorflow as tf

from kbert import metrics as M
from kbert.data import TaskData
from kbert.families import family_of, special_ids
from kbert.tasks import TaskPreprocessor
from kbert.text.qa.decode import best_null_threshold, decode_answers
from kbert.text.qa.offsets import PieceCache, context_pieces, word_spans
from kbert.text.qa.squad import squad_scores


class QAPreprocessor(TaskPreprocessor):
    """Question/context windows with character offsets; knows the span loss and the SQuAD metric.

    Args:
        tokenizer: a keras-hub tokenizer (`kbert.encoders.load_tokenizer`).
        maxlen: pieces per window, special pieces included.
        doc_stride: a long context's windows start every doc_stride pieces.
        max_query_length: questions are cut to this many pieces (default min(64, maxlen // 4)).
        preset: the encoder spec the texts are tokenized for.
        version_2: SQuAD v2 (unanswerable questions: a no-answer threshold on the start piece's score).
        null_threshold: that threshold (tuned by validation on v2 data).
        all_answers: train on every distinct gold span of a question (SQuAD's evaluation data
            has several annotators' answers) with span_loss's marginal over them; False: the
            first gold answer that word pieces express exactly (else the first) only.

    Example:
    >>> # trn, val, preproc = kbert.text.qa_from_squad("train.json.gz", val_filepath="val.json.gz")
    """

    task = "qa"
    per_piece = True

    def __init__(self, tokenizer, maxlen=384, doc_stride=128, max_query_length=None, preset="minilm",
                 version_2=False, null_threshold=0.0, all_answers=False):
        if max_query_length is None:  # questions beyond this many pieces are cut (64 at maxlen 384)
            max_query_length = min(64, maxlen // 4)
        if maxlen < max_query_length + 16:
            raise ValueError(f"maxlen={maxlen} leaves too little room after max_query_length={max_query_length}.")
        self.tokenizer = tokenizer
        self.maxlen, self.doc_stride, self.max_query_length = int(maxlen), int(doc_stride), int(max_query_length)
        self.preset = preset
        self.version_2 = bool(version_2)
        self.null_threshold = float(null_threshold)
        self.all_answers = bool(all_answers)
        self._cache = PieceCache(tokenizer)
        self._specials = special_ids(tokenizer)
        self._separators = family_of(tokenizer).pair_separators

    def get_classes(self):
        return []

    def loss(self):
        return M.span_loss

    def metrics(self):
        return [M.SpanAccuracy(name="accuracy")]

    def encode(self, examples, name="data", verbose=1, with_targets=True):
        """Question dicts → TaskData of windows (targets: [start, end] piece pairs of the gold
        spans a window holds, [s0, e0, s1, e1, ...], -1 padded; [0, 0] when it holds none)."""
        style = self._cache.style
        self._cache.fill([w for ex in examples for key in ("context", "question")
                          for w, _, _ in word_spans(ex[key], style)])
        start_id, end_id = self._specials["start"], self._specials["end"]
        n_sep = self._separators
        ids, segs, targets, rows = [], [], [], []
        contexts, bounds_of = {}, {}
        multi, cut = 0, []
        for qi, ex in enumerate(examples):
            q = [p for w, _, _ in word_spans(ex["question"], style) for p in self._cache[w]]
            if len(q) > self.max_query_length:
                cut.append(ex.get("id", qi))
                q = q[: self.max_query_length]
            key = ex["context"]
            if key not in contexts:
                contexts[key] = context_pieces(key, self._cache)
            c_ids, c_start, c_end = contexts[key]
            room = self.maxlen - len(q) - 2 - n_sep
            starts, s = [], 0
            while True:  # BERT's windows: every doc_stride pieces until one reaches the end
                starts.append(s)
                if s + room >= len(c_ids):
                    break
                s += min(room, self.doc_stride)
            multi += len(starts) > 1
            spans = []
            if ex["answers"] and not ex.get("is_impossible"):
                # gold answers that word pieces can express exactly ("eight", not the "8" inside
                # "18" that a SQuAD annotator marked), else the first; distinct character spans
                if key not in bounds_of:
                    bounds_of[key] = (set(c_start), set(c_end))
                bounds = bounds_of[key]
                exact = [a for a in ex["answers"] if a["answer_start"] in bounds[0]
                         and a["answer_start"] + len(a["text"]) in bounds[1]] or ex["answers"][:1]
                spans = list(dict.fromkeys((a["answer_start"], a["answer_start"] + len(a["text"]))
                                           for a in (exact if self.all_answers else exact[:1])))
            for s in starts:
                e = min(len(c_ids), s + room)
                offset = len(q) + 1 + n_sep
                seq = [start_id] + q + [end_id] * n_sep + c_ids[s:e] + [end_id]
                seg = [0] * offset + [1] * (e - s + 1)
                target = []
                for a_s, a_e in spans:
                    if c_start[s] <= a_s and c_end[e - 1] >= a_e:
                        ts = next(i for i in range(s, e) if c_end[i] > a_s)
                        te = next(i for i in range(e - 1, s - 1, -1) if c_start[i] < a_e)
                        pair = (ts - s + offset, te - s + offset)
                        if te >= ts and pair not in target:
                            target.append(pair)
                ids.append(seq)
                segs.append(seg)
                targets.append(target or [(0, 0)])
                rows.append({"question": qi, "window_start": s, "offset": offset, "n_context": e - s})
        if verbose:
            print(f"kbert: {name}: {len(examples)} questions, {len(ids)} windows ({multi} contexts longer than "
                  f"one window of maxlen={self.maxlen} were split with doc_stride={self.doc_stride})")
        if cut:  # told even when verbose=0: the model does not see these questions whole
            print(f"kbert: {name}: {len(cut)} of {len(examples)} questions are longer than max_query_length="
                  f"{self.max_query_length} word pieces and were cut to their first {self.max_query_length} "
                  f"(ids {cut[:5]}{'…' if len(cut) > 5 else ''}); pass a larger max_query_length= to keep more.")
        data = QAData({"token_ids": tf.ragged.constant(ids, tf.int32),
                       "segment_ids": tf.ragged.constant(segs, tf.int32)},
                      span_targets(targets) if with_targets else None, self, source=pd.DataFrame(rows),
                      pad_values={"token_ids": self._specials["pad"]},
                      stats={"questions": len(examples), "split_contexts": multi, "cut_questions": len(cut)})
        data.examples = examples
        data.contexts = contexts
        return data

    # --- decoding
    def decode(self, outputs, data, top_k=1, null_threshold=None):
        """Per-window span logits → per question: [{"answer", "score", "start", "end"}, ...]
        (best first); see kbert.text.qa.decode.decode_answers."""
        threshold = self.null_threshold if null_threshold is None else null_threshold
        return decode_answers(outputs, data, top_k=top_k, version_2=self.version_2, null_threshold=threshold)

    def report(self, outputs, data, class_names=None, print_report=True):
        """Official SQuAD v1.1 exact match and F1 (v2: also HasAns / NoAns); returns a dict."""
        golds = [[a["text"] for a in ex["answers"]] if not ex.get("is_impossible") else [""]
                 for ex in data.examples]
        if self.version_2:
            self.null_threshold = best_null_threshold(outputs, data, golds)
        preds = [r[0]["answer"] for r in self.decode(outputs, data)[0]]
        result = squad_scores(preds, golds)
        if self.version_2:
            has = [i for i, g in enumerate(golds) if g != [""]]
            no = [i for i, g in enumerate(golds) if g == [""]]
            for name, idx in (("HasAns", has), ("NoAns", no)):
                if idx:
                    sub = squad_scores([preds[i] for i in idx], [golds[i] for i in idx])
                    result[f"{name}_exact_match"], result[f"{name}_f1"] = sub["exact_match"], sub["f1"]
            result["null_threshold"] = self.null_threshold
        if print_report:
            print("  ".join(f"{k}: {v:.2f}" for k, v in result.items()))
        return result

    def example_losses(self, outputs, targets):
        return M.span_cross_entropy(outputs, targets)

    def describe(self, logits, targets):
        z = np.asarray(logits)
        return (int(targets[0]), int(targets[1])), (int(z[:, 0].argmax()), int(z[:, 1].argmax()))

    def source_text(self, data, row):
        ex = data.examples[data.source.iloc[row]["question"]]
        return f"Q: {ex['question']}\nA: {[a['text'] for a in ex['answers']]}\nContext: {ex['context'][:300]}…"

    # --- saving
    def get_config(self):
        return {"maxlen": self.maxlen, "doc_stride": self.doc_stride, "max_query_length": self.max_query_length,
                "preset": self.preset if isinstance(self.preset, str) else None, "version_2": self.version_2,
                "null_threshold": self.null_threshold, "all_answers": self.all_answers,
                "lowercase": bool(getattr(self.tokenizer, "lowercase", False))}

    @classmethod
    def from_config(cls, config, tokenizer):
        return cls(tokenizer, config["maxlen"], config["doc_stride"], config["max_query_length"],
                   config.get("preset"), config.get("version_2", False), config.get("null_threshold", 0.0),
                   config.get("all_answers", False))


def span_targets(windows):
    """Per-window lists of (start, end) pairs → int32 [windows, 2 * most spans], -1 padded."""
    width = max((len(t) for t in windows), default=1)
    out = np.full((len(windows), 2 * width), -1, "int32")
    for i, pairs in enumerate(windows):
        out[i, : 2 * len(pairs)] = np.asarray(pairs, "int32").reshape(-1)
    return out


class QAData(TaskData):
    examples = None
    contexts = None

    def subset(self, indices):
        raise NotImplementedError("QA data is split by question, not by window.")
