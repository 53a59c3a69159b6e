#!/usr/bin/env python
"""The classifier's last encoder layer computed for [CLS] alone (kbert.first_token) against the
same model computing every position: milliseconds per training step and per prediction batch
on one fixed batch, the two models alternating so that both see the same machine load.

    python benchmarks/first_token.py                                   # minilm, both precisions, width 64
    python benchmarks/first_token.py --widths 32,128 --precisions mixed_bfloat16

The two models have the same weights and give the same logits (tests/test_first_token.py);
only the work differs. Medians over --rounds rounds of 5 training steps and 10 predictions.
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
EMOTION = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "datasets", "emotion")


def measure(precision, width, args):
    import keras
    import numpy as np
    import pandas as pd

    import kbert

    df = pd.read_csv(os.path.join(EMOTION, "train.txt"), sep=";").sample(256, random_state=0)
    _, _, pre = kbert.text.texts_from_df(df, "text", "label_name", maxlen=width, preset=args.preset, verbose=0)
    first = kbert.text.text_classifier(pre, precision=precision, seed=0)
    full = keras.models.model_from_json(first.to_json())  # reloaded architecture: every position computed
    full.set_weights(first.get_weights())
    for model in (first, full):
        model.compile(optimizer=keras.optimizers.AdamW(1e-5),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 20000, (args.batch_size, width)).astype("int32")
    x = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids)}
    y = rng.integers(0, 6, args.batch_size)
    for model in (first, full):  # trace and warm up
        for _ in range(3):
            model.train_on_batch(x, y)
            model.predict_on_batch(x)
    times = {"first": [], "full": []}
    for _ in range(args.rounds):
        for name, model in (("first", first), ("full", full)):
            t0 = time.perf_counter()
            for _ in range(5):
                model.train_on_batch(x, y)
            t1 = time.perf_counter()
            for _ in range(10):
                model.predict_on_batch(x)
            times[name].append(((t1 - t0) / 5, (time.perf_counter() - t1) / 10))
    return {name: np.median(np.array(v), axis=0) * 1000 for name, v in times.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="minilm")
    p.add_argument("--precisions", default="mixed_bfloat16,float32")
    p.add_argument("--widths", default="64")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--rounds", type=int, default=6)
    args = p.parse_args()
    rows = []
    for precision in args.precisions.split(","):
        for width in (int(w) for w in args.widths.split(",")):
            t = measure(precision, width, args)
            rows.append((precision, width, t))
            print(f"{precision} width {width}: done", flush=True)
    print(f"\nbatch {args.batch_size}, {args.preset}; ms per training step / prediction batch (median of {args.rounds})")
    print(f"{'precision':16s} {'width':>5s} {'train full':>10s} {'train [CLS]':>11s} {'speed-up':>8s} "
          f"{'pred full':>9s} {'pred [CLS]':>10s} {'speed-up':>8s}")
    for precision, width, t in rows:
        print(f"{precision:16s} {width:5d} {t['full'][0]:10.1f} {t['first'][0]:11.1f} {t['full'][0] / t['first'][0]:7.2f}x "
              f"{t['full'][1]:9.1f} {t['first'][1]:10.1f} {t['full'][1] / t['first'][1]:7.2f}x")


if __name__ == "__main__":
    main()
