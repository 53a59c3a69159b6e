#!/usr/bin/env python
"""Fine-tuning refinements against the plain recipe: layer-wise learning-rate decay
(`lr_decay_rate`), the weights' moving average (`ema`) and the numeric precision, on the same
rows, seed and schedule, for the three task families' recipes.

    python benchmarks/quality.py                                  # emotion: all variants
    python benchmarks/quality.py --variants baseline,llrd0.9 --rows 3000
    python benchmarks/quality.py --task ner --variants fp32,bf16  # precision="auto"'s question
    python benchmarks/quality.py --task qa --rows 4000 --variants fp32,bf16+ema0.99

Tasks (each as its recipe builds it; --maxlen, --lr and --batch-size default per task, TASK_DEFAULTS):
    emotion: text_classifier on a random --rows sample of train.txt → all of val.txt;
        the score is accuracy.
    ner: sequence_tagger on the first --rows sentences of CoNLL-2003 eng.train → eng.testa
        (its first --val-rows sentences; default all); the score is seqeval's entity micro F1.
    qa: qa_model on the first --rows questions of SQuAD train.json.gz → val.json.gz (its first
        --val-rows questions; default all 997); the score is the official F1 (and exact match).

A variant is "+"-joined parts: a name from VARIANTS, "llrd<rate>", "ema<momentum>", and a
precision, "fp32" (float32) or "bf16" (mixed_bfloat16; without one: --precision); optionally
with its own peak rate: "llrd0.9@2e-4", "bf16+ema0.99". Each trains a fresh model from the
same start (seed) with `fit_onecycle(lr, epochs)`; the table gives the score in points, its
difference from the first variant's and the wall time of the fit.

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
PRECISIONS = {"fp32": "float32", "bf16": "mixed_bfloat16"}
# the recipes' settings (recipes/ner.py, recipes/qa.py); emotion's suit its short texts
TASK_DEFAULTS = {
    "emotion": {"maxlen": 64, "lr": 1e-4, "batch_size": 32},
    "ner": {"maxlen": 128, "lr": 2e-4, "batch_size": 32},
    "qa": {"maxlen": 384, "lr": 1e-4, "batch_size": 16},
}


def parse_variant(name):
    """(options for get_learner, peak rate or None, precision or None) of a variant's name."""
    name, _, lr = name.partition("@")
    lr = float(lr) if lr else None
    options, precision = {}, None
    for part in name.split("+"):
        if part in PRECISIONS:
            precision = PRECISIONS[part]
        elif part in VARIANTS:
            options.update(VARIANTS[part])
        elif part.startswith("llrd"):
            options["lr_decay_rate"] = float(part[4:])
        elif part.startswith("ema"):
            options["ema"] = float(part[3:])
        else:
            raise SystemExit(f"--variants: unknown part {part!r} of {name!r}; join {', '.join(VARIANTS)}, "
                             f"llrd<r>, ema<m>, {', '.join(PRECISIONS)} with +, optionally @<lr>.")
    return options, lr, precision


def emotion_task(args):
    """(train, val, model(precision) -> model, score(learner) -> {name: points}, description)."""
    import kbert
    from kbert.io import read_table

    folder = os.path.join(DATASETS, "emotion")
    train_df = read_table(os.path.join(folder, "train.txt"))
    val_df = read_table(os.path.join(folder, "val.txt"))
    if args.rows and len(train_df) > args.rows:
        train_df = train_df.sample(args.rows, random_state=args.seed)
    if args.val_rows:
        val_df = val_df.iloc[:args.val_rows]
    trn, val, pre = kbert.text.texts_from_df(train_df, "text", "label_name", val_df=val_df, maxlen=args.maxlen,
                                             preset=args.preset, random_state=args.seed, verbose=0)

    def model(precision):
        return kbert.text.text_classifier(pre, precision=precision, seed=args.seed)

    def score(learner):
        cm = learner.validate(print_report=False)
        return {"accuracy": 100 * float(cm.trace() / cm.sum())}

    return trn, val, model, score, f"{len(train_df)} train rows, {len(val_df)} val rows"


def ner_task(args):
    """CoNLL-2003 as recipes/ner.py reads it (sentence windows, no document context)."""
    import kbert
    from kbert.text.ner import read_conll

    folder = os.path.join(DATASETS, "conll2003")
    x, y, _ = read_conll(os.path.join(folder, "eng.train"), documents=True)
    xv, yv, _ = read_conll(os.path.join(folder, "eng.testa"), documents=True)
    x, y = (x[:args.rows], y[:args.rows]) if args.rows else (x, y)
    xv, yv = (xv[:args.val_rows], yv[:args.val_rows]) if args.val_rows else (xv, yv)
    trn, val, pre = kbert.text.entities_from_array(x, y, xv, yv, maxlen=args.maxlen, preset=args.preset,
                                                   random_state=args.seed, verbose=0)

    def model(precision):
        return kbert.text.sequence_tagger(pre, precision=precision, seed=args.seed, verbose=0)

    def score(learner):
        return {"entity F1": 100 * learner.validate(print_report=False)}

    return trn, val, model, score, f"{len(x)} eng.train sentences, {len(xv)} eng.testa sentences"


