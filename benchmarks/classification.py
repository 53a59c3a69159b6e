#!/usr/bin/env python
"""Speed and quality of kbert's text classifier against peers on the emotion data set.

Peers, measured in the same run on the same rows, batch size and encoder (--preset, default
"minilm"; any family: "roberta-base", "distilbert-base-uncased", a keras-hub preset, a folder):
- keras-hub's own TextClassifier of the family (e.g. `BertTextClassifier`; its preprocessor pads
  every row to sequence_length = maxlen), when keras-hub can read the encoder;
- Hugging Face transformers on PyTorch with per-batch dynamic padding, when torch and
  transformers are installed (`pip install -e ".[bench]"`, or in another environment named by
  --hf-python) and can read the encoder; it runs in a process of its own (benchmarks/hf_peer.py).

    python benchmarks/classification.py                 # speed: 3,000 rows, 2 epochs, each side
    python benchmarks/classification.py --quality       # kbert on the full training set, 3 epochs
    python benchmarks/classification.py --preset roberta-base --sides kbert-float32,keras-hub

Prints training and prediction examples/s for each side and kbert's ratio to each peer,
real (non-padding) tokens/s, their share of the CPU's limit (the peak matmul rate measured in
the same run, per compute dtype, over the encoder's FLOPs per real token:
benchmarks/windows_speed.py), the padded share of each side's batches, and validation accuracy.
Training speed is the steady state: the first batches of each fit (graph tracing) are excluded.
Prediction takes the validation texts raw, tokenization included, on every side: kbert's is its
predictor's `predict_proba` (after one warm-up call), batch size --batch-size.
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
EMOTION = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "datasets", "emotion")
WARMUP_BATCHES = 5


class BatchTimer:
    """Times training batches after a warm-up (keras callback built lazily)."""

    def __new__(cls):
        import keras

        class _Timer(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.times = []

            def on_train_batch_end(self, batch, logs=None):
                self.times.append(time.perf_counter())

            def on_epoch_begin(self, epoch, logs=None):
                self.times.append(None)  # epoch boundary: validation time excluded

            def steady_seconds_and_batches(self):
                total, batches, seen = 0.0, 0, 0
                prev = None
                for t in self.times:
                    if t is None:
                        prev = None
                        continue
                    seen += 1
                    if prev is not None and seen > WARMUP_BATCHES:
                        total += t - prev
                        batches += 1
                    prev = t
                return total, batches

        return _Timer()


def load_frames(args):
    import pandas as pd

    train = pd.read_csv(os.path.join(EMOTION, "train.txt"), sep=";")
    val = pd.read_csv(os.path.join(EMOTION, "val.txt"), sep=";")
    if args.train_rows and args.train_rows < len(train):
        train = train.sample(args.train_rows, random_state=args.seed)
    if args.val_rows and args.val_rows < len(val):
        val = val.sample(args.val_rows, random_state=args.seed)
    return train, val


def run_kbert(train, val, args, precision):
    import keras

    import kbert

    precision, _, variant = precision.partition("-")
    trn, vd, pre = kbert.text.texts_from_df(train, "text", "label_name", val_df=val, maxlen=args.maxlen,
                                            preset=args.preset, verbose=0)
    model = kbert.text.text_classifier(pre, precision=precision, seed=args.seed)
    if variant == "full":  # the same model with its last layer computing every position (kbert.first_token)
        full = keras.models.model_from_json(model.to_json())
        full.set_weights(model.get_weights())
        model = full
    elif variant:
        sys.exit(f"unknown kbert variant {variant!r} (kbert-<precision>[-full])")
    learner = kbert.get_learner(model, trn, vd, batch_size=args.batch_size, seed=args.seed)
    timer = BatchTimer()
    start = time.perf_counter()
    learner.fit_onecycle(args.lr, args.epochs, callbacks=[timer], verbose=args.verbose)
    wall = time.perf_counter() - start
    secs, batches = timer.steady_seconds_and_batches()
    real = trn.lengths.sum()
    from kbert.data import pad_multiple_for

    share = trn.padded_share(args.batch_size, training=True, seed=args.seed, pad_multiple=pad_multiple_for(model))
    # prediction as a deployed predictor runs it: raw texts in, tokenization included (as the
    # peers' predict), after one warm-up call (the predict graph's one trace per process)
    import numpy as np

    predictor = kbert.get_predictor(learner.model, pre, batch_size=args.batch_size)
    texts = val["text"].tolist()
    predictor.predict_proba(texts[: args.batch_size])
    start = time.perf_counter()
    probs = predictor.predict_proba(texts)
    pred_secs = time.perf_counter() - start
    accuracy = float((np.asarray(pre.get_classes())[probs.argmax(-1)] == val["label_name"].to_numpy()).mean())
    from kbert.backbones import find_backbone
    from windows_speed import flops_per_token

    backbone = find_backbone(model)
    mean_len = float(real / len(trn))
    return {
        "compute": backbone.dtype_policy.compute_dtype,
        # FLOPs per real token of this encoder (the same for every side on this --preset)
        "train_flops": flops_per_token(backbone, mean_len, training=True),
        "predict_flops": flops_per_token(backbone, mean_len, training=False),
        "predict_tok_s": len(vd) / pred_secs * float(vd.lengths.mean()),
        "name": f"kbert ({precision}{', full last layer' if variant else ''})",
        "train_ex_s": batches * args.batch_size / secs,
        # real tokens per example, as trained: mean length over the training rows
        "train_tok_s": batches * args.batch_size / secs * real / len(trn),
        "padded_share": share,
        "predict_ex_s": len(vd) / pred_secs,
        "accuracy": accuracy,
        "wall_s": wall,
    }


def encoder_location(preset):
    """The folder or name the peers load: minilm's folder, else the preset as given."""
    from kbert.encoders import minilm_path

    return minilm_path() if preset.lower() == "minilm" else preset


