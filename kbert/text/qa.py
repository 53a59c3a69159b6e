"""Extractive question answering: SQuAD / DataFrame loaders, windows with character
offsets, the span model, n-best decoding and the official SQuAD metric.

    trn, val, preproc = qa_from_squad("train.json.gz", val_filepath="val.json.gz", maxlen=384, doc_stride=128)
    model = qa_model(preproc)

A feature is `[CLS] question [SEP] window of the context [SEP]`. Contexts longer than one
window are covered by windows that start every `doc_stride` pieces (BERT's convention).
Each context piece keeps the character span it came from, so an answer is cut from the
original context string (spaces, accents and unicode included). A window that does not
hold the whole (first) gold answer is trained to point at [CLS].
"""

import collections
import gzip
import json
import os
import re
import string

import keras
import numpy as np
import pandas as pd
import regex
import tensorflow as tf

from kbert import distribute, optimizers
from kbert.data import TaskData, set_fixed_shapes
from kbert.encoders import load_encoder, load_tokenizer
from kbert.precision import dtype_policy
from kbert.text.classification import DataError, _rows

MAX_ANSWER_PIECES = 30
N_BEST = 20

# ------------------------------------------------------------------- words + offsets


def _split_pattern():
    from keras_hub.src.tokenizers import word_piece_tokenizer as wp

    return regex.compile("|".join([wp.PY_WHITESPACE_REGEX, wp.PY_PUNCTUATION_REGEX, wp.PY_CJK_REGEX])), \
        regex.compile("|".join([wp.PY_PUNCTUATION_REGEX, wp.PY_CJK_REGEX]))


_DELIM, _KEEP = None, None


def split_with_offsets(text):
    """keras-hub's BERT pre-tokenization (whitespace, punctuation, CJK) with character
    offsets: [(word, start, end), ...]."""
    global _DELIM, _KEEP
    if _DELIM is None:
        _DELIM, _KEEP = _split_pattern()
    words, pos = [], 0
    for m in _DELIM.finditer(text):
        if m.start() > pos:
            words.append((text[pos:m.start()], pos, m.start()))
        if _KEEP.fullmatch(m.group()):
            words.append((m.group(), m.start(), m.end()))
        pos = m.end()
    if pos < len(text):
        words.append((text[pos:], pos, len(text)))
    return words


class _PieceCache:
    """Word → word-piece ids, tokenized in batches in the graph and cached."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.cache = {}
        self.unk = tokenizer.token_to_id(tokenizer.oov_token)

    def fill(self, words):
        todo = sorted({w for w in words if w not in self.cache})
        if not todo:
            return
        ds = tf.data.Dataset.from_tensor_slices(tf.constant(todo, tf.string)).batch(4096).map(self.tokenizer)
        i = 0
        for batch in ds:
            for ids in batch.to_list():
                self.cache[todo[i]] = ids or [self.unk]
                i += 1

    def __getitem__(self, word):
        return self.cache[word]


def context_pieces(text, cache, vocab):
    """Context → (piece ids, char start per piece, char end per piece)."""
    words = split_with_offsets(text)
    ids, starts, ends = [], [], []
    for word, s, e in words:
        pieces = cache[word]
        lengths = [len(vocab[p].removeprefix("##")) if vocab[p] != "[UNK]" else 0 for p in pieces]
        if sum(lengths) != e - s or len(pieces) == 1:
            # normalisation changed the length (or one piece): first piece from the word's start,
            # last to its end, inner pieces split evenly
            bounds = np.linspace(s, e, len(pieces) + 1).round().astype(int)
        else:
            bounds = s + np.concatenate([[0], np.cumsum(lengths)])
        for k, p in enumerate(pieces):
            ids.append(p)
            starts.append(int(bounds[k]))
            ends.append(int(bounds[k + 1]))
    return ids, starts, ends


# ------------------------------------------------------------------------- readers


def read_squad(path, max_questions=None):
    """SQuAD v1.1 / v2.0 JSON (plain or .gz) → list of question dicts."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"SQuAD file {path!r} does not exist.")
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise DataError(f"{path!r} is not SQuAD JSON: {e}") from e
    if "data" not in doc:
        raise DataError(f"{path!r} has no 'data' list: not the SQuAD layout.")
    out = []
    for article in doc["data"]:
        for para in article.get("paragraphs", []):
            for qa in para.get("qas", []):
                out.append({"id": str(qa["id"]), "question": qa["question"], "context": para["context"],
                            "answers": [{"text": a["text"], "answer_start": int(a["answer_start"])}
                                        for a in qa.get("answers", [])],
                            "is_impossible": bool(qa.get("is_impossible", False)),
                            "title": article.get("title", "")})
                if max_questions and len(out) >= max_questions:
                    return out
    return out


