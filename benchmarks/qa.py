#!/usr/bin/env python
"""Quality and speed of kbert's QA model on the shared SQuAD split (train → val).

    python benchmarks/qa.py                        # minilm, maxlen 384 / stride 128, 2 epochs
    python benchmarks/qa.py --maxlen 256 --precision mixed_bfloat16

Prints exact match and F1 after each epoch, wall time, steady training windows/s and real
tokens/s, and the speed of the same model on batches padded to maxlen (the fixed-length
peer: what keras-hub's preprocessors do), measured in the same run.
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
SQUAD = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "datasets", "squad")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--maxlen", type=int, default=384)
    p.add_argument("--doc-stride", type=int, default=128)
    p.add_argument("--precision", default="float32")
    p.add_argument("--max-questions", type=int)
    p.add_argument("--peer-steps", type=int, default=30, help="steps of the fixed-length peer (0: skip)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    import keras

    import kbert
    from classification import BatchTimer
    from kbert.data import pad_multiple_for

    trn, val, pre = kbert.text.qa_from_squad(os.path.join(SQUAD, "train.json.gz"),
                                             val_filepath=os.path.join(SQUAD, "val.json.gz"), maxlen=args.maxlen,
                                             doc_stride=args.doc_stride, max_questions=args.max_questions)
    model = kbert.text.qa_model(pre, precision=args.precision, seed=args.seed)
    learner = kbert.get_learner(model, trn, val, batch_size=args.batch_size, seed=args.seed)
    mean_pieces = float(trn.lengths.mean())

    peer = None
    if args.peer_steps:
        learner._compile(1e-5)
        weights = model.get_weights()
        rates = []
        for fixed in (None, args.maxlen):
            ds = trn.dataset(args.batch_size, training=True, seed=args.seed, fixed_length=fixed,
                             pad_multiple=pad_multiple_for(model)).take(args.peer_steps)
            timer = BatchTimer()
            model.fit(ds, epochs=1, callbacks=[timer], verbose=0)
            secs, batches = timer.steady_seconds_and_batches()
            rates.append(batches * args.batch_size / secs)
        model.set_weights(weights)
        peer = rates
        print(f"speed: kbert {rates[0]:.1f} windows/s vs fixed length {args.maxlen}: {rates[1]:.1f} windows/s "
              f"({rates[0] / rates[1]:.2f}x)")

    class EpochScores(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.scores = []

        def on_epoch_end(self, epoch, logs=None):
            s = learner.validate(print_report=False)
            self.scores.append(s)
            print(f"\nepoch {epoch + 1}: exact match {s['exact_match']:.2f}, F1 {s['f1']:.2f}")

    timer, per_epoch = BatchTimer(), EpochScores()
    start = time.perf_counter()
    learner.fit_onecycle(args.lr, args.epochs, callbacks=[timer, per_epoch], verbose=2)
    wall = time.perf_counter() - start
    secs, batches = timer.steady_seconds_and_batches()
    rate = batches * args.batch_size / secs
    final = per_epoch.scores[-1]
    print(f"\nminilm, maxlen {args.maxlen}, doc_stride {args.doc_stride}, {args.epochs} epochs, lr {args.lr}, "
          f"batch {args.batch_size}, {args.precision}: EM {final['exact_match']:.2f}, F1 {final['f1']:.2f}")
    print(f"{trn.stats['questions']} questions → {len(trn)} windows; wall {wall:.0f} s (training + per-epoch "
          f"validation); steady {rate:.1f} windows/s, {rate * mean_pieces:.0f} real tokens/s; padded share "
          f"{trn.padded_share(args.batch_size, pad_multiple=pad_multiple_for(model)):.3f}")
    if peer:
        print(f"fixed-length peer: {peer[1]:.1f} windows/s; ratio {rate / peer[1]:.2f}x (same run)")


if __name__ == "__main__":
    main()
