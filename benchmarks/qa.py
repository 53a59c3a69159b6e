#!/usr/bin/env python
"""Quality and speed of kbert's QA model on the shared SQuAD split (train → val).

    python benchmarks/qa.py                        # minilm, maxlen 384 / stride 128, 3 epochs (the recipe)
    python benchmarks/qa.py --maxlen 256 --precision mixed_bfloat16
    python benchmarks/qa.py --speed-only --max-questions 2000

Prints exact match and F1 after each epoch, wall time, steady training windows/s and real
tokens/s. `--speed-only` (benchmarks/windows_speed.py), in one run: the model in kbert's default
precision and in float32, each on kbert's length-bucketed batches and on batches padded to
maxlen (what keras-hub's preprocessors do); training and prediction windows/s, real tokens/s
and the share of the CPU's matmul limit.
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
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--maxlen", type=int, default=384)
    p.add_argument("--doc-stride", type=int, default=128)
    p.add_argument("--precision", default="float32")
    p.add_argument("--max-questions", type=int)
    p.add_argument("--speed-only", action="store_true")
    p.add_argument("--speed-steps", type=int, default=20, help="timed training steps per side (--speed-only)")
    p.add_argument("--predict-windows", type=int, default=160, help="val windows predicted per side (--speed-only)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    import keras

    import kbert
    from classification import BatchTimer
    from kbert.data import pad_multiple_for

    trn, val, pre = kbert.text.qa_from_squad(os.path.join(SQUAD, "train.json.gz"),
                                             val_filepath=os.path.join(SQUAD, "val.json.gz"), maxlen=args.maxlen,
                                             doc_stride=args.doc_stride, max_questions=args.max_questions)
    mean_pieces = float(trn.lengths.mean())

    def build(precision):
        return kbert.text.qa_model(pre, precision=precision, seed=args.seed)

    if args.speed_only:
        import windows_speed

        return windows_speed.run(args, build, trn, val)
    model = build(args.precision)
    learner = kbert.get_learner(model, trn, val, batch_size=args.batch_size, seed=args.seed)

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


if __name__ == "__main__":
    main()
