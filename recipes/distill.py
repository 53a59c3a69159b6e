#!/usr/bin/env python
"""Distil a fine-tuned text classifier into a smaller, faster student (DistilBERT's recipe).

    python recipes/distill.py                                  # emotion: fine-tune a minilm teacher, distil 3 layers
    python recipes/distill.py --teacher emotion-predictor      # distil a saved predictor instead
    python recipes/distill.py --layers 2 --temperature 4 --alpha 0.7 --out small-predictor

Fine-tunes (or loads, --teacher) the teacher, starts a student of --layers encoder layers from
its weights (every other layer), trains it on the teacher's softened outputs mixed with the hard
labels, prints the teacher's and the student's validation accuracy and prediction examples/s
side by side, and saves the student predictor (an ordinary kbert predictor).
"""

import argparse
import os
import time

from flags import add_common, shared_datasets

SHARED = shared_datasets("emotion")
SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "emotion_sample.csv")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", help="training CSV or ;-separated TXT (columns text, label_name); default: emotion")
    p.add_argument("--val", help="validation file (default: emotion's val.txt, or 10%% of --train)")
    p.add_argument("--text-column", default="text")
    p.add_argument("--label-column", default="label_name")
    p.add_argument("--teacher", help="a saved predictor folder to distil (default: fine-tune one first)")
    p.add_argument("--layers", type=int, default=None, help="student encoder layers (default: half the teacher's)")
    p.add_argument("--temperature", type=float, default=2.0)
    p.add_argument("--alpha", type=float, default=0.5, help="weight of the soft targets (1 - alpha: hard labels)")
    p.add_argument("--hidden-loss", type=float, default=0.0, help="weight of the hidden-state cosine loss")
    p.add_argument("--max-train-rows", type=int, default=6000, help="a random sample of the training rows (0: all)")
    p.add_argument("--max-val-rows", type=int, default=None)
    add_common(p, maxlen=128, batch_size=32, lr=1e-4, epochs=2, out="student-predictor")
    return p.parse_args(argv)


def examples_per_second(predictor, texts):
    predictor.predict(texts[: 2 * predictor.batch_size])  # warm-up (graph tracing)
    start = time.perf_counter()
    predictor.predict(texts)
    return len(texts) / (time.perf_counter() - start)


def main(argv=None):
    args = parse_args(argv)
    import kbert
    from kbert.io import read_table

    strategy = kbert.distribute.from_arguments(args)
    start = time.time()
    if args.train:
        train_path, val_path = args.train, args.val
    elif os.path.exists(os.path.join(SHARED, "train.txt")):
        train_path, val_path = os.path.join(SHARED, "train.txt"), os.path.join(SHARED, "val.txt")
    else:
        print(f"kbert: {SHARED} not found; using the small synthetic sample {SAMPLE}")
        train_path, val_path = SAMPLE, None
    train_df = read_table(train_path)
    val_df = read_table(val_path) if val_path else None
    if args.max_train_rows and len(train_df) > args.max_train_rows:
        train_df = train_df.sample(args.max_train_rows, random_state=args.seed)
    if val_df is not None and args.max_val_rows and len(val_df) > args.max_val_rows:
        val_df = val_df.sample(args.max_val_rows, random_state=args.seed)
    teacher_predictor = kbert.load_predictor(args.teacher) if args.teacher else None
    preset = teacher_predictor.preproc.preset if teacher_predictor is not None else args.preset
    trn, val, preproc = kbert.text.texts_from_df(train_df, args.text_column, args.label_column, val_df=val_df,
                                                 maxlen=args.maxlen, preset=preset, random_state=args.seed)
    if teacher_predictor is None:
        print(f"kbert: fine-tuning the teacher ({args.preset}) on {len(trn)} rows")
        model = kbert.text.text_classifier(preproc, precision=args.precision, seed=args.seed, strategy=strategy)
        kbert.get_learner(model, trn, val, batch_size=args.batch_size, seed=args.seed).fit_onecycle(
            args.lr, args.epochs)
        teacher_predictor = kbert.get_predictor(model, preproc, batch_size=args.batch_size)
    teacher = teacher_predictor.model
    student = kbert.distill.student(teacher, num_layers=args.layers)
    depth = kbert.distill.find_encoder(student)[1].get_config()["num_layers"]
    print(f"kbert: distilling into {depth} of the teacher's "
          f"{kbert.distill.find_encoder(teacher)[1].get_config()['num_layers']} layers (T={args.temperature}, "
          f"alpha={args.alpha})")
    # the teacher's labels must be the data's (checked): its soft targets name its classes
    learner = kbert.get_learner(student, trn, val, batch_size=args.batch_size, seed=args.seed,
                                teacher=teacher_predictor, temperature=args.temperature, alpha=args.alpha,
                                hidden_loss=args.hidden_loss)
    learner.fit_onecycle(args.lr, args.epochs)
    predictor = kbert.get_predictor(learner.model, preproc, batch_size=args.batch_size)
    texts = list((val_df if val_df is not None else train_df)[args.text_column][:2000])
    rows = []
    for name, pred in (("teacher", teacher_predictor), ("student", predictor)):
        cm = preproc.validate(pred.model, val, args.batch_size, print_report=False) if val is not None else None
        acc = float(cm.trace() / cm.sum()) if cm is not None else float("nan")
        rows.append((name, acc, examples_per_second(pred, texts)))
    print(f"\n{'':8s} {'val accuracy':>12s} {'examples/s':>11s}")
    for name, acc, eps in rows:
        print(f"{name:8s} {acc:12.4f} {eps:11.0f}")
    print(f"student: {rows[1][2] / rows[0][2]:.2f}x the teacher's speed, "
          f"{100 * (rows[1][1] - rows[0][1]):+.2f} accuracy points")
    folder = predictor.save(kbert.distribute.worker_path(args.out))
    print(f"kbert: student predictor saved to {folder}")
    print(f"kbert: done in {time.time() - start:.0f} s")
    return rows


if __name__ == "__main__":
    main()
