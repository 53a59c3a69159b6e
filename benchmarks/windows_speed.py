"""Training and prediction speed of a token-level task (NER, QA) in one run, shared by
benchmarks/ner.py and benchmarks/qa.py (`--speed-only`).

Sides, each on the same rows, checkpoint and batch size:
- kbert's default precision ("auto": mixed_bfloat16 where the CPU has bfloat16 matrix units)
  and float32, on kbert's length-bucketed batches;
- the same two models on batches padded to maxlen (what keras-hub's preprocessors do).

Reported per side: training windows/s (steady state after a warm-up), real tokens/s (the
training rows' mean length in pieces × windows/s), prediction windows/s (a timed pass after an
untimed one that traces every width), and the share of the CPU's limit: the real tokens/s that
its peak matmul rate (a 2048² product timed in this run, per precision) allows at the model's
FLOPs per real token (6 × the encoder's matmul weights + attention at the batches' mean width
for training, a third of that for prediction).
"""

import time

import numpy as np

WARMUP_STEPS = 5


def peak_gflops(dtype, n=2048, reps=8):
    """Measured GFLOP/s of an n×n matrix product in `dtype` ("float32" or "bfloat16")."""
    import tensorflow as tf

    a = tf.random.normal([n, n], dtype=tf.float32)
    a = tf.cast(a, dtype)
    b = tf.identity(a)
    tf.linalg.matmul(a, b).numpy()  # warm-up
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(reps):
            c = tf.linalg.matmul(a, b)
        c.numpy()
        best = min(best, (time.perf_counter() - start) / reps)
    return 2 * n ** 3 / best / 1e9


def flops_per_token(backbone, width, training=True):
    """Matmul FLOPs per real token: dense layers (2 per weight) and attention's two products
    (2 × 2 × width × hidden per layer), × 3 for training (forward + two backward products)."""
    dense = sum(int(np.prod(w.shape)) for w in backbone.weights  # not the embeddings, not BERT's pooler
                if len(w.shape) >= 2 and "embedding" not in w.path and "pooled" not in w.path)
    cfg = backbone.get_config()
    attention = 4 * width * cfg["hidden_dim"] * cfg["num_layers"]
    forward = 2 * dense + attention
    return 3 * forward if training else forward


def _mean_width(data, batch_size, fixed_length):
    if fixed_length:
        return float(fixed_length)
    widths = [int(x["padding_mask"].shape[1]) for x in data.dataset(batch_size, training=False,
                                                                    with_targets=False, pad_multiple=1)]
    return float(np.mean(widths)) if widths else 0.0


