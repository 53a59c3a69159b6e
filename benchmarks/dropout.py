#!/usr/bin/env python
"""A candidate tried for issue 20 and not kept: dropout masks from 16 random bits a value (one
32-bit draw serves two values; kept when its bits are >= round(rate · 65536)) against Keras'
Dropout (a uniform float a value). Milliseconds per training step of the emotion classifier,
the two models alternating on one fixed batch so that both see the same machine load; with
--quality, emotion val accuracy after the same fit on both sides, per seed.

    python benchmarks/dropout.py                                    # minilm, both precisions, width 64
    python benchmarks/dropout.py --widths 32,128 --precisions mixed_bfloat16
    python benchmarks/dropout.py --precisions "" --quality --seeds 42,1,2

Both models have the same weights and the same dropout rates; only the mask's draw differs.
Medians over --rounds rounds of 5 training steps. benchmarks/README.md has the figures and why
the candidate stays out of kbert.
"""

import argparse
import contextlib
import os
import sys
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
EMOTION = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "datasets", "emotion")



def sixteen_bit_dropout(inputs, rate, seed, bits=16):
    """`inputs` with each value zeroed with probability `rate` (to 1/2**bits), the rest scaled
    by 1 / (1 − rate): bits=16 packs two values' draws in one 32-bit word, bits=32 one each."""
    import tensorflow as tf

    n = tf.size(inputs)
    per_word = 32 // bits
    words = tf.random.stateless_uniform([(n + per_word - 1) // per_word], seed, minval=None, maxval=None,
                                        dtype=tf.uint32)
    draws = tf.reshape(tf.bitcast(words, tf.uint16), [-1])[:n] if bits == 16 else words
    keep = tf.reshape(draws >= round(rate * 2 ** bits), tf.shape(inputs))
    return tf.where(keep, inputs * tf.cast(1.0 / (1.0 - rate), inputs.dtype), tf.zeros_like(inputs))


def use_candidate(model, bits=16):
    """Every keras.layers.Dropout in `model` (nested ones too) draws with sixteen_bit_dropout."""
    import keras
    import tensorflow as tf

    def call(layer, inputs, training=False):
        if not training or layer.rate <= 0:
            return inputs
        seed = tf.cast(tf.math.floormod(layer.seed_generator.next(), tf.int32.max - 1), tf.int32)  # Keras' cast
        return sixteen_bit_dropout(inputs, layer.rate, seed, bits)

    for layer in model._flatten_layers(include_self=True, recursive=True):
        if type(layer) is keras.layers.Dropout and layer.noise_shape is None:
            layer.call = types.MethodType(call, layer)
    return model


@contextlib.contextmanager
def candidate_dropout(bits=16):
    """Classifiers built and Learners compiled inside draw their masks with the candidate."""
    import kbert.learner.facade
    import kbert.text.classification.model as classifier

    build, compile_ = classifier.build_task_model, kbert.learner.facade.Learner._compile

    def built(*a, **k):
        return use_candidate(build(*a, **k), bits)

    def compiled(self, *a, **k):
        use_candidate(self._trainee(), bits)
        return compile_(self, *a, **k)

    classifier.build_task_model, kbert.learner.facade.Learner._compile = built, compiled
    try:
        yield
    finally:
        classifier.build_task_model, kbert.learner.facade.Learner._compile = build, compile_


def speed(precision, width, args):
    import keras
    import numpy as np
    import pandas as pd

    import kbert

    df = pd.read_csv(os.path.join(EMOTION, "train.txt"), sep=";").sample(256, random_state=0)
    _, _, pre = kbert.text.texts_from_df(df, "text", "label_name", maxlen=width, preset=args.preset, verbose=0)
    models = {"keras": kbert.text.text_classifier(pre, precision=precision, seed=0)}
    with candidate_dropout():
        models["16-bit"] = kbert.text.text_classifier(pre, precision=precision, seed=0)
    for model in models.values():
        model.compile(optimizer=keras.optimizers.AdamW(1e-5),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 20000, (args.batch_size, width)).astype("int32")
    x = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids)}
    y = rng.integers(0, 6, args.batch_size)
    for model in models.values():  # trace and warm up
        for _ in range(3):
            model.train_on_batch(x, y)
    times = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            t0 = time.perf_counter()
            for _ in range(5):
                model.train_on_batch(x, y)
            times[name].append((time.perf_counter() - t0) / 5 * 1000)
    return {name: float(np.median(v)) for name, v in times.items()}