def _check_examples(examples, name, skip_bad_answers=False):
    good, bad = [], []
    for ex in examples:
        qid = ex["id"]
        if not ex["question"].strip():
            raise DataError(f"{name}: question {qid!r} has an empty question.")
        if not ex["context"].strip():
            raise DataError(f"{name}: question {qid!r} has an empty context.")
        if not ex["answers"] and not ex["is_impossible"]:
            raise DataError(f"{name}: question {qid!r} has no answer and is not marked is_impossible.")
        wrong = [a for a in ex["answers"]
                 if ex["context"][a["answer_start"]:a["answer_start"] + len(a["text"])] != a["text"]]
        if wrong:
            if not skip_bad_answers:
                a = wrong[0]
                raise DataError(
                    f"{name}: question {qid!r}: answer_start {a['answer_start']} does not point at answer "
                    f"{a['text']!r} (the context has "
                    f"{ex['context'][a['answer_start']:a['answer_start'] + len(a['text'])]!r} there). "
                    "Fix it, or pass skip_bad_answers=True to skip such questions (they are counted).")
            bad.append(qid)
            continue
        good.append(ex)
    if bad:
        print(f"kbert: {name}: skipped {len(bad)} questions whose answer_start does not point at their answer "
              f"(ids {bad[:5]}{'…' if len(bad) > 5 else ''}).")
    return good


# --------------------------------------------------------------------- preprocessor