def prediction_batches(data, batch_size, fixed_length, pad_multiple, windows, seed):
    """A random sample of whole prediction batches (kbert's length-sorted ones, or padded to
    fixed_length) holding about `windows` rows, materialised so that timing reads no pipeline."""
    import tensorflow as tf

    steps = data.steps(batch_size)
    ds = data.dataset(batch_size, with_targets=False, fixed_length=fixed_length, pad_multiple=pad_multiple)
    ds = ds.shuffle(steps, seed=seed).take(max(1, -(-windows // batch_size)))
    return [tf.nest.map_structure(lambda t: t.numpy(), x) for x in ds]


def measure(make_model, get_learner, trn, val, batch_size, maxlen, steps, predict_windows, seed=0,
            precisions=("auto", "float32")):
    """Runs every side; returns a list of dicts (one per precision × batching)."""
    from classification import BatchTimer
    from kbert.backbones import find_backbone
    from kbert.data import pad_multiple_for

    peaks = {"float32": peak_gflops("float32"), "bfloat16": peak_gflops("bfloat16")}
    print(f"peak matmul (2048², this run): float32 {peaks['float32']:.0f} GFLOP/s, "
          f"bfloat16 {peaks['bfloat16']:.0f} GFLOP/s")
    mean_pieces = float(trn.lengths.mean())
    results = []
    for precision in precisions:
        model = make_model(precision)
        learner = get_learner(model)
        learner._compile(1e-5)
        backbone = find_backbone(model)
        compute = backbone.dtype_policy.compute_dtype  # the task model's own policy may stay float32
        for fixed in (None, maxlen):
            ds = trn.dataset(batch_size, training=True, seed=seed, fixed_length=fixed,
                             pad_multiple=pad_multiple_for(model)).take(steps + WARMUP_STEPS)
            timer = BatchTimer()
            model.fit(ds, epochs=1, callbacks=[timer], verbose=0)
            secs, batches = timer.steady_seconds_and_batches()
            train_w = batches * batch_size / secs
            batches = prediction_batches(val, batch_size, fixed, pad_multiple_for(model), predict_windows, seed)
            for x in batches:  # untimed: traces every width
                model.predict_on_batch(x)
            start = time.perf_counter()
            for x in batches:
                model.predict_on_batch(x)
            secs = time.perf_counter() - start
            windows = sum(int(x["padding_mask"].shape[0]) for x in batches)
            pred_w = windows / secs
            pred_pieces = sum(int(np.sum(x["padding_mask"])) for x in batches) / windows
            pred_width = float(np.mean([x["padding_mask"].shape[1] for x in batches]))
            peak = peaks["bfloat16" if compute == "bfloat16" else "float32"] * 1e9
            train_width = _mean_width(trn, batch_size, fixed)
            train_limit = peak / flops_per_token(backbone, train_width, training=True)
            pred_limit = peak / flops_per_token(backbone, pred_width, training=False)
            name = f"kbert {precision}{f' ({compute})' if precision == 'auto' else ''}, " + (
                "length-bucketed" if fixed is None else f"padded to {maxlen}")
            r = {"name": name, "precision": precision, "compute": compute, "fixed": fixed,
                 "train_w_s": train_w, "train_tok_s": train_w * mean_pieces,
                 "train_share": train_w * mean_pieces / train_limit,
                 "pred_w_s": pred_w, "pred_tok_s": pred_w * pred_pieces, "pred_share": pred_w * pred_pieces / pred_limit}
            results.append(r)
            info = {"mean_pieces": mean_pieces, "predict_windows": windows}
            print(f"{name}: train {train_w:.1f} windows/s, predict {pred_w:.1f} windows/s", flush=True)
    return results, info


def report(results, info, batch_size, steps):
    print(f"\nbatch {batch_size}, {steps} timed training steps after {WARMUP_STEPS} warm-up steps; training rows' "
          f"mean length {info['mean_pieces']:.1f} pieces; prediction over {info['predict_windows']} val windows")
    print(f"{'side':44s} {'train w/s':>9s} {'real tok/s':>10s} {'limit':>6s} {'pred w/s':>9s} {'real tok/s':>10s} "
          f"{'limit':>6s}")
    for r in results:
        print(f"{r['name']:44s} {r['train_w_s']:9.1f} {r['train_tok_s']:10.0f} {100 * r['train_share']:5.0f}% "
              f"{r['pred_w_s']:9.1f} {r['pred_tok_s']:10.0f} {100 * r['pred_share']:5.0f}%")
    default = results[0]
    print()
    for r in results[1:]:
        print(f"{default['name']} vs {r['name']}: training {default['train_w_s'] / r['train_w_s']:.2f}x, "
              f"prediction {default['pred_w_s'] / r['pred_w_s']:.2f}x")


def run(args, make_model, trn, val):
    """`--speed-only` of ner.py and qa.py: every side measured and the table printed.

    Args:
        args: the script's arguments (batch_size, maxlen, speed_steps, predict_windows, seed).
        make_model: precision → an uncompiled task model on the same preprocessor.
        trn, val: the task's TaskData.
    """
    import kbert

    results, info = measure(make_model,
                            lambda m: kbert.get_learner(m, trn, val, batch_size=args.batch_size, seed=args.seed),
                            trn, val, args.batch_size, args.maxlen, args.speed_steps, args.predict_windows,
                            seed=args.seed)
    report(results, info, args.batch_size, args.speed_steps)
