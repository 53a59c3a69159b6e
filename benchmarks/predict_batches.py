#!/usr/bin/env python
"""Prediction batches packed by length against batches of `batch_size` rows (issue 20: "larger
prediction batches sorted by length").

    python benchmarks/predict_batches.py                      # emotion, NER, QA; both precisions
    python benchmarks/predict_batches.py --tasks classification --precisions auto --rounds 8

For each task a predictor is built on the "minilm" encoder with a random head (timing needs no
training): text classification on emotion val.txt (2,000 texts), NER on the first 2,000
CoNLL-2003 eng.testa sentences, QA on 300 SQuAD val questions. Their rows are encoded once;
then `predict_rows` runs over them with `pack=False` (every batch `batch_size` rows, sorted by
length: kbert.data.predict's batches) and `pack=True` (what predictors do: batches of short rows
take more rows, up to `batch_size` × the longest row's pieces and at most PACK_PIECES), alternating for --rounds rounds
after a warm-up pass of each. Printed: rows/s of each (median round), the speed-up, the number
of batches, and the largest difference between the two sides' outputs.
"""

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
DATASETS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "datasets")


def classification_case(precision):
    import pandas as pd

    import kbert

    df = pd.read_csv(os.path.join(DATASETS, "emotion", "val.txt"), sep=";")
    _, _, pre = kbert.text.texts_from_df(df.iloc[:300], "text", "label_name", val_df=df.iloc[300:360],
                                         preset="minilm", maxlen=128, verbose=0)
    model = kbert.text.text_classifier(pre, precision=precision, seed=0, verbose=0)
    return model, pre, pre.transform(df.text.tolist(), verbose=0)


def ner_case(precision):
    import kbert
    from kbert.text.ner import read_conll

    x, y = read_conll(os.path.join(DATASETS, "conll2003", "eng.testa"))
    _, _, pre = kbert.text.entities_from_array(x[:300], y[:300], x[300:360], y[300:360], preset="minilm",
                                               maxlen=128, verbose=0)
    model = kbert.text.sequence_tagger(pre, precision=precision, seed=0, verbose=0)
    return model, pre, pre.encode(x[:2000], verbose=0)


def qa_case(precision):
    import kbert
    from kbert.text.qa.squad import read_squad

    path = os.path.join(DATASETS, "squad", "val.json.gz")
    _, _, pre = kbert.text.qa_from_squad(path, maxlen=384, doc_stride=128, max_questions=200, verbose=0)
    model = kbert.text.qa_model(pre, precision=precision, seed=0)
    return model, pre, pre.encode(read_squad(path)[:300], verbose=0, with_targets=False)


CASES = {"classification": classification_case, "ner": ner_case, "qa": qa_case}


def largest_difference(a, b):
    import keras
    import numpy as np

    if isinstance(a, list):  # per piece: one array per row
        return max(float(np.max(np.abs(np.asarray(u, "float64") - np.asarray(v, "float64"))))
                   for u, v in zip(a, b))
    return max(float(np.max(np.abs(np.asarray(u, "float64") - np.asarray(v, "float64"))))
               for u, v in zip(keras.tree.flatten(a), keras.tree.flatten(b)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", default="classification,ner,qa")
    p.add_argument("--precisions", default="auto,float32")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()

    from kbert.data import pad_multiple_for
    from kbert.predictors.batches import PACK_PIECES, batch_bounds, fast_path_supported, predict_rows

    rows = []
    for task in args.tasks.split(","):
        for precision in args.precisions.split(","):
            model, pre, data = CASES[task](precision)
            assert fast_path_supported(data, pre), f"{task}: predictors would not take predict_rows' path"
            sorted_lengths = data.lengths[data.eval_order]
            batches = {False: len(batch_bounds(sorted_lengths, args.batch_size)),
                       True: len(batch_bounds(sorted_lengths, args.batch_size,
                                              min(args.batch_size * int(data.lengths.max()), PACK_PIECES)))}
            outs = {pack: predict_rows(model, data, args.batch_size, pre, pack=pack) for pack in (False, True)}
            times = {False: [], True: []}
            for _ in range(args.rounds):
                for pack in (False, True):
                    start = time.perf_counter()
                    predict_rows(model, data, args.batch_size, pre, pack=pack)
                    times[pack].append(time.perf_counter() - start)
            speed = {pack: len(data) / statistics.median(t) for pack, t in times.items()}
            diff = largest_difference(outs[False], outs[True])
            print(f"{task} {precision} (pad multiple {pad_multiple_for(model)}): {len(data)} rows, median "
                  f"{statistics.median(sorted_lengths):.0f} pieces; batch {args.batch_size}: {speed[False]:.1f} "
                  f"rows/s in {batches[False]} batches; packed: {speed[True]:.1f} rows/s in {batches[True]} batches "
                  f"({speed[True] / speed[False]:.2f}x); largest output difference {diff:.2g}", flush=True)
            rows.append((task, precision, len(data), statistics.median(sorted_lengths), speed, batches, diff))
    print(f"\n| task | precision | rows | median pieces | batch {args.batch_size} (rows/s) | packed (rows/s) | "
          f"speed-up | batches | largest output difference |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for task, precision, n, med, speed, batches, diff in rows:
        print(f"| {task} | {precision} | {n} | {med:.0f} | {speed[False]:.1f} | {speed[True]:.1f} | "
              f"{speed[True] / speed[False]:.2f}× | {batches[False]} → {batches[True]} | {diff:.1g} |")


if __name__ == "__main__":
    main()