class QAPreprocessor:
    """Question/context windows with character offsets; knows the span loss, the SQuAD
    metric and the QA predictor."""

    task = "qa"
    per_piece = True

    def __init__(self, tokenizer, maxlen=384, doc_stride=128, max_query_length=None, preset="minilm",
                 version_2=False, null_threshold=0.0):
        if max_query_length is None:  # questions beyond this many pieces are cut (64 at maxlen 384)
            max_query_length = min(64, maxlen // 4)
        if maxlen < max_query_length + 16:
            raise ValueError(f"maxlen={maxlen} leaves too little room after max_query_length={max_query_length}.")
        self.tokenizer = tokenizer
        self.maxlen, self.doc_stride, self.max_query_length = int(maxlen), int(doc_stride), int(max_query_length)
        self.preset = preset
        self.version_2 = bool(version_2)
        self.null_threshold = float(null_threshold)
        self._cache = _PieceCache(tokenizer)
        self._vocab = tokenizer.get_vocabulary()

    def get_classes(self):
        return []

    def loss(self):
        return span_loss

    def metrics(self):
        return [SpanAccuracy(name="accuracy")]

    def encode(self, examples, name="data", verbose=1, with_targets=True):
        """Question dicts → TaskData of windows (targets: [start piece, end piece])."""
        self._cache.fill([w for ex in examples for w, _, _ in split_with_offsets(ex["context"])])
        self._cache.fill([w for ex in examples for w, _, _ in split_with_offsets(ex["question"])])
        cls_id, sep_id = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        ids, segs, targets, rows = [], [], [], []
        contexts, bounds_of = {}, {}
        multi = 0
        for qi, ex in enumerate(examples):
            q = [p for w, _, _ in split_with_offsets(ex["question"]) for p in self._cache[w]][: self.max_query_length]
            key = ex["context"]
            if key not in contexts:
                contexts[key] = context_pieces(key, self._cache, self._vocab)
            c_ids, c_start, c_end = contexts[key]
            room = self.maxlen - len(q) - 3
            starts, s = [], 0
            while True:  # BERT's windows: every doc_stride pieces until one reaches the end
                starts.append(s)
                if s + room >= len(c_ids):
                    break
                s += min(room, self.doc_stride)
            multi += len(starts) > 1
            ans = None
            if ex["answers"] and not ex.get("is_impossible"):
                # the first gold answer that word pieces can express exactly ("eight", not the "8"
                # inside "18" that a SQuAD annotator marked), else the first
                if key not in bounds_of:
                    bounds_of[key] = (set(c_start), set(c_end))
                bounds = bounds_of[key]
                ans = next((a for a in ex["answers"] if a["answer_start"] in bounds[0]
                            and a["answer_start"] + len(a["text"]) in bounds[1]), ex["answers"][0])
            for s in starts:
                e = min(len(c_ids), s + room)
                offset = len(q) + 2
                seq = [cls_id] + q + [sep_id] + c_ids[s:e] + [sep_id]
                seg = [0] * (len(q) + 2) + [1] * (e - s + 1)
                target = [0, 0]
                if ans is not None:
                    a_s, a_e = ans["answer_start"], ans["answer_start"] + len(ans["text"])
                    if c_start[s] <= a_s and c_end[e - 1] >= a_e:
                        ts = next(i for i in range(s, e) if c_end[i] > a_s)
                        te = next(i for i in range(e - 1, s - 1, -1) if c_start[i] < a_e)
                        if te >= ts:
                            target = [ts - s + offset, te - s + offset]
                ids.append(seq)
                segs.append(seg)
                targets.append(target)
                rows.append({"question": qi, "window_start": s, "offset": offset, "n_context": e - s})
        if verbose:
            print(f"kbert: {name}: {len(examples)} questions, {len(ids)} windows ({multi} contexts longer than "
                  f"one window of maxlen={self.maxlen} were split with doc_stride={self.doc_stride})")
        data = QAData({"token_ids": tf.ragged.constant(ids, tf.int32),
                       "segment_ids": tf.ragged.constant(segs, tf.int32)},
                      np.asarray(targets, "int32") if with_targets else None, self, source=pd.DataFrame(rows),
                      pad_values={"token_ids": self.tokenizer.pad_token_id},
                      stats={"questions": len(examples), "split_contexts": multi})
        data.examples = examples
        data.contexts = contexts
        return data

    # --- decoding
    def decode(self, outputs, data, top_k=1, null_threshold=None):
        """Per-window span logits → per question: [{"answer", "score", "start", "end"}, ...]
        (best first). For SQuAD v2, "" (no answer) when the [CLS] score beats the best span
        by more than null_threshold."""
        threshold = self.null_threshold if null_threshold is None else null_threshold
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
            if self.version_2 and (not best or null.get(qi, -np.inf) - best[0]["score"] > threshold):
                best = [{"answer": "", "score": float(null.get(qi, 0.0)), "start": -1, "end": -1}] + best[: top_k - 1]
            results.append(best or [{"answer": "", "score": float("-inf"), "start": -1, "end": -1}])
        return results, null

    def validate(self, outputs, data, class_names=None, print_report=True):
        """Official SQuAD v1.1 exact match and F1 (v2: also HasAns / NoAns); returns a dict."""
        golds = [[a["text"] for a in ex["answers"]] if not ex.get("is_impossible") else [""]
                 for ex in data.examples]
        if self.version_2:
            self.null_threshold = self.best_null_threshold(outputs, data, golds)
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

    def best_null_threshold(self, outputs, data, golds):
        best_t, best_f1 = 0.0, -1.0
        for t in np.linspace(-10, 10, 41):
            preds = [r[0]["answer"] for r in self.decode(outputs, data, null_threshold=t)[0]]
            f1 = squad_scores(preds, golds)["f1"]
            if f1 > best_f1:
                best_t, best_f1 = float(t), f1
        return best_t

    def example_losses(self, outputs, targets):
        out = []
        for logits, t in zip(outputs, targets):
            z = np.asarray(logits, "float64")
            lse = np.log(np.exp(z - z.max(0)).sum(0)) + z.max(0)
            out.append(float(0.5 * ((lse[0] - z[t[0], 0]) + (lse[1] - z[t[1], 1]))))
        return np.asarray(out)

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
                "null_threshold": self.null_threshold, "lowercase": bool(self.tokenizer.lowercase)}

    @classmethod
    def from_config(cls, config, vocabulary):
        import keras_hub

        tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocabulary, lowercase=config["lowercase"])
        return cls(tokenizer, config["maxlen"], config["doc_stride"], config["max_query_length"],
                   config.get("preset"), config.get("version_2", False), config.get("null_threshold", 0.0))

    @property
    def predictor_class(self):
        from kbert.predictors.qa import QAPredictor

        return QAPredictor


