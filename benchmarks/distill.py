#!/usr/bin/env python
"""Knowledge distillation on emotion: a fine-tuned "minilm" teacher (6 layers) and students of
3 and 2 layers, each (a) distilled from the teacher and (b) fine-tuned from the same initial
layers on the hard labels only, with the same epochs, rate and batch.

    python benchmarks/distill.py                         # 6,000 rows, 2 epochs, full val.txt
    python benchmarks/distill.py --max-train-rows 2000 --epochs 1
    python benchmarks/distill.py --task ner              # CoNLL eng.testa entity F1, 3-layer student

Prints validation accuracy (NER: entity micro F1) and prediction examples/s of every model
(same batch, same precision, measured in this run, after a warm-up) and the ratios to the
teacher; and the training time of a distillation epoch with the teacher's outputs cached
once per row against the teacher run at every step.
Targets (issue 17): the 3-layer distilled student ≥ 1.7× the teacher's speed, ≤ 1.5 points
below its accuracy, above the hard-label 3-layer student.
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
SHARED = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "datasets")


def speed(model, preproc, data, batch_size, repeats=2):
    """Prediction examples/s of the model's predictor (best of `repeats`, after a warm-up)."""
    import kbert

    predictor = kbert.get_predictor(model, preproc, batch_size=batch_size)
    preproc.predict_outputs(model, data.subset(range(min(len(data), 4 * batch_size))), batch_size)  # warm-up
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        preproc.predict_outputs(predictor.model, data, batch_size)
        best = max(best, len(data) / (time.perf_counter() - start))
    return best


def score(learner, task):
    if task == "ner":
        return float(learner.validate(print_report=False))
    cm = learner.validate(print_report=False)
    return float(cm.trace() / cm.sum())


def load(args):
    import pandas as pd

    import kbert

    if args.task == "ner":
        from kbert.text.ner import read_conll

        conll = os.path.join(SHARED, "conll2003")
        x, y = read_conll(os.path.join(conll, "eng.train"))
        xv, yv = read_conll(os.path.join(conll, "eng.testa"))
        x, y = x[: args.max_train_rows], y[: args.max_train_rows]
        return kbert.text.entities_from_array(x, y, xv, yv, maxlen=args.maxlen, preset=args.preset,
                                              random_state=args.seed, verbose=0)
    emotion = os.path.join(SHARED, "emotion")
    train_df = pd.read_csv(os.path.join(emotion, "train.txt"), sep=";")
    val_df = pd.read_csv(os.path.join(emotion, "val.txt"), sep=";")
    train_df = train_df.sample(min(args.max_train_rows, len(train_df)), random_state=args.seed)
    return kbert.text.texts_from_df(train_df, "text", "label_name", val_df=val_df, maxlen=args.maxlen,
                                    preset=args.preset, random_state=args.seed, verbose=0)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default="classification", choices=["classification", "ner"])
    p.add_argument("--preset", default="minilm")
    p.add_argument("--max-train-rows", type=int, default=6000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--maxlen", type=int, default=128)
    p.add_argument("--precision", default="auto")
    p.add_argument("--layers", default="3,2", help="student sizes")
    p.add_argument("--temperature", type=float, default=2.0)
    p.add_argument("--alpha", type=float, default=0.5)
    p.add_argument("--cache-rows", type=int, default=1000, help="rows of the cached-vs-live epoch timing (0: skip)")
    p.add_argument("--speed-rounds", type=int, default=3, help="prediction timings per model (the best counts)")
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args()
    import kbert
    from kbert import distill

    trn, val, preproc = load(args)
    build = kbert.text.sequence_tagger if args.task == "ner" else kbert.text.text_classifier
    print(f"kbert: {args.task}: {len(trn)} training rows, {len(val)} validation rows, {args.epochs} epochs at "
          f"{args.lr}, batch {args.batch_size}, precision {args.precision}", flush=True)
    start = time.time()
    teacher = build(preproc, precision=args.precision, seed=args.seed)
    kbert.get_learner(teacher, trn, val, batch_size=args.batch_size, seed=args.seed).fit_onecycle(
        args.lr, args.epochs, verbose=0)
    teacher_learner = kbert.get_learner(teacher, trn, val, batch_size=args.batch_size)
    trained = [("teacher (6 layers)", teacher, score(teacher_learner, args.task), time.time() - start)]
    print(f"  {trained[-1][0]}: {trained[-1][2]:.4f} ({trained[-1][3]:.0f} s)", flush=True)
    for n in [int(v) for v in args.layers.split(",")]:
        for distilled in (True, False):
            start = time.time()
            small = distill.student(teacher, num_layers=n)
            learner = kbert.get_learner(small, trn, val, batch_size=args.batch_size, seed=args.seed,
                                        teacher=teacher if distilled else None, temperature=args.temperature,
                                        alpha=args.alpha)
            learner.fit_onecycle(args.lr, args.epochs, verbose=0)
            name = f"student {n} layers, {'distilled' if distilled else 'hard labels'}"
            trained.append((name, small, score(learner, args.task), time.time() - start))
            print(f"  {name}: {trained[-1][2]:.4f} ({trained[-1][3]:.0f} s)", flush=True)
    # speeds last, in rounds over all models (best of the rounds): the machine's load changes
    # between training runs, so each model's best speed comes from the same stretch of time
    speeds = [0.0] * len(trained)
    for _ in range(args.speed_rounds):
        for i, (_, model, _, _) in enumerate(trained):
            speeds[i] = max(speeds[i], speed(model, preproc, val, args.batch_size, repeats=1))
    rows = [(name, acc, eps, secs) for (name, _, acc, secs), eps in zip(trained, speeds)]
    what = "entity F1" if args.task == "ner" else "val accuracy"
    print(f"\n{'model':34s} {what:>12s} {'Δ pt':>7s} {'examples/s':>11s} {'× teacher':>10s} {'train+eval s':>13s}")
    for name, acc, eps, secs in rows:
        print(f"{name:34s} {acc:12.4f} {100 * (acc - rows[0][1]):7.2f} {eps:11.0f} {eps / rows[0][2]:10.2f} "
              f"{secs:13.0f}")
    if args.cache_rows:
        sub = trn.subset(range(min(args.cache_rows, len(trn))))
        for cache in (True, False, True):
            small = distill.student(teacher, num_layers=int(args.layers.split(",")[0]))
            learner = kbert.get_learner(small, sub, None, batch_size=args.batch_size, seed=args.seed, teacher=teacher)
            learner.cache_teacher = cache
            t = time.time()
            learner.fit_onecycle(args.lr, 1, verbose=0)
            print(f"one distillation epoch on {len(sub)} rows, teacher outputs "
                  f"{'cached (incl. computing them)' if cache else 'computed at every step'}: {time.time() - t:.1f} s",
                  flush=True)


if __name__ == "__main__":
    main()