def quality(args):
    """benchmarks/quality.py's emotion recipe (its sample, seed and split), fitted with each draw."""
    import kbert
    from kbert.io import read_table

    train = read_table(os.path.join(EMOTION, "train.txt")).sample(args.rows, random_state=42)
    val = read_table(os.path.join(EMOTION, "val.txt"))
    trn, dev, pre = kbert.text.texts_from_df(train, "text", "label_name", val_df=val, maxlen=64, preset=args.preset,
                                             random_state=42, verbose=0)
    results = []
    for seed in args.seeds:
        for name, scope in (("16-bit", candidate_dropout()), ("keras", contextlib.nullcontext())):
            with scope:
                model = kbert.text.text_classifier(pre, seed=seed)
                learner = kbert.get_learner(model, trn, dev, batch_size=32, seed=seed)
                t0 = time.perf_counter()
                learner.fit_onecycle(args.lr, args.epochs, verbose=0)
                fit = time.perf_counter() - t0
            cm = learner.validate(print_report=False)
            results.append((seed, name, 100 * float(cm.trace() / cm.sum()), fit))
            print(f"seed {seed}, {name} dropout: val accuracy {results[-1][2]:.2f}, fit {fit:.0f} s", flush=True)
    return results


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="minilm")
    p.add_argument("--precisions", default="mixed_bfloat16,float32")
    p.add_argument("--widths", default="64")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--quality", action="store_true", help="also fit both sides on emotion and compare val accuracy")
    p.add_argument("--rows", type=int, default=6000, help="--quality: training rows (a random sample)")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--seeds", type=lambda s: [int(v) for v in s.split(",")], default=[42],
                   help="--quality: training seeds (weights' draws, batch order, masks), e.g. 42,1,2")
    args = p.parse_args()
    rows = []
    for precision in [p for p in args.precisions.split(",") if p]:
        for width in (int(w) for w in args.widths.split(",")):
            rows.append((precision, width, speed(precision, width, args)))
            print(f"{precision} width {width}: done", flush=True)
    print(f"\nbatch {args.batch_size}, {args.preset}; ms per training step (median of {args.rounds} rounds of 5)")
    print(f"{'precision':16s} {'width':>5s} {'Keras Dropout':>13s} {'16-bit draw':>13s} {'speed-up':>8s}")
    for precision, width, t in rows:
        print(f"{precision:16s} {width:5d} {t['keras']:13.1f} {t['16-bit']:13.1f} {t['keras'] / t['16-bit']:7.2f}x")
    if args.quality:
        import numpy as np

        q = quality(args)
        print(f"\nemotion val accuracy, points ({args.rows} rows sampled with seed 42, fit_onecycle({args.lr:g}, "
              f"{args.epochs}), precision auto)")
        print("| seed | Keras Dropout | 16-bit draw | Δ | fit Keras / 16-bit (s) |\n|---|---:|---:|---:|---|")
        for seed in args.seeds:
            k, b = [next(r for r in q if r[0] == seed and r[1] == n) for n in ("keras", "16-bit")]
            print(f"| {seed} | {k[2]:.2f} | {b[2]:.2f} | {b[2] - k[2]:+.2f} | {k[3]:.0f} / {b[3]:.0f} |")
        means = [np.mean([r[2] for r in q if r[1] == n]) for n in ("keras", "16-bit")]
        print(f"| mean | {means[0]:.2f} | {means[1]:.2f} | {means[1] - means[0]:+.2f} | |")


if __name__ == "__main__":
    main()
