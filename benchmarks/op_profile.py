#!/usr/bin/env python
"""Where the time of a training step and a prediction batch goes, in float32 and mixed_bfloat16:
TensorFlow's profiler on kbert's emotion classifier (minilm, batch 32), op time by category.

    python benchmarks/op_profile.py                      # 10 steps / 10 batches profiled per run
    python benchmarks/op_profile.py --steps 20 --warmup 5 --maxlen 128
    python benchmarks/op_profile.py --precisions float32 --logdir /tmp/kbert-profile   # keep the traces

Training is `learner.fit_onecycle` (Keras' train function on kbert's bucketed tf.data batches);
a callback times `--steps` steps unprofiled after `--warmup` steps (tracing excluded), then
profiles the next `--steps`. Prediction is `predict_rows`' loop (NumPy padding, then
`model.predict_on_batch`) over `--steps` batches of val.txt: one warm-up pass, one timed
pass, one profiled pass. Tokenization (`preproc.transform`) is outside both.

The .xplane.pb the profiler writes is read with TensorFlow's own protobuf (no extra package).
Op kernels are the host events named "scope/op_name:OpType"; each instant of the window is
shared equally among the kernels running then (two inter-op threads may overlap), so the
categories add up to the wall time. Category by op type, else by the Keras name scope:
matmul (MatMul/BatchMatMul/Einsum, oneDNN _Mkl* and fused variants), softmax (scope
"softmax", forward and gradient), layer norm (scope "layer_norm"), GELU (scope "gelu", Erf),
dropout (scope "dropout", random ops), cast (Cast, wherever), optimizer (scope "adam_w",
Resource*Apply*, Assign*VariableOp), input (IteratorGetNext* in the step, NumPy padding when
predicting), other; "overhead" is time when no kernel runs (executor dispatch between ops,
Python, callbacks, function calls). Background tf.data threads (prefetch) are not counted.
The profiler itself slows the steps: the table gives the unprofiled wall time as well.
"""

import argparse
import collections
import glob
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
EMOTION = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "datasets", "emotion")

CATEGORIES = ("matmul", "softmax", "layer norm", "gelu", "dropout", "cast", "optimizer", "input", "other",
              "overhead")
INPUT_TYPES = ("IteratorGetNext", "IteratorGetNextSync", "IteratorGetNextAsOptional", "OptionalGetValue",
               "OptionalHasValue")
# the step's wait for its batch (Keras' train function), and predict's NumPy padding (traced here)
INPUT_EVENTS = ("IteratorGetNextOp::DoCompute", "kbert_input")
SCOPES = (("softmax", "softmax"), ("layer_norm", "layer norm"), ("layernorm", "layer norm"), ("gelu", "gelu"),
          ("dropout", "dropout"))


def category(name, op_type):
    """The category of one kernel event, from its op type and its name scope (lower case)."""
    scope = name.lower()
    if op_type in INPUT_TYPES:
        return "input"
    if op_type == "Cast":
        return "cast"
    if ("adam_w" in scope or "ResourceApply" in op_type
            or op_type in ("AssignVariableOp", "AssignSubVariableOp", "AssignAddVariableOp")):
        return "optimizer"
    if "MatMul" in op_type or "Einsum" in op_type:
        return "matmul"
    if "Softmax" in op_type:
        return "softmax"
    for key, cat in SCOPES:
        if key in scope:
            return cat
    if op_type in ("Erf", "Erfc"):
        return "gelu"
    if "Random" in op_type:
        return "dropout"
    return "other"


