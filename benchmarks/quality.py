#!/usr/bin/env python
"""Fine-tuning refinements against the plain recipe: layer-wise learning-rate decay
(`lr_decay_rate`) and the weights' moving average (`ema`), on the same rows, seed and schedule.

    python benchmarks/quality.py                                  # emotion: all variants
    python benchmarks/quality.py --variants baseline,llrd0.9 --rows 3000
    python benchmarks/quality.py --task emotion --maxlen 128 --epochs 3

A variant is a name from VARIANTS (or "llrd<rate>", "ema<momentum>", "llrd<rate>+ema<momentum>"),
optionally with its own peak rate: "llrd0.9@2e-4" (default --lr).
Each trains a fresh model from the same start (seed) with `fit_onecycle(lr, epochs)` and reports
validation accuracy on the full validation set and the wall time of the fit. Only --task emotion
is implemented; TASKS is where ner (conll2003) and qa (squad) would plug in their data, model
and score.

Differences under about 0.5 points of accuracy are noise at 2,000 validation rows (one
standard error of an accuracy near 0.9 is ~0.7 points).
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
DATASETS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "datasets")

VARIANTS = {
    "baseline": {},
    "llrd0.9": {"lr_decay_rate": 0.9},
    "llrd0.8": {"lr_decay_rate": 0.8},
    # ~190 updates an epoch at 6,000 rows: 0.99 averages over the last ~100 updates (0.999's
    # ~1,000 would reach back to the untrained head of the first updates)
    "ema0.99": {"ema": 0.99},
    "llrd0.9+ema0.99": {"lr_decay_rate": 0.9, "ema": 0.99},
}


def parse_variant(name):
    """(options for get_learner, peak rate or None) of a variant's name."""
    name, _, lr = name.partition("@")
    lr = float(lr) if lr else None
    if name in VARIANTS:
        return VARIANTS[name], lr
    options = {}
    for part in name.split("+"):
        if part.startswith("llrd"):
            options["lr_decay_rate"] = float(part[4:])
        elif part.startswith("ema"):
            options["ema"] = float(part[3:])
        else:
            raise SystemExit(f"--variants: unknown variant {name!r}; use {', '.join(VARIANTS)} or llrd<r>+ema<m>, "
                             "optionally @<lr>.")
    return options, lr


def emotion_task(args):
    """(train TaskData, val TaskData, preprocessor, score(learner) -> accuracy)."""
    import kbert
    from kbert.io import read_table

    folder = os.path.join(DATASETS, "emotion")
    train_df = read_table(os.path.join(folder, "train.txt"))
    val_df = read_table(os.path.join(folder, "val.txt"))
    if args.rows and len(train_df) > args.rows:
        train_df = train_df.sample(args.rows, random_state=args.seed)
    trn, val, pre = kbert.text.texts_from_df(train_df, "text", "label_name", val_df=val_df, maxlen=args.maxlen,
                                             preset=args.preset, random_state=args.seed, verbose=0)

    def model():
        return kbert.text.text_classifier(pre, precision=args.precision, seed=args.seed)

    def score(learner):
        cm = learner.validate(print_report=False)
        return float(cm.trace() / cm.sum())

    return trn, val, model, score, f"{len(train_df)} train rows, {len(val_df)} val rows"


# ner (conll2003) and qa (squad) would add (data, model, score) builders here
TASKS = {"emotion": emotion_task}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default="emotion", choices=sorted(TASKS))
    p.add_argument("--variants", default="baseline,llrd0.9,ema0.99,llrd0.9+ema0.99")
    p.add_argument("--preset", default="minilm")
    p.add_argument("--rows", type=int, default=6000, help="training rows (a random sample; 0: all)")
    p.add_argument("--maxlen", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--precision", default="auto")
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args(argv)
    variants = [(name, parse_variant(name)) for name in args.variants.split(",")]

    import kbert

    trn, val, make_model, score, what = TASKS[args.task](args)
    print(f"{args.task}: {what}; {args.preset}, maxlen {args.maxlen}, batch {args.batch_size}, "
          f"fit_onecycle({args.lr:g} unless the variant names its rate, {args.epochs}), seed {args.seed}", flush=True)
    rows = []
    for name, (options, lr) in variants:
        learner = kbert.get_learner(make_model(), trn, val, batch_size=args.batch_size, seed=args.seed, **options)
        start = time.time()
        hist = learner.fit_onecycle(lr or args.lr, args.epochs, verbose=0)
        seconds = time.time() - start
        accuracy = score(learner)
        val_acc = [round(float(a), 4) for a in hist.history.get("val_accuracy", [])]
        rows.append((name, accuracy, seconds, val_acc))
        print(f"{name:>18}: val accuracy {accuracy:.4f}  (per epoch {val_acc})  fit {seconds:.0f} s", flush=True)
    print("\n| variant | val accuracy | Δ vs first (points) | fit wall time |\n| --- | --- | --- | --- |")
    for name, accuracy, seconds, _ in rows:
        print(f"| {name} | {accuracy:.4f} | {100 * (accuracy - rows[0][1]):+.2f} | {seconds:.0f} s |")
    return rows


if __name__ == "__main__":
    main()