def qa_task(args):
    """SQuAD as recipes/qa.py reads it; --rows limits only the training questions."""
    import kbert
    from kbert.text.qa import qa_from_examples, read_squad

    folder = os.path.join(DATASETS, "squad")
    # qa_from_squad's max_questions cuts both files: read each with its own limit instead
    train = read_squad(os.path.join(folder, "train.json.gz"), args.rows or None)
    val = read_squad(os.path.join(folder, "val.json.gz"), args.val_rows or None)
    trn, val_data, pre = qa_from_examples(train, val, args.maxlen, args.doc_stride, None, args.preset, 0.1,
                                          args.seed, False, 0, ("train.json.gz", "val.json.gz"),
                                          all_answers=args.answers == "all")

    def model(precision):
        return kbert.text.qa_model(pre, precision=precision, seed=args.seed)

    def score(learner):
        scores = learner.validate(print_report=False)
        return {"SQuAD F1": scores["f1"], "EM": scores["exact_match"]}

    return trn, val_data, model, score, (f"{len(train)} train questions, {len(val)} val questions, "
                                         f"doc_stride {args.doc_stride}, answers: {args.answers}")


TASKS = {"emotion": emotion_task, "ner": ner_task, "qa": qa_task}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default="emotion", choices=sorted(TASKS))
    p.add_argument("--variants", default="baseline,llrd0.9,ema0.99,llrd0.9+ema0.99")
    p.add_argument("--preset", default="minilm")
    p.add_argument("--rows", type=int, default=6000,
                   help="emotion: training rows (a random sample); ner: the first N sentences; qa: the first N "
                        "questions (0: all)")
    p.add_argument("--val-rows", type=int, default=None, help="the first N validation rows (default: all)")
    p.add_argument("--maxlen", type=int, default=None, help="default: TASK_DEFAULTS")
    p.add_argument("--batch-size", type=int, default=None, help="default: TASK_DEFAULTS")
    p.add_argument("--lr", type=float, default=None, help="peak rate (default: TASK_DEFAULTS)")
    p.add_argument("--doc-stride", type=int, default=128, help="qa: overlap of a long context's windows")
    p.add_argument("--answers", default="first", choices=("first", "all"),
                   help="qa: train on each question's first gold span, or on all its distinct ones (all_answers)")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--precision", default="auto", help="for variants without fp32/bf16")
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args(argv)
    for key, value in TASK_DEFAULTS[args.task].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    variants = [(name, parse_variant(name)) for name in args.variants.split(",")]

    import kbert

    trn, val, make_model, score, what = TASKS[args.task](args)
    settings = (f"{args.task}: {what}; {args.preset}, maxlen {args.maxlen}, batch {args.batch_size}, "
                f"fit_onecycle({args.lr:g} unless the variant names its rate, {args.epochs}), "
                f"precision {args.precision} unless the variant names one, seed {args.seed}")
    print(settings, flush=True)
    rows = []
    for name, (options, lr, precision) in variants:
        model = make_model(precision or args.precision)
        learner = kbert.get_learner(model, trn, val, batch_size=args.batch_size, seed=args.seed, **options)
        start = time.time()
        hist = learner.fit_onecycle(lr or args.lr, args.epochs, verbose=0)
        seconds = time.time() - start
        scores = score(learner)
        per_epoch = {k: [round(float(v), 4) for v in vs] for k, vs in hist.history.items() if k.startswith("val_")}
        rows.append((name, scores, seconds))
        print(f"{name:>18}: {', '.join(f'{k} {v:.2f}' for k, v in scores.items())}  (per epoch {per_epoch})  "
              f"fit {seconds:.0f} s", flush=True)
    names = list(rows[0][1])  # the first score is the one compared
    print(f"\n| variant | {' | '.join(names)} | Δ {names[0]} vs first (points) | fit wall time |")
    print("| --- " * (len(names) + 3) + "|")
    for name, scores, seconds in rows:
        print(f"| {name} | {' | '.join(f'{scores[k]:.2f}' for k in names)} | "
              f"{scores[names[0]] - rows[0][1][names[0]]:+.2f} | {seconds:.0f} s |")
    print(f"\n{settings}")
    return rows


if __name__ == "__main__":
    main()