class QAData(TaskData):
    examples = None
    contexts = None

    def subset(self, indices):
        raise NotImplementedError("QA data is split by question, not by window.")


# ----------------------------------------------------------------------- SQuAD metric


def normalize_answer(s):
    """The official SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def f1_score(prediction, gold):
    p, g = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not p or not g:
        return float(p == g)
    common = collections.Counter(p) & collections.Counter(g)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction, gold):
    return float(normalize_answer(prediction) == normalize_answer(gold))


def squad_scores(predictions, golds):
    """Exact match and F1 in percent, each the max over a question's gold answers."""
    em = [max(exact_match(p, g) for g in gs) for p, gs in zip(predictions, golds)]
    f1 = [max(f1_score(p, g) for g in gs) for p, gs in zip(predictions, golds)]
    return {"exact_match": 100 * float(np.mean(em)), "f1": 100 * float(np.mean(f1))}


# -------------------------------------------------------------------- loss + metric


@keras.saving.register_keras_serializable(package="kbert")
def span_loss(y_true, y_pred):
    """Mean of the start and end cross-entropies. y_true [batch, 2]; y_pred [batch, pieces, 2]."""
    y_true = keras.ops.cast(y_true, "int32")
    start = keras.losses.sparse_categorical_crossentropy(y_true[:, 0], y_pred[:, :, 0], from_logits=True)
    end = keras.losses.sparse_categorical_crossentropy(y_true[:, 1], y_pred[:, :, 1], from_logits=True)
    return 0.5 * (start + end)


@keras.saving.register_keras_serializable(package="kbert")
class SpanAccuracy(keras.metrics.Mean):
    """Share of windows whose start and end pieces are both predicted exactly."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = keras.ops.cast(y_true, "int32")
        pred = keras.ops.cast(keras.ops.argmax(y_pred, axis=1), "int32")  # [batch, 2]
        both = keras.ops.all(keras.ops.equal(pred, y_true), axis=-1)
        return super().update_state(keras.ops.cast(both, "float32"), sample_weight=sample_weight)


@keras.saving.register_keras_serializable(package="kbert")
class SpanLogits(keras.layers.Layer):
    """Dense start/end logits per piece, with padding pushed to -1e9 (never chosen)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(2, kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
                                        dtype=self.dtype_policy, name="span")

    def build(self, input_shape):
        self.dense.build(input_shape[0])

    def call(self, inputs):
        x, mask = inputs
        logits = keras.ops.cast(self.dense(x), "float32")
        mask = keras.ops.cast(keras.ops.expand_dims(mask, -1), "float32")
        return logits + (1.0 - mask) * -1e9


# --------------------------------------------------------------------------- loaders


def _split_questions(examples, val_pct, random_state):
    rng = np.random.default_rng(random_state)
    contexts = sorted({ex["context"] for ex in examples})
    rng.shuffle(contexts)
    n_val = int(np.ceil(len(contexts) * val_pct))
    if n_val < 1 or n_val >= len(contexts):
        raise DataError(f"{len(contexts)} contexts: too few to hold out val_pct={val_pct}; pass validation data.")
    val_ctx = set(contexts[:n_val])  # by context, so no paragraph is in both splits
    return [e for e in examples if e["context"] not in val_ctx], [e for e in examples if e["context"] in val_ctx]


def _qa_from_examples(train, val, maxlen, doc_stride, max_query_length, preset, val_pct, random_state,
                      skip_bad_answers, verbose):
    train = _check_examples(train, "train", skip_bad_answers)
    if not train:
        raise DataError("No training questions.")
    if val is None:
        train, val = _split_questions(train, val_pct, random_state)
    else:
        val = _check_examples(val, "val", skip_bad_answers)
    v2 = any(ex["is_impossible"] for ex in train + val)
    preproc = QAPreprocessor(load_tokenizer(preset), maxlen, doc_stride, max_query_length, preset, version_2=v2)
    return preproc.encode(train, "train", verbose), preproc.encode(val, "val", verbose), preproc


