#!/usr/bin/env python
"""Fine-tune BERT for extractive question answering on SQuAD-format data.

    python recipes/qa.py                                   # ../shared/datasets/squad (train → val)
    python recipes/qa.py --max-questions 2000 --maxlen 256 --epochs 1
    python recipes/qa.py --train my_squad.json --val my_val.json --out qa-predictor

Prints the official SQuAD exact match and F1 on the validation questions and saves the predictor.
"""

import argparse
import os
import time

from flags import add_common, shared_datasets

SHARED = shared_datasets("squad")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", default=os.path.join(SHARED, "train.json.gz"))
    p.add_argument("--val", default=None, help="validation file (default: val.json.gz beside the default --train)")
    # 3 epochs: SQuAD val F1 70.91 against 68.76 with 2 (all 7,913 train questions, seed 42,
    # benchmarks/quality.py --task qa), for 1.5x the training time; 4 epochs gave 70.67
    add_common(p, maxlen=384, batch_size=16, lr=1e-4, epochs=3, out="qa-predictor")
    p.add_argument("--doc-stride", type=int, default=128)
    p.add_argument("--max-questions", type=int, help="the first N questions of each file")
    args = p.parse_args(argv)
    if args.val is None and args.train == os.path.join(SHARED, "train.json.gz"):
        args.val = os.path.join(SHARED, "val.json.gz")
    return args


def main(argv=None):
    args = parse_args(argv)
    import kbert
    strategy = kbert.distribute.from_arguments(args)  # before any data or model

    start = time.time()
    trn, val, preproc = kbert.text.qa_from_squad(args.train, val_filepath=args.val, preset=args.preset,
                                                 maxlen=args.maxlen, doc_stride=args.doc_stride,
                                                 max_questions=args.max_questions, random_state=args.seed)
    model = kbert.text.qa_model(preproc, precision=args.precision, seed=args.seed,
                                    strategy=strategy)
    learner = kbert.get_learner(model, trn, val, batch_size=args.batch_size, seed=args.seed)
    learner.fit_onecycle(args.lr, args.epochs)
    scores = learner.validate()
    print(f"exact match {scores['exact_match']:.2f}, F1 {scores['f1']:.2f}")
    predictor = kbert.get_predictor(learner.model, preproc)
    folder = predictor.save(kbert.distribute.worker_path(args.out))
    print(f"kbert: predictor saved to {folder}")
    context = "Hamlet is a tragedy written by William Shakespeare sometime between 1599 and 1601."
    print("  Who wrote Hamlet? ->",
          kbert.load_predictor(folder).predict(question="Who wrote Hamlet?", context=context))
    print(f"kbert: done in {time.time() - start:.0f} s")
    return scores


if __name__ == "__main__":
    main()
