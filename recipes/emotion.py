#!/usr/bin/env python
"""Fine-tune BERT on the emotion data set (ktrain's BERT emotion tutorial, on Keras 3).

    python recipes/emotion.py                      # ../shared/datasets/emotion if present, else the sample
    python recipes/emotion.py --demo               # a short run (< 10 minutes on 2 CPU cores)
    python recipes/emotion.py --train my.csv --val my_val.csv --epochs 3 --lr 1e-4 --out my-predictor

Prints the per-class report, saves the predictor, and writes lr_find.png (with --lr-find)
and history.png next to it.
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # run from a checkout without installing

SHARED = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "datasets", "emotion")
SAMPLE = os.path.join(HERE, "data", "emotion_sample.csv")


def default_paths():
    train, val = os.path.join(SHARED, "train.txt"), os.path.join(SHARED, "val.txt")
    if os.path.exists(train) and os.path.exists(val):
        return train, val
    return SAMPLE, None


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", help="training CSV or ;-separated TXT (columns text, label_name)")
    p.add_argument("--val", help="validation file (default: 10%% of --train)")
    p.add_argument("--text-column", default="text")
    p.add_argument("--label-column", default="label_name")
    p.add_argument("--preset", default="minilm", help='encoder: "minilm", a keras-hub preset or a folder')
    p.add_argument("--maxlen", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--lr-find", action="store_true", help="run the LR finder first (one epoch at most)")
    p.add_argument("--max-train-rows", type=int, help="use only this many training rows (a random sample)")
    p.add_argument("--max-val-rows", type=int, help="use only this many validation rows")
    p.add_argument("--precision", default="float32", choices=["float32", "mixed_bfloat16", "auto"])
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", default="emotion-predictor", help="folder for the saved predictor")
    p.add_argument("--demo", action="store_true",
                   help="short budget: 2,000 training rows, 2 epochs (unless given otherwise)")
    from kbert import distribute

    distribute.add_arguments(p)
    args = p.parse_args(argv)
    if args.demo:
        args.max_train_rows = args.max_train_rows or 2000
        args.epochs = 2 if "--epochs" not in (argv or sys.argv) else args.epochs
    return args


def main(argv=None):
    args = parse_args(argv)
    import pandas as pd

    import kbert
    strategy = kbert.distribute.from_arguments(args)  # before any data or model
    from kbert.text.classification import _read_table

    train_path, val_path = (args.train, args.val) if args.train else default_paths()
    if args.train is None and train_path == SAMPLE:
        print(f"kbert: {SHARED} not found; using the small synthetic sample {SAMPLE}")
    train_df = _read_table(train_path)
    val_df = _read_table(val_path) if val_path else None
    if args.max_train_rows and len(train_df) > args.max_train_rows:
        train_df = train_df.sample(args.max_train_rows, random_state=args.seed)
    if val_df is not None and args.max_val_rows and len(val_df) > args.max_val_rows:
        val_df = val_df.sample(args.max_val_rows, random_state=args.seed)
    print(f"kbert: training on {len(train_df)} rows of {train_path}"
          + (f", validating on {len(val_df)} rows of {val_path}" if val_df is not None else ""))

    start = time.time()
    trn, val, preproc = kbert.text.texts_from_df(
        train_df, args.text_column, args.label_column, val_df=val_df, maxlen=args.maxlen, preset=args.preset,
        random_state=args.seed,
    )
    model = kbert.text.text_classifier(preproc, precision=args.precision, seed=args.seed,
                                    strategy=strategy)
    learner = kbert.get_learner(model, trn, val, batch_size=args.batch_size, seed=args.seed)
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if args.lr_find:
        learner.lr_find(max_epochs=1)
        learner.lr_plot(suggest=True, save_path=os.path.join(out_dir, "lr_find.png"))
    learner.fit_onecycle(args.lr, args.epochs)
    learner.plot("loss", save_path=os.path.join(out_dir, "history.png"))
    cm = learner.validate(class_names=preproc.get_classes())
    accuracy = cm.trace() / cm.sum()
    print(f"validation accuracy: {accuracy:.4f} ({cm.trace()}/{cm.sum()})")
    learner.view_top_losses(n=3, preproc=preproc)

    predictor = kbert.get_predictor(learner.model, preproc)
    folder = predictor.save(kbert.distribute.worker_path(args.out))
    print(f"kbert: predictor saved to {folder}")
    samples = ["I feel wonderful today", "this is scary", "i am so angry at them"]
    for text, label in zip(samples, kbert.load_predictor(folder).predict(samples)):
        print(f"  {text!r} -> {label}")
    print(f"kbert: done in {time.time() - start:.0f} s")
    return accuracy


if __name__ == "__main__":
    main()