def qa_from_squad(train_filepath, val_filepath=None, maxlen=384, doc_stride=128, max_query_length=None,
                  preset="minilm", max_questions=None, val_pct=0.1, random_state=42, skip_bad_answers=False,
                  fixed_shapes=False, verbose=1):
    """SQuAD v1.1 / v2.0 JSON (plain or .gz) → (train, val, preprocessor).

    Training uses each question's first gold answer that word pieces can express exactly
    (else its first); validation scores take the best over all gold answers. max_questions: the first N questions of each file.
    """
    train = read_squad(train_filepath, max_questions)
    val = read_squad(val_filepath, max_questions) if val_filepath else None
    trn, val, preproc = _qa_from_examples(train, val, maxlen, doc_stride, max_query_length, preset, val_pct,
                                          random_state, skip_bad_answers, verbose)
    set_fixed_shapes(fixed_shapes, trn, val)
    return trn, val, preproc


def _examples_from_df(df, qcol, ccol, acol, scol, name, id_column=None):
    for c in (qcol, ccol, acol, scol):
        if c not in df.columns:
            raise DataError(f"Column {c!r} not found in {name}; its columns are {list(df.columns)}.")
    for c in (qcol, ccol):
        missing = df[c].isna()
        if missing.any():
            raise DataError(f"{name} column {c!r} has missing values at index {_rows(df.index[missing])}.")
    out = []
    for idx, row in df.iterrows():
        qid = str(row[id_column]) if id_column else str(idx)
        impossible = pd.isna(row[acol]) or row[acol] == ""
        answers = [] if impossible else [{"text": str(row[acol]), "answer_start": int(row[scol])}]
        out.append({"id": qid, "question": str(row[qcol]), "context": str(row[ccol]), "answers": answers,
                    "is_impossible": impossible})
    return out


def qa_from_df(df, question_column="question", context_column="context", answer_text_column="answer_text",
               answer_start_column="answer_start", val_df=None, id_column=None, maxlen=384, doc_stride=128,
               max_query_length=None, preset="minilm", val_pct=0.1, random_state=42, skip_bad_answers=False,
               fixed_shapes=False, verbose=1):
    """One row per question: question, context, answer text and its character start
    (an empty answer marks an unanswerable question, as SQuAD v2)."""
    if len(df) == 0:
        raise DataError("df has no rows.")
    train = _examples_from_df(df, question_column, context_column, answer_text_column, answer_start_column,
                              "df", id_column)
    val = None
    if val_df is not None:
        val = _examples_from_df(val_df, question_column, context_column, answer_text_column,
                                answer_start_column, "val_df", id_column)
    trn, val, preproc = _qa_from_examples(train, val, maxlen, doc_stride, max_query_length, preset, val_pct,
                                          random_state, skip_bad_answers, verbose)
    set_fixed_shapes(fixed_shapes, trn, val)
    return trn, val, preproc


# ---------------------------------------------------------------------------- model


def qa_model(preproc, dropout=0.1, precision="float32", strategy=None, encoder=None, seed=None):
    """A compiled keras.Model: BertBackbone + start/end span head (logits [batch, pieces, 2])."""
    if not isinstance(preproc, QAPreprocessor):
        raise TypeError("qa_model needs the preprocessor returned by qa_from_squad / qa_from_df.")
    policy = dtype_policy(precision)
    strategy = distribute.get_strategy(strategy)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    with strategy.scope():
        backbone, _ = load_encoder(preproc.preset if encoder is None else encoder, dtype=policy)
        if preproc.maxlen > backbone.max_sequence_length:
            raise ValueError(f"maxlen={preproc.maxlen} exceeds the encoder's {backbone.max_sequence_length} positions.")
        backbone.get_layer("pooled_dense").trainable = False  # unused by a span head
        inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name)
                  for name in ("token_ids", "segment_ids", "padding_mask")}
        x = backbone(inputs)["sequence_output"]
        x = keras.layers.Dropout(dropout, name="span_dropout")(x)
        logits = SpanLogits(name="span_logits", dtype="float32")([x, inputs["padding_mask"]])
        model = keras.Model(inputs, logits, name="kbert_qa")
        model.compile(optimizer=optimizers.AdamW(5e-5), loss=preproc.loss(), metrics=preproc.metrics())
    return model
