#!/usr/bin/env python
"""Quality and speed of kbert's sequence tagger on CoNLL-2003 (eng.train → eng.testa).

    python benchmarks/ner.py                  # minilm, 3 epochs, entity micro F1 after each epoch
    python benchmarks/ner.py --speed-only     # speed: default precision vs float32 vs batches padded to maxlen

Speed (benchmarks/windows_speed.py), in one run: the tagger in kbert's default precision and in
float32, each on kbert's length-bucketed batches and on batches padded to maxlen (what
keras-hub's preprocessors do); training and prediction windows/s, real tokens/s and the share
of the CPU's matmul limit. Quality reference
(Hugging Face transformers on PyTorch, same checkpoint, AdamW 1e-4, batch 32, from the
project's issue, not measured here): F1 0.876 after 1 epoch, 0.903 after 2.
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
CONLL = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "datasets", "conll2003")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--lr", type=float, default=2e-4, help="peak rate (0.9026 F1 after 3 epochs; 1e-4 gave 0.8975)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--maxlen", type=int, default=128)
    p.add_argument("--precision", default="float32")
    p.add_argument("--max-train-sentences", type=int)
    p.add_argument("--speed-only", action="store_true")
    p.add_argument("--speed-steps", type=int, default=40, help="timed training steps per side (--speed-only)")
    p.add_argument("--predict-windows", type=int, default=640, help="val sentences predicted per side (--speed-only)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    import keras

    import kbert
    from classification import BatchTimer
    from kbert.data import pad_multiple_for
    from kbert.text.ner import read_conll

    x, y = read_conll(os.path.join(CONLL, "eng.train"))
    if args.max_train_sentences:
        x, y = x[: args.max_train_sentences], y[: args.max_train_sentences]
    xv, yv = read_conll(os.path.join(CONLL, "eng.testa"))
    trn, val, pre = kbert.text.entities_from_array(x, y, xv, yv, maxlen=args.maxlen, preset="minilm")
    mean_pieces = float(trn.lengths.mean())

    def build(precision):
        return kbert.text.sequence_tagger(pre, precision=precision, seed=args.seed)

    if args.speed_only:
        import windows_speed

        return windows_speed.run(args, build, trn, val)
    model = build(args.precision)
    learner = kbert.get_learner(model, trn, val, batch_size=args.batch_size, seed=args.seed)

    class EpochF1(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.f1 = []

        def on_epoch_end(self, epoch, logs=None):
            f1 = learner.validate(print_report=False)
            self.f1.append(f1)
            print(f"\nepoch {epoch + 1}: entity micro F1 on eng.testa {f1:.4f}")

    timer, per_epoch = BatchTimer(), EpochF1()
    start = time.perf_counter()
    learner.fit_onecycle(args.lr, args.epochs, callbacks=[timer, per_epoch], verbose=2)
    wall = time.perf_counter() - start
    secs, batches = timer.steady_seconds_and_batches()
    learner.validate()
    ex_s = batches * args.batch_size / secs
    print(f"\nminilm, {args.epochs} epochs, lr {args.lr}, batch {args.batch_size}, {args.precision}: "
          f"F1 per epoch {[round(f, 4) for f in per_epoch.f1]}")
    print(f"wall time {wall:.0f} s (training + per-epoch validation); steady training {ex_s:.1f} windows/s, "
          f"{ex_s * mean_pieces:.0f} real tokens/s; padded share "
          f"{trn.padded_share(args.batch_size, pad_multiple=pad_multiple_for(model)):.3f}")
    print("reference (Hugging Face transformers, PyTorch, same checkpoint; from the issue): "
          "0.876 after 1 epoch, 0.903 after 2")


if __name__ == "__main__":
    main()
