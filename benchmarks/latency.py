#!/usr/bin/env python
"""Latency of one-text predictor calls against one batched call, per task (minilm preset).

    python benchmarks/latency.py                         # all three tasks, 16 inputs, 3 repeats
    python benchmarks/latency.py --tasks qa --n 8 --repeats 5
    python benchmarks/latency.py --profile qa            # cProfile of the single calls
    python benchmarks/latency.py --pipeline              # also time the tf.data path (kbert.data.predict)

For each task (text classification on emotion val.txt, NER on CoNLL-2003 eng.testa, QA on
SQuAD val.json.gz) a predictor is built on the "minilm" encoder with a random head (timing
needs no training), warmed up with one single and one batched call, then timed: N calls of
one input each, against one call on the same N inputs. Each is repeated and the median
taken (the CPUs may be shared). Printed: ms per input both ways and their ratio, against
the target of a single call costing at most 2x its batched per-input time.

--first-calls times a fresh predictor's first four calls (one input, another, a batch of 5, a
batch of N): kbert's predict graph (every dimension unknown, traced once) against Keras'
`model.predict_on_batch` (traced again for a new batch size, then a new width), each on a new
model in the same process.

--pipeline also times the same predictor through the tf.data pipeline of kbert.data.predict
(`preproc.predict_outputs`, what predictors used before kbert.predictors.batches.predict_rows),
in the same process, so that before and after meet the same load.
"""

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
DATASETS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "datasets")
TARGET = 2.0


def classification_case(n):
    """A text classifier on emotion val.txt: (predictor, single call, batched call)."""
    import pandas as pd

    import kbert

    df = pd.read_csv(os.path.join(DATASETS, "emotion", "val.txt"), sep=";")
    trn, _, pre = kbert.text.texts_from_df(df.iloc[:300], "text", "label_name", val_df=df.iloc[300:360],
                                           preset="minilm", maxlen=128, verbose=0)
    predictor = kbert.get_predictor(kbert.text.text_classifier(pre, seed=0, verbose=0), pre)
    texts = df.text.iloc[1000:1000 + n].tolist()
    return predictor, texts, predictor.predict_proba, predictor.predict_proba


def ner_case(n):
    """A sequence tagger on CoNLL-2003 eng.testa sentences given as raw strings."""
    import kbert
    from kbert.text.ner import read_conll

    x, y = read_conll(os.path.join(DATASETS, "conll2003", "eng.testa"))
    trn, _, pre = kbert.text.entities_from_array(x[:300], y[:300], x[300:360], y[300:360], preset="minilm",
                                                 maxlen=128, verbose=0)
    predictor = kbert.get_predictor(kbert.text.sequence_tagger(pre, seed=0, verbose=0), pre)
    sentences = [" ".join(words) for words in x[1000:] if len(words) >= 5][:n]
    return predictor, sentences, predictor.predict, predictor.predict


def qa_case(n):
    """A span-extraction model on SQuAD val questions (contexts of ~150 word pieces)."""
    import kbert

    path = os.path.join(DATASETS, "squad", "val.json.gz")
    trn, _, pre = kbert.text.qa_from_squad(path, maxlen=384, doc_stride=128, max_questions=200, verbose=0)
    predictor = kbert.get_predictor(kbert.text.qa_model(pre, seed=0), pre)
    examples = kbert.text.qa.squad.read_squad(path)[300:300 + n]
    pairs = [(ex["question"], ex["context"]) for ex in examples]

    def single(pair):
        return predictor.predict(question=pair[0], context=pair[1])

    def batched(items):
        return predictor.predict(question=[q for q, _ in items], context=[c for _, c in items])

    return predictor, pairs, single, batched


CASES = {"classification": classification_case, "ner": ner_case, "qa": qa_case}


def time_case(inputs, single, batched, repeats):
    """(median ms per input over single calls, median ms per input in one batched call)."""
    single(inputs[0])  # warm-up: traces and builds whatever the first call of each kind builds
    batched(inputs)
    singles, batches = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for x in inputs:
            single(x)
        singles.append((time.perf_counter() - t0) * 1000 / len(inputs))
        t0 = time.perf_counter()
        batched(inputs)
        batches.append((time.perf_counter() - t0) * 1000 / len(inputs))
    return statistics.median(singles), statistics.median(batches)


def first_calls(task, n, keras_path):
    """Seconds of a fresh predictor's first four calls; keras_path: Keras' predict_on_batch."""
    import keras
    import numpy as np

    import kbert.predictors.batches as batches

    own = batches.predict_on_batch
    if keras_path:  # what predict_rows called before kbert.data.predict_on_batch
        batches.predict_on_batch = lambda model, x: keras.tree.map_structure(np.asarray, model.predict_on_batch(x))
    try:
        _, inputs, single, batched = CASES[task](n)
        times = []
        for call, arg in ((single, inputs[0]), (single, inputs[1]), (batched, inputs[:5]), (batched, inputs)):
            t0 = time.perf_counter()
            call(arg)
            times.append(time.perf_counter() - t0)
    finally:
        batches.predict_on_batch = own
    return times


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", nargs="+", default=list(CASES), choices=list(CASES))
    p.add_argument("--n", type=int, default=16, help="inputs per batched call (and single calls per repeat)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--profile", choices=list(CASES), help="cProfile the single calls of this task")
    p.add_argument("--pipeline", action="store_true", help="also time the tf.data path (kbert.data.predict)")
    p.add_argument("--first-calls", action="store_true",
                   help="a fresh predictor's first calls: kbert's predict graph against Keras' predict_on_batch")
    args = p.parse_args()

    if args.first_calls:
        print(f"{'task, path':34s} {'1st single':>10s} {'2nd single':>10s} {'batch of 5':>10s} "
              f"{f'batch of {args.n}':>11s} {'sum s':>7s}")
        for task in args.tasks:
            for name, keras_path in (("Keras predict_on_batch", True), ("kbert", False)):
                t = first_calls(task, args.n, keras_path)
                print(f"{task + ', ' + name:34s} {t[0]:10.2f} {t[1]:10.2f} {t[2]:10.2f} {t[3]:11.2f} {sum(t):7.2f}",
                      flush=True)
        return

    rows = []
    for task in args.tasks:
        predictor, inputs, single, batched = CASES[task](args.n)
        paths = ["predict_rows"]
        if args.pipeline:
            paths.insert(0, "tf.data")
        for path in paths:
            if path == "tf.data":  # the instance attribute shadows Predictor._outputs
                predictor._outputs = lambda data, p=predictor: p.preproc.predict_outputs(p.model, data, p.batch_size)
            else:
                predictor.__dict__.pop("_outputs", None)
            s, b = time_case(inputs, single, batched, args.repeats)
            name = f"{task} ({path})" if args.pipeline else task
            rows.append((name, s, b))
            print(f"{name:30s} single {s:8.1f} ms/input   batched {b:8.1f} ms/input   ratio {s / b:5.2f}  "
                  f"(target <= {TARGET:.0f}: {'ok' if s / b <= TARGET else 'MISSED'})", flush=True)
        if args.profile == task:
            prof = cProfile.Profile()
            prof.enable()
            for x in inputs:
                single(x)
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(35)
    print()
    print(f"{'task':30s} {'single ms':>10s} {'batched ms':>11s} {'ratio':>6s}")
    for task, s, b in rows:
        print(f"{task:30s} {s:10.1f} {b:11.1f} {s / b:6.2f}")


if __name__ == "__main__":
    main()