def read_xspace(logdir):
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    paths = sorted(glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb")))
    if not paths:
        raise FileNotFoundError(f"no .xplane.pb under {logdir!r}: the profiler wrote no trace.")
    space = xplane_pb2.XSpace()
    with open(paths[-1], "rb") as f:
        space.ParseFromString(f.read())
    return space


def leaf_events(events):
    """(start, end, name) of the events that contain no other event of the list (same thread)."""
    leaves, stack = [], []  # stack: [event, has a child]
    for e in sorted(events, key=lambda e: (e[0], -e[1])):
        while stack and stack[-1][0][1] <= e[0]:
            done, has_child = stack.pop()
            if not has_child:
                leaves.append(done)
        if stack:
            stack[-1][1] = True
        stack.append([e, False])
    leaves.extend(e for e, has_child in stack if not has_child)
    return leaves


def analyze(logdir, units):
    """Per unit (step or batch): ms by category, the window's ms, kernels, the top op types of
    "other", and the kernels' summed ms (more than the window where the two threads overlap)."""
    plane = next(p for p in read_xspace(logdir).planes if p.name == "/host:CPU")
    meta = {k: v.name for k, v in plane.event_metadata.items()}
    window, kernels, other_types = None, [], collections.Counter()
    for line in plane.lines:
        # the step waits on tf_data_iterator_get_next; the other tf.data threads prefetch in the background
        if line.name.startswith("tf_data") and not line.name.startswith("tf_data_iterator_get_next"):
            continue
        own = []
        for e in line.events:
            name = meta[e.metadata_id]
            start = line.timestamp_ns * 1000 + e.offset_ps
            if name == "kbert_window":
                window = (start, start + e.duration_ps)
            elif name in INPUT_EVENTS or (":" in name and "::" not in name and ": " not in name):
                own.append((start, start + e.duration_ps, name))
        kernels.extend(leaf_events(own))
    if window is None:
        raise RuntimeError(f"the trace in {logdir!r} has no kbert_window event.")
    # sweep: each instant goes in equal parts to the kernels running then, or to "overhead"
    bounds, busy = [], 0
    for i, (s, e, _) in enumerate(kernels):
        s, e = max(s, window[0]), min(e, window[1])
        if s < e:
            bounds += [(s, 1, i), (e, -1, i)]
            busy += (e - s) * (kernels[i][2] not in INPUT_EVENTS)
    bounds.sort()
    ps = collections.Counter()
    active, last, count = set(), window[0], 0
    cats = {}
    for t, kind, i in bounds:
        if t > last:
            if active:
                for j in active:
                    ps[cats[j]] += (t - last) / len(active)
            else:
                ps["overhead"] += t - last
            last = t
        if kind == 1:
            name = kernels[i][2]
            scope, _, op_type = name.rpartition(":")
            cats[i] = "input" if name in INPUT_EVENTS else category(scope, op_type)
            if cats[i] == "other":
                other_types[op_type] += kernels[i][1] - kernels[i][0]
            count += name not in INPUT_EVENTS
            active.add(i)
        else:
            active.discard(i)
    ps["overhead"] += window[1] - last
    ms = {c: ps[c] / 1e9 / units for c in CATEGORIES}
    top_other = ", ".join(t for t, _ in other_types.most_common(5))
    return ms, (window[1] - window[0]) / 1e9 / units, count / units, top_other, busy / 1e9 / units


def profile_training(kbert, keras, tf, model, trn, val, args, logdir):
    """(unprofiled ms per step, analysis) of `args.steps` steps after `args.warmup`."""
    w, n = args.warmup, args.steps

    class Capture(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == w:
                self.start = time.perf_counter()
            elif batch == w + n:
                self.unprofiled = (time.perf_counter() - self.start) / n
                tf.profiler.experimental.start(logdir)
                self.trace = tf.profiler.experimental.Trace("kbert_window")
                self.trace.__enter__()
            elif batch == w + 2 * n:
                self.trace.__exit__(None, None, None)
                tf.profiler.experimental.stop()
                self.done = True

    capture = Capture()
    learner = kbert.get_learner(model, trn, val, batch_size=args.batch_size, seed=0)
    if learner.steps_per_epoch() <= w + 2 * n:
        raise ValueError(f"{learner.steps_per_epoch()} batches per epoch; need more than {w + 2 * n}.")
    learner.fit_onecycle(1e-4, 1, callbacks=[capture], verbose=0)
    if not getattr(capture, "done", False):
        raise RuntimeError("the profiled steps did not all run.")
    return capture.unprofiled * 1e3, analyze(logdir, n)


def profile_prediction(tf, model, data, args, logdir):
    """(unprofiled ms per batch, analysis) of one pass of `predict_rows`' loop over `data`."""
    from kbert.data import pad_multiple_for
    from kbert.predictors.batches import padded_batches

    def one_pass():
        batches = padded_batches(data, args.batch_size, pad_multiple_for(model))
        while True:
            with tf.profiler.experimental.Trace("kbert_input"):  # NumPy padding of the next batch
                item = next(batches, None)
            if item is None:
                return
            model.predict_on_batch(item[1])

    one_pass()  # warm-up: traces the predict function
    start = time.perf_counter()
    one_pass()
    unprofiled = (time.perf_counter() - start) / args.steps
    tf.profiler.experimental.start(logdir)
    with tf.profiler.experimental.Trace("kbert_window"):
        one_pass()
    tf.profiler.experimental.stop()
    return unprofiled * 1e3, analyze(logdir, args.steps)


def print_table(runs, batch_size):
    names = list(runs)
    print("| category | " + " | ".join(f"{n} ms | %" for n in names) + " |")
    print("|---|" + "---:|---:|" * len(names))
    for c in CATEGORIES:
        cells = []
        for n in names:
            ms, wall = runs[n][1][0], runs[n][1][1]
            cells.append(f"{ms[c]:.1f} | {100 * ms[c] / wall:.0f}")
        print(f"| {c} | " + " | ".join(cells) + " |")
    rows = [("wall, profiled (ms)", lambda r: f"{r[1][1]:.1f}"), ("wall, unprofiled (ms)", lambda r: f"{r[0]:.1f}"),
            ("examples/s (unprofiled)", lambda r: f"{1e3 * batch_size / r[0]:.1f}"),
            ("kernels per step", lambda r: f"{r[1][2]:.0f}"),
            ("kernel time summed (ms)", lambda r: f"{r[1][4]:.1f}"),
            ("overhead per kernel (µs)", lambda r: f"{1e3 * r[1][0]['overhead'] / max(r[1][2], 1):.0f}")]
    for label, cell in rows:
        print(f"| {label} | " + " | ".join(f"{cell(runs[n])} | " for n in names) + " |")
    for n in names:
        print(f"{n}: top 'other' op types: {runs[n][1][3]}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="minilm")
    p.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"])
    p.add_argument("--steps", type=int, default=10, help="steps (and prediction batches) profiled per run")
    p.add_argument("--warmup", type=int, default=5, help="training steps before the timed ones")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--maxlen", type=int, default=64)
    p.add_argument("--logdir", help="where the traces go (default: a temporary folder, removed)")
    args = p.parse_args(argv)

    import kbert
    import keras
    import pandas as pd
    import tensorflow as tf

    rows = args.batch_size * (args.warmup + 2 * args.steps + 2)
    train_df = pd.read_csv(os.path.join(EMOTION, "train.txt"), sep=";").sample(rows, random_state=0)
    val_df = pd.read_csv(os.path.join(EMOTION, "val.txt"), sep=";").head(args.batch_size * args.steps)
    trn, val, preproc = kbert.text.texts_from_df(train_df, "text", "label_name", val_df=val_df, maxlen=args.maxlen,
                                                 preset=args.preset, verbose=0)
    pred_data = preproc.transform(list(val_df["text"]), verbose=0)
    tmp = tempfile.TemporaryDirectory()
    root = args.logdir or tmp.name
    runs = {}
    for precision in args.precisions:
        model = kbert.text.text_classifier(preproc, precision=precision, seed=0)
        short = "fp32" if precision == "float32" else precision.replace("mixed_", "")
        runs[f"train {short}"] = profile_training(kbert, keras, tf, model, trn, val, args,
                                                  os.path.join(root, f"train_{precision}"))
        runs[f"predict {short}"] = profile_prediction(tf, model, pred_data, args,
                                                      os.path.join(root, f"predict_{precision}"))
        for name in (f"train {short}", f"predict {short}"):
            print(f"kbert: {name}: {runs[name][0]:.1f} ms per step unprofiled", flush=True)
    order = [n for n in runs if n.startswith("train")] + [n for n in runs if n.startswith("predict")]
    print(f"\n{args.preset}, batch {args.batch_size}, maxlen {args.maxlen}, {args.steps} steps/batches profiled "
          f"per run; ms per step (training) or per batch (prediction), share of the profiled wall time\n")
    print_table({n: runs[n] for n in order}, args.batch_size)
    tmp.cleanup()
    return runs


if __name__ == "__main__":
    main()
