#!/usr/bin/env python
"""Why a first epoch runs slower than the next: per-batch times of a 2-epoch fit, kbert's
Learner (the optimizer built before fit: the train step is traced once) against the same
Learner with the optimizer left for Keras to build inside the first trace (kbert before
commit 4201f1c: a tf.function that creates variables is traced twice), same rows and seed.

    python benchmarks/first_epoch.py                       # minilm, 1,024 emotion rows, precision auto
    python benchmarks/first_epoch.py --precision float32 --rows 2048

Prints, per side: the whole fit, the first batch (tracing included), the median batch of
epoch 1 after the first and of epoch 2, the batches of epoch 1 slower than 1.5x epoch 2's
median (new batch widths: oneDNN makes its kernels per shape) and the time they add.
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
EMOTION = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "datasets", "emotion")


def run(args, keras_build):
    import keras
    import numpy as np
    import pandas as pd
    import tensorflow as tf

    import kbert

    build = kbert.optimizers.AdamW.build
    if keras_build:  # only the call Keras makes inside the trace builds the optimizer
        def build_in_trace(self, variables):
            if tf.inside_function():
                build(self, variables)
        kbert.optimizers.AdamW.build = build_in_trace
    try:
        df = pd.read_csv(os.path.join(EMOTION, "train.txt"), sep=";").sample(args.rows, random_state=0)
        trn, val, pre = kbert.text.texts_from_df(df, "text", "label_name", val_pct=0.1, maxlen=args.maxlen,
                                                 preset=args.preset, verbose=0)
        model = kbert.text.text_classifier(pre, precision=args.precision, seed=0)
        learner = kbert.get_learner(model, trn, val, batch_size=args.batch_size, seed=0)
        ends = []

        class Clock(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                if not ends:
                    ends.append(time.perf_counter())

            def on_train_batch_end(self, batch, logs=None):
                ends.append(time.perf_counter())

            def on_epoch_begin(self, epoch, logs=None):  # validation between epochs is not a batch
                if ends:
                    ends.append(time.perf_counter())

        t0 = time.perf_counter()
        hist = learner.fit_onecycle(1e-4, 2, callbacks=[Clock()], verbose=0)
        total = time.perf_counter() - t0
    finally:
        kbert.optimizers.AdamW.build = build
    steps = learner.steps_per_epoch()
    first_begin = ends[0]
    ends = np.asarray(ends[1:])
    # per batch: end minus the previous end (the epoch-2 start replaces epoch 1's last end)
    e1 = np.diff(np.concatenate([[first_begin], ends[:steps]]))
    e2 = np.diff(ends[steps:])
    slow = e1[1:][e1[1:] > 1.5 * np.median(e2)]
    return {"fit s": total, "first batch s": e1[0], "epoch 1 ms": 1000 * np.median(e1[1:]),
            "epoch 2 ms": 1000 * np.median(e2), "slow batches": len(slow),
            "slow extra s": float(np.sum(slow - np.median(e2))), "loss": hist.history["loss"][-1]}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="minilm")
    p.add_argument("--rows", type=int, default=1024)
    p.add_argument("--maxlen", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--precision", default="auto")
    args = p.parse_args()
    results = {"optimizer built in the trace (Keras)": run(args, True), "built before fit (kbert)": run(args, False)}
    keys = list(next(iter(results.values())))
    print(f"{'':40s}" + "".join(f"{k:>15s}" for k in keys))
    for name, r in results.items():
        print(f"{name:40s}" + "".join(f"{r[k]:15.4g}" for k in keys))
    a, b = results.values()
    print(f"fit: {a['fit s'] / b['fit s']:.2f}x faster; first batch {a['first batch s']:.1f} -> "
          f"{b['first batch s']:.1f} s; losses {a['loss']:.6f} / {b['loss']:.6f}")


if __name__ == "__main__":
    main()
