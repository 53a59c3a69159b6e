#!/usr/bin/env python
"""Does kbert's pretraining pay off? A tiny encoder pretrained within a CPU budget against the
same architecture from random initialisation, both fine-tuned the same way on a little labelled
data.

    python benchmarks/pretrain.py                       # the recipe's defaults (≤ 30 min on 2 cores)
    python benchmarks/pretrain.py --epochs 4 --lr 1e-3  # a quick probe
    python benchmarks/pretrain.py --encoder my-encoder  # skip pretraining: fine-tune a saved one

1. Builds a WordPiece vocabulary on ../shared/datasets/corpus/train.txt.gz (Anna Karenina and War
   and Peace) and pretrains a fresh encoder of recipes/pretrain.py's default size with its
   defaults (masked LM, full-sentence packing, one-cycle rate) for --epochs passes.
2. Prints masked-LM accuracy on held-out text: corpus/valid.txt (Crime and Punishment, a book the
   encoder never saw), masked with a fixed seed — and the share of masked pieces that guessing
   the corpus's most frequent piece would get, for scale.
3. Fine-tunes a text classifier on --finetune-rows emotion training rows (the same rows, seed and
   schedule for both encoders) with the pretrained encoder and with the same architecture and
   vocabulary from random initialisation, at each rate of --finetune-lr, and prints emotion
   validation accuracy (all 2,000 rows) for both and their difference.

Targets (issue 18): held-out masked-LM accuracy ≥ 0.25; pretrained ≥ random + 3 points.
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "recipes"))
DATASETS = os.path.join(os.path.dirname(ROOT), "shared", "datasets")


def parse_args(argv=None):
    from pretrain import CHAPTERS, DEFAULTS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=DEFAULTS["epochs"], help="pretraining passes over the corpus")
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"], help="pretraining peak rate (one-cycle)")
    p.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    p.add_argument("--maxlen", type=int, default=DEFAULTS["maxlen"])
    p.add_argument("--vocab-size", type=int, default=DEFAULTS["vocab_size"])
    p.add_argument("--layers", type=int, default=DEFAULTS["layers"])
    p.add_argument("--hidden", type=int, default=DEFAULTS["hidden"])
    p.add_argument("--heads", type=int, default=DEFAULTS["heads"])
    p.add_argument("--objective", default=DEFAULTS["objective"], choices=["mlm", "mlm+nsp"])
    p.add_argument("--whole-word", action=argparse.BooleanOptionalAction, default=DEFAULTS["whole_word"])
    p.add_argument("--max-sentences", type=int, help="pretrain on the corpus's first N sentences (quick runs)")
    p.add_argument("--encoder", help="an encoder folder saved by an earlier run: skip pretraining")
    p.add_argument("--out", default="/tmp/kbert-pretrain-benchmark", help="where the pretrained encoder goes")
    p.add_argument("--finetune-rows", type=int, default=2000)
    p.add_argument("--finetune-epochs", type=int, default=10)
    p.add_argument("--finetune-lr", type=float, nargs="+", default=[3e-4, 1e-3])
    p.add_argument("--finetune-maxlen", type=int, default=64)
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args(argv)
    args.doc_separator = CHAPTERS
    return args


def most_frequent_share(val, preproc):
    """Share of masked pieces equal to the most frequent ordinary piece of the held-out text:
    what always guessing that piece scores."""
    import numpy as np

    from kbert.families import special_ids

    ids = val.features["token_ids"].flat_values.numpy()
    special = set(special_ids(preproc.tokenizer).values())
    ids = ids[~np.isin(ids, list(special))]
    return float(np.bincount(ids).max() / len(ids))


def pretrain(args):
    import kbert
    from kbert import pretraining as P
    from kbert.callbacks import Throughput

    start = time.time()
    corpus = P.corpus_from_files([os.path.join(DATASETS, "corpus", "train.txt.gz")],
                                 doc_separator=args.doc_separator, max_sentences=args.max_sentences)
    held_out = P.corpus_from_files([os.path.join(DATASETS, "corpus", "valid.txt")], doc_separator=args.doc_separator)
    vocabulary = P.build_vocabulary(corpus, vocabulary_size=args.vocab_size, lowercase=True)
    trn, val, preproc = P.pretraining_data(corpus, vocabulary=vocabulary, maxlen=args.maxlen,
                                           objective=args.objective, whole_word=args.whole_word,
                                           val_corpus=held_out, seed=args.seed)
    encoder = {"num_layers": args.layers, "hidden_dim": args.hidden, "num_heads": args.heads,
               "intermediate_dim": 4 * args.hidden}
    model = P.bert_pretrainer(preproc, encoder=encoder, seed=args.seed)
    learner = kbert.get_learner(model, trn, val, batch_size=args.batch_size, seed=args.seed)
    speed = Throughput(len(trn), int(trn.lengths.sum()), verbose=0)
    history = learner.fit_onecycle(args.lr, args.epochs, callbacks=[speed], verbose=2)
    minutes = (time.time() - start) / 60
    result = learner.validate(print_report=False)
    folder = P.export_encoder(learner.model, args.out)
    tokens_s = sum(e[2] * e[0] for e in speed.epochs) / sum(e[0] for e in speed.epochs)
    curve = ", ".join(f"{a:.3f}" for a in history.history.get("val_accuracy", history.history.get("val_mlm_accuracy", [])))
    print(f"\npretraining: {len(trn)} examples × {args.epochs} epochs, {learner.steps_per_epoch() * args.epochs} "
          f"updates, {tokens_s:.0f} real tokens/s, {minutes:.1f} min in all (vocabulary, data, training, validation)")
    print(f"held-out masked-LM accuracy by epoch: {curve}")
    return folder, result, most_frequent_share(val, preproc), minutes


def finetune_scores(args, folder):
    import numpy as np
    import pandas as pd

    import kbert

    train = pd.read_csv(os.path.join(DATASETS, "emotion", "train.txt"), sep=";")
    train = train.sample(n=args.finetune_rows, random_state=args.seed).reset_index(drop=True)
    val = pd.read_csv(os.path.join(DATASETS, "emotion", "val.txt"), sep=";")
    trn, vl, preproc = kbert.text.texts_from_df(train, "text", "label_name", val_df=val, preset=folder,
                                               maxlen=args.finetune_maxlen, verbose=0)
    backbone_config = kbert.load_encoder(folder)[0].get_config()
    random_init = {"family": "bert", "vocabulary": preproc.tokenizer.get_vocabulary(), "lowercase": True,
                   **{k: backbone_config[k] for k in ("num_layers", "hidden_dim", "num_heads", "intermediate_dim",
                                                      "max_sequence_length", "dropout")}}
    rows = []
    for lr in args.finetune_lr:
        scores = {}
        for name, encoder in (("pretrained", None), ("random init", random_init)):
            model = kbert.text.text_classifier(preproc, encoder=encoder, seed=args.seed)
            learner = kbert.get_learner(model, trn, vl, batch_size=32, seed=args.seed)
            t = time.time()
            learner.fit_onecycle(lr, args.finetune_epochs, verbose=0)
            y = np.argmax(learner.predict(), axis=-1)
            scores[name] = float(np.mean(y == np.asarray(learner.ground_truth())))
            print(f"fine-tune lr {lr:g}, {name}: emotion val accuracy {scores[name]:.4f} ({time.time() - t:.0f} s)")
        rows.append((lr, scores["pretrained"], scores["random init"]))
    majority = float(val["label_name"].value_counts(normalize=True).max())
    return rows, majority


def main(argv=None):
    args = parse_args(argv)
    if args.encoder:
        folder, result, frequent, minutes = args.encoder, None, None, None
    else:
        folder, result, frequent, minutes = pretrain(args)
    rows, majority = finetune_scores(args, folder)
    print("\n| measure | value | target |\n| --- | --- | --- |")
    if result is not None:
        accuracy = result["mlm_accuracy"]
        print(f"| pretraining wall time | {minutes:.1f} min | ≤ 30 |")
        print(f"| held-out masked-LM accuracy (Crime and Punishment) | {accuracy:.4f} | ≥ 0.25 |")
        print(f"| always the most frequent piece | {frequent:.4f} | |")
    print(f"| emotion val majority class | {majority:.4f} | |")
    for lr, pre, rnd in rows:
        print(f"| fine-tuned {args.finetune_rows} rows, lr {lr:g}: pretrained / random init / gain | "
              f"{pre:.4f} / {rnd:.4f} / {100 * (pre - rnd):+.1f} pts | ≥ +3 pts |")


if __name__ == "__main__":
    main()
