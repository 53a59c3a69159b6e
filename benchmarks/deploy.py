"""Deployment figures on the emotion data set, in one table: a Keras predictor (kbert) against
its ONNX export (float) and the int8-quantized export, run by `kbert.onnx` (onnxruntime +
tokenizers + numpy, no TensorFlow) -- prediction examples/s on the validation set, accuracy,
largest probability difference to Keras, model file size, and the install size of each runtime.

    python benchmarks/deploy.py                           # fine-tunes minilm briefly (cheap settings)
    python benchmarks/deploy.py --predictor my-predictor  # or loads a saved kbert predictor
"""

import argparse
import importlib.metadata
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
EMOTION = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "datasets", "emotion")
KERAS_RUNTIME = ("tensorflow", "tensorflow-text", "keras", "keras-hub", "numpy")
ONNX_RUNTIME = ("onnxruntime", "tokenizers", "numpy")


def installed_mb(dist):
    """Megabytes of the files a distribution installed (its RECORD), None if not installed."""
    try:
        files = importlib.metadata.distribution(dist).files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    total = 0
    for f in files:
        path = f.locate()
        if os.path.isfile(path):
            total += os.path.getsize(path)
    return total / 1e6


def folder_mb(folder, names):
    return sum(os.path.getsize(os.path.join(folder, n)) for n in names if os.path.exists(os.path.join(folder, n))) / 1e6


def timed(runners, texts, repeats):
    """{name: (outputs, examples/s)}: the best of `repeats` full passes of each runner after a
    warm-up batch, the runners taking turns pass by pass so that they meet the same machine load."""
    best, outputs = {}, {}
    for name, fn in runners:
        fn(texts[:32])
    for _ in range(repeats):
        for name, fn in runners:
            start = time.perf_counter()
            outputs[name] = fn(texts)
            seconds = time.perf_counter() - start
            best[name] = min(seconds, best.get(name, seconds))
    return {name: (outputs[name], len(texts) / best[name]) for name, _ in runners}


def keras_predictor(args, train, val):
    import kbert

    if args.predictor:
        return kbert.load_predictor(args.predictor)
    sample = train.sample(n=min(args.train_rows, len(train)), random_state=0)
    trn, vl, pre = kbert.text.texts_from_df(sample, "text", "label_name", val_df=val, preset=args.preset,
                                            maxlen=args.maxlen, verbose=0)
    learner = kbert.get_learner(kbert.text.text_classifier(pre, seed=0), trn, vl, batch_size=32, seed=0)
    start = time.perf_counter()
    learner.fit_onecycle(args.lr, args.epochs, verbose=0)
    print(f"fine-tuned {args.preset} on {len(sample)} rows, {args.epochs} epoch(s) in {time.perf_counter() - start:.0f} s")
    return kbert.get_predictor(learner.model, pre, batch_size=32)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--predictor", help="a saved kbert predictor folder (else minilm is fine-tuned)")
    p.add_argument("--preset", default="minilm")
    p.add_argument("--train-rows", type=int, default=6000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--maxlen", type=int, default=64)
    p.add_argument("--val-rows", type=int, default=2000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", help="folder for the exports (default: a temporary folder)")
    args = p.parse_args()
    if not os.path.isdir(EMOTION):
        sys.exit(f"benchmark needs the emotion data set in {EMOTION}")
    import numpy as np
    import pandas as pd

    import kbert
    import kbert.onnx
    from kbert.onnx.export import export_onnx

    train = pd.read_csv(os.path.join(EMOTION, "train.txt"), sep=";")
    val = pd.read_csv(os.path.join(EMOTION, "val.txt"), sep=";").head(args.val_rows)
    texts, truth = val["text"].tolist(), val["label_name"].astype(str).to_numpy()
    predictor = keras_predictor(args, train, val)
    out = args.out or tempfile.mkdtemp(prefix="kbert-deploy-")
    folders = {}
    for name, quantize in (("float", False), ("int8", True)):
        start = time.perf_counter()
        # the whole validation set is also checked: its pieces must equal kbert's, text for text
        folders[name] = export_onnx(predictor, os.path.join(out, f"onnx-{name}"), quantize=quantize,
                                    check_texts=texts)
        print(f"exported ONNX {name} in {time.perf_counter() - start:.0f} s (tokenizer equal to kbert's on all "
              f"{len(texts)} validation texts)")
    saved = predictor.save(os.path.join(out, "keras"))
    runs = [("Keras predictor (kbert)", predictor, folder_mb(saved, ["model.weights.h5"]), KERAS_RUNTIME)]
    for name in ("float", "int8"):
        runs.append((f"ONNX {name} (kbert.onnx)", kbert.onnx.load_predictor(folders[name]),
                     folder_mb(folders[name], ["model.onnx"]), ONNX_RUNTIME))
    classes = np.asarray(predictor.get_classes())
    rows, reference = [], None
    results = timed([(name, runner.predict_proba) for name, runner, _, _ in runs], texts, args.repeats)
    for name, runner, model_mb, runtime in runs:
        probs, speed = results[name]
        if reference is None:
            reference = probs
        accuracy = float((classes[probs.argmax(-1)] == truth).mean())
        sizes = [installed_mb(d) for d in runtime]
        rows.append((name, speed, accuracy, float(np.abs(probs - reference).max()),
                     float((probs.argmax(-1) == reference.argmax(-1)).mean()), model_mb,
                     sum(s or 0 for s in sizes), " + ".join(runtime)))
    print(f"\nemotion validation: {len(texts)} texts, maxlen {predictor.preproc.maxlen}, batch 32, "
          f"{os.cpu_count()} CPU cores (load average {os.getloadavg()[0]:.1f}), best of {args.repeats} passes each, "
          "taking turns")
    head = f"{'runtime':<26}{'examples/s':>11}{'accuracy':>10}{'max |Δp|':>10}{'same label':>11}{'model MB':>10}{'install MB':>11}  packages"
    print(head)
    print("-" * len(head))
    for name, speed, acc, diff, agree, model_mb, install, packages in rows:
        print(f"{name:<26}{speed:>11.1f}{acc:>10.4f}{diff:>10.2e}{agree:>11.4f}{model_mb:>10.1f}{install:>11.0f}  {packages}")
    print("\ninstall sizes (MB, files each distribution installed):",
          ", ".join(f"{d} {installed_mb(d) or 0:.0f}" for d in dict.fromkeys(KERAS_RUNTIME + ONNX_RUNTIME)))


if __name__ == "__main__":
    main()
