#!/usr/bin/env python
"""Overhead of MirroredStrategy: the same classifier trained under the default strategy and
under MirroredStrategy over 2 logical CPU devices, in the same process, on the same rows.

    python benchmarks/distribute.py                    # minilm, 2,048 emotion rows, global batches 32 and 64
    python benchmarks/distribute.py --batch-size 64 --rows 4096

On a 2-core machine the two logical devices share the same cores, so ≈ 1× is the best one
can expect: the point is that kbert's distributed path (per-replica input, all-reduce)
costs little (target ≥ 0.85×). Steady state: the first epoch (tracing) is not timed.
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
EMOTION = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "datasets", "emotion")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="minilm")
    p.add_argument("--rows", type=int, default=2048)
    p.add_argument("--batch-size", type=int, nargs="+", default=[32, 64],
                   help="global batch sizes (each split over the 2 replicas)")
    p.add_argument("--maxlen", type=int, default=128)
    p.add_argument("--epochs", type=int, default=3, help="the first is warm-up; the others are timed")
    args = p.parse_args(argv)

    import kbert

    kbert.distribute.split_cpu(2)  # before TensorFlow starts
    import keras
    import pandas as pd

    df = pd.read_csv(os.path.join(EMOTION, "train.txt"), sep=";").sample(args.rows, random_state=0)
    trn, val, preproc = kbert.text.texts_from_df(df, "text", "label_name", val_pct=0.1, maxlen=args.maxlen,
                                                 preset=args.preset, verbose=0)
    tokens = int(trn.lengths.sum())

    class Timer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epochs = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.end = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.epochs.append(self.end - self.start)

    ratios = {}
    for batch_size in args.batch_size:
        speed = {}
        for name in ("default", "mirrored"):
            strategy = kbert.distribute.get_strategy(name)
            model = kbert.text.text_classifier(preproc, strategy=strategy, seed=0)
            learner = kbert.get_learner(model, trn, val, batch_size=batch_size, seed=0)
            timer = Timer()
            learner.fit_onecycle(5e-5, args.epochs, callbacks=[timer], verbose=0)
            seconds = sum(timer.epochs[1:])
            speed[name] = len(trn) * (args.epochs - 1) / seconds
            print(f"batch {batch_size:3d}, {name:8s}: {strategy.num_replicas_in_sync} replica(s), "
                  f"{speed[name]:.1f} examples/s, {tokens * (args.epochs - 1) / seconds:.0f} real tokens/s, "
                  f"val accuracy {learner.history.history['val_accuracy'][-1]:.4f}", flush=True)
        ratios[batch_size] = speed["mirrored"] / speed["default"]
        print(f"batch {batch_size:3d}: Mirrored (2 logical CPUs) / default: {ratios[batch_size]:.2f}x examples/s "
              "(target >= 0.85x)", flush=True)
    return ratios

if __name__ == "__main__":
    main()
