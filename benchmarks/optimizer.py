#!/usr/bin/env python
"""One AdamW update of a BERT classifier's weights: kbert.optimizers.AdamW (TensorFlow's fused
Adam kernel) vs keras.optimizers.AdamW, same arguments as the Learner's, in the same run.

    python benchmarks/optimizer.py                 # the "minilm" classifier (22.6 M weights)
    python benchmarks/optimizer.py --repeats 50

Also checks that both give the same weights after the timed updates.
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="minilm")
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args(argv)

    import keras
    import numpy as np
    import tensorflow as tf

    import kbert
    from kbert.learner import NO_DECAY

    _, _, preproc = kbert.text.texts_from_array(["good", "bad", "meh"] * 4, ["a", "b", "c"] * 4,
                                                preset=args.preset, verbose=0)
    model = kbert.text.text_classifier(preproc, seed=0)
    variables = model.trainable_variables
    start = [v.numpy() for v in variables]
    rng = np.random.default_rng(0)
    grads = [tf.constant(rng.standard_normal(v.shape).astype("float32") * 1e-3) for v in variables]
    print(f"{sum(int(np.prod(v.shape)) for v in variables):,} trainable weights in {len(variables)} variables")

    results, ms = {}, {}
    for name, cls in (("keras.optimizers.AdamW", keras.optimizers.AdamW), ("kbert.optimizers.AdamW", kbert.optimizers.AdamW)):
        for v, w in zip(variables, start):
            v.assign(w)
        opt = cls(learning_rate=1e-4, weight_decay=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-6, clipnorm=1.0)
        opt.exclude_from_weight_decay(var_names=NO_DECAY)
        opt.build(variables)
        step = tf.function(lambda: opt.apply(grads, variables))
        step()  # trace
        t = time.perf_counter()
        for _ in range(args.repeats):
            step()
        ms[name] = (time.perf_counter() - t) / args.repeats * 1000
        results[name] = [v.numpy() for v in variables]
        print(f"{name}: {ms[name]:.1f} ms per update", flush=True)
    diff = max(float(np.abs(a - b).max()) for a, b in zip(*results.values()))
    ratio = ms["keras.optimizers.AdamW"] / ms["kbert.optimizers.AdamW"]
    print(f"kbert / keras speed: {ratio:.2f}x; max |weight difference| after {args.repeats + 1} updates: {diff:.2e}")
    return ratio


if __name__ == "__main__":
    main()
