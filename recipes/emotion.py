#!/usr/bin/env python
"""Fine-tune an encoder on the emotion data set (ktrain's BERT emotion tutorial, on Keras 3).

    python recipes/emotion.py                      # ../shared/datasets/emotion if present, else the sample
    python recipes/emotion.py --demo               # a short run (< 10 minutes on 2 CPU cores, see DEMO)
    python recipes/emotion.py --preset roberta-base   # any family: a Hugging Face name, keras-hub preset or folder
    python recipes/emotion.py --train my.csv --val my_val.csv --epochs 3 --lr 1e-4 --out my-predictor

Prints the per-class report, saves the predictor, and writes lr_find.png (with --lr-find)
and history.png next to it.
"""

import argparse
import os
import time

from flags import HERE, add_common, shared_datasets

SHARED = shared_datasets("emotion")
SAMPLE = os.path.join(HERE, "data", "emotion_sample.csv")

# --demo's defaults (flags given explicitly still win). Measured on 2 shared CPU cores, seed 42,
# full val.txt: 6,000 rows x 2 epochs at 1e-4 -> 0.910 (bfloat16) / 0.9095 (float32, 1.3x the CPU
# time); 2e-4 -> 0.904; 8,000 rows -> 0.916 for 1.24x the time. The rate is fixed rather than found:
# lr_find on 2,000 rows suggests 1.25e-4 (valley) and costs ~1/5 of the training time.
DEMO = dict(max_train_rows=6000, epochs=2, precision="auto")

# Clear texts in the data set's style (lower case, no punctuation), one per class that has
# an unambiguous everyday phrasing, with the label a reader would give them.
SAMPLES = [
    ("i feel wonderful today", "joy"),
    ("this is scary", "fear"),
    ("i am so angry at them", "anger"),
    ("i feel so lonely and miserable", "sadness"),
    ("i feel so affectionate and tender towards my husband", "love"),
]


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
    add_common(p, maxlen=128, batch_size=32, lr=1e-4, epochs=3, out="emotion-predictor")
    p.add_argument("--lr-find", action="store_true", help="run the LR finder first (one epoch at most)")
    p.add_argument("--max-train-rows", type=int, help="use only this many training rows (a random sample)")
    p.add_argument("--max-val-rows", type=int, help="use only this many validation rows")
    p.add_argument("--demo", action="store_true",
                   help="short budget: " + ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in DEMO.items())
                   + " (flags given explicitly win)")
    args = p.parse_args(argv)
    if args.demo:  # parse again with the demo's defaults, so that explicit flags still win
        p.set_defaults(**DEMO)
        args = p.parse_args(argv)
    return args


def main(argv=None):
    args = parse_args(argv)
    import kbert
    strategy = kbert.distribute.from_arguments(args)  # before any data or model
    from kbert.io import read_table

    train_path, val_path = (args.train, args.val) if args.train else default_paths()
    if args.train is None and train_path == SAMPLE:
        print(f"kbert: {SHARED} not found; using the small synthetic sample {SAMPLE}")
    train_df = read_table(train_path)
    val_df = read_table(val_path) if val_path else None
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
    texts = [text for text, _ in SAMPLES]
    for (text, expected), label in zip(SAMPLES, kbert.load_predictor(folder).predict(texts)):
        print(f"  {text!r} -> {label}" + ("" if label == expected else f"  (expected {expected})"))
    print(f"kbert: done in {time.time() - start:.0f} s")
    return accuracy


if __name__ == "__main__":
    main()