def run_keras_hub(train, val, args, classes):
    import keras
    import keras_hub
    import numpy as np

    import kbert
    from kbert import hf

    location = encoder_location(args.preset)
    location = hf.preset_for_name(location) or location  # "roberta-base" → keras-hub's "roberta_base_en"
    keras.utils.set_random_seed(args.seed)
    try:
        tokenizer = keras_hub.models.Tokenizer.from_preset(location)
        preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(location, sequence_length=args.maxlen)
        clf = keras_hub.models.TextClassifier.from_preset(location, num_classes=len(classes),
                                                          preprocessor=preprocessor)
    except Exception as e:  # e.g. a Hugging Face folder, which only kbert converts
        print(f"keras-hub can not load {args.preset!r} as a TextClassifier ({type(e).__name__}: {e}): side skipped")
        return None
    index = {c: i for i, c in enumerate(classes)}
    y = train["label_name"].map(index).to_numpy()
    yv = val["label_name"].map(index).to_numpy()
    steps = int(np.ceil(len(train) / args.batch_size)) * args.epochs
    clf.compile(optimizer=keras.optimizers.AdamW(kbert.schedules.OneCycle(args.lr, steps), epsilon=1e-6,
                                                 clipnorm=1.0),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    timer = BatchTimer()
    start = time.perf_counter()
    clf.fit(x=train["text"].tolist(), y=y, batch_size=args.batch_size, epochs=args.epochs, callbacks=[timer],
            verbose=args.verbose)
    wall = time.perf_counter() - start
    secs, batches = timer.steady_seconds_and_batches()
    start = time.perf_counter()
    logits = clf.predict(val["text"].tolist(), batch_size=args.batch_size, verbose=0)
    pred_secs = time.perf_counter() - start
    pieces = np.array([min(len(tokenizer(t)) + 2, args.maxlen) for t in train["text"]])
    return {
        "name": f"keras-hub {type(clf).__name__}",
        "train_ex_s": batches * args.batch_size / secs,
        "train_tok_s": batches * args.batch_size / secs * pieces.mean(),
        "padded_share": 1 - pieces.mean() / args.maxlen,
        "predict_ex_s": len(val) / pred_secs,
        "accuracy": float((logits.argmax(-1) == yv).mean()),
        "wall_s": wall,
    }


def run_huggingface(train, val, args, classes):
    """The Hugging Face side in a process of its own (benchmarks/hf_peer.py under --hf-python):
    torch and TensorFlow are never loaded into one process."""
    import json
    import subprocess
    import tempfile

    index = {c: i for i, c in enumerate(classes)}
    job = {"folder": encoder_location(args.preset), "texts": train["text"].tolist(),
           "labels": train["label_name"].map(index).tolist(), "val_texts": val["text"].tolist(),
           "val_labels": val["label_name"].map(index).tolist(), "num_labels": len(classes), "lr": args.lr,
           "epochs": args.epochs, "batch_size": args.batch_size, "maxlen": args.maxlen, "seed": args.seed,
           "warmup_batches": WARMUP_BATCHES}
    with tempfile.TemporaryDirectory() as tmp:
        job_file, result_file = os.path.join(tmp, "job.json"), os.path.join(tmp, "result.json")
        with open(job_file, "w") as f:
            json.dump(job, f)
        done = subprocess.run([args.hf_python, os.path.join(HERE, "hf_peer.py"), job_file, result_file])
        if done.returncode != 0 or not os.path.exists(result_file):
            print(f"Hugging Face side: {args.hf_python} benchmarks/hf_peer.py exited with {done.returncode} "
                  f"and no result: side skipped")
            return None
        with open(result_file) as f:
            result = json.load(f)
    if "skipped" in result:
        print(f"Hugging Face side skipped: {result['skipped']}")
        return None
    print(f"Hugging Face side: torch {result['torch']}, transformers {result['transformers']}, "
          f"{result['threads']} threads")
    return result


def limit_shares(results, peaks):
    """Each side's real tokens/s as a share of what the CPU's peak matmul rate (`peaks`, GFLOP/s
    per compute dtype, measured in this run) allows at kbert's FLOPs per real token."""
    ref = next((r for r in results if "train_flops" in r), None)
    if ref is None:
        return
    for r in results:
        peak = peaks["bfloat16" if r.get("compute") == "bfloat16" else "float32"] * 1e9
        r["train_limit"] = r["train_tok_s"] / (peak / ref["train_flops"])
        pred_tok_s = r.get("predict_tok_s", r["predict_ex_s"] * ref["predict_tok_s"] / ref["predict_ex_s"])
        r["predict_limit"] = pred_tok_s / (peak / ref["predict_flops"])


def report(results, peaks=None):
    print()
    if peaks:
        limit_shares(results, peaks)
        print(f"limit: peak matmul measured in this run, float32 {peaks['float32']:.0f} GFLOP/s, bfloat16 "
              f"{peaks['bfloat16']:.0f} GFLOP/s; share = real tokens/s × FLOPs per real token / peak")
    print(f"{'side':40s} {'train ex/s':>10s} {'real tok/s':>10s} {'limit':>6s} {'padded':>7s} {'pred ex/s':>10s} "
          f"{'limit':>6s} {'val acc':>8s} {'wall s':>7s}")
    for r in results:
        print(f"{r['name']:40s} {r['train_ex_s']:10.1f} {r['train_tok_s']:10.0f} "
              f"{100 * r.get('train_limit', float('nan')):5.0f}% {100 * r['padded_share']:6.1f}% "
              f"{r['predict_ex_s']:10.1f} {100 * r.get('predict_limit', float('nan')):5.0f}% {r['accuracy']:8.4f} "
              f"{r['wall_s']:7.0f}")
    kbert_rows = [r for r in results if r["name"].startswith("kbert")]
    peers = [r for r in results if not r["name"].startswith("kbert")]
    print()
    for k in kbert_rows:
        for p in peers:
            print(f"{k['name']} vs {p['name']}: training {k['train_ex_s'] / p['train_ex_s']:.2f}x, "
                  f"prediction {k['predict_ex_s'] / p['predict_ex_s']:.2f}x, "
                  f"accuracy {100 * (k['accuracy'] - p['accuracy']):+.1f} points")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train-rows", type=int, default=3000)
    p.add_argument("--val-rows", type=int, default=2000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--maxlen", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--preset", default="minilm",
                   help='encoder of any family: "minilm", "roberta-base", a keras-hub preset or a folder')
    p.add_argument("--sides", default="kbert-float32,kbert-mixed_bfloat16,keras-hub,huggingface",
                   help="comma-separated: kbert-float32, kbert-mixed_bfloat16, kbert-auto, keras-hub, huggingface; "
                        "kbert-<precision>-full: the last encoder layer computes every position, not [CLS] "
                        "alone (kbert.first_token's saving)")
    p.add_argument("--quality", action="store_true",
                   help="kbert alone on the full training set for 3 epochs (the quality target)")
    p.add_argument("--hf-python", default=sys.executable,
                   help="the Python that runs the Hugging Face side (benchmarks/hf_peer.py, a process of its "
                        "own): one with torch and transformers, e.g. a separate virtual environment's")
    p.add_argument("--verbose", type=int, default=2)
    args = p.parse_args()
    if args.quality:
        args.train_rows, args.val_rows, args.epochs = 0, 0, 3
        if args.sides == p.get_default("sides"):
            args.sides = "kbert-float32"
    if not os.path.exists(os.path.join(EMOTION, "train.txt")):
        sys.exit(f"benchmark needs the emotion data set in {EMOTION}")
    train, val = load_frames(args)
    classes = sorted(train["label_name"].unique())
    print(f"emotion: {len(train)} training rows, {len(val)} validation rows, batch {args.batch_size}, "
          f"maxlen {args.maxlen}, {args.epochs} epochs, lr {args.lr}, encoder {args.preset}")
    results = []
    for side in args.sides.split(","):
        print(f"\n=== {side}")
        if side.startswith("kbert-"):
            results.append({**run_kbert(train, val, args, side.removeprefix("kbert-")), "side": side})
        elif side == "keras-hub":
            r = run_keras_hub(train, val, args, classes)
            if r is not None:
                results.append({**r, "side": side})
        elif side == "huggingface":
            r = run_huggingface(train, val, args, classes)
            if r is not None:
                results.append({**r, "side": side})
        else:
            sys.exit(f"unknown side {side!r}")
        r = results[-1] if results and side in results[-1]["side"] else None
        if r:
            print(f"{r['name']}: {r['train_ex_s']:.1f} train ex/s, val accuracy {r['accuracy']:.4f}")
    from windows_speed import peak_gflops

    report(results, {"float32": peak_gflops("float32"), "bfloat16": peak_gflops("bfloat16")})


if __name__ == "__main__":
    main()
