#!/usr/bin/env python
"""Peak memory of pretraining from shards does not grow with the corpus: write_shards and one
training epoch from the shards, on the shared corpus and on a corpus 10× larger (the corpus
repeated with light word changes, written under --work, never into the repository).

    python benchmarks/shards_memory.py                       # the whole corpus and its 10× copy
    python benchmarks/shards_memory.py --max-sentences 5000  # a quick run on the beginning

Each measurement runs in a fresh Python process and reports its peak resident set size
(getrusage's ru_maxrss), that peak after the imports and the tokenizer alone, and the peak of
the work alone (/proc's VmHWM, reset after the imports: the import peak can hide the work's).
The target: the 10× corpus's peaks within 10 % of the 1×'s.
Chapters are the documents (doc_separator); the vocabulary a 4,000-piece WordPiece one built
from the corpus's beginning (BERT's MLM + NSP objective); the model a fresh 2-layer, 128-wide
encoder on it, trained one epoch at batch 64.
"""

import argparse
import gzip
import json
import os
import re
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CORPUS = os.path.join(os.path.dirname(ROOT), "shared", "datasets", "corpus", "train.txt.gz")
TINY_ENCODER = {"num_layers": 2, "hidden_dim": 128, "num_heads": 2, "intermediate_dim": 512}
CHAPTERS = r"^(Chapter \d+|CHAPTER [IVXLC]+)\s*$"
# light changes per copy, so that the copies are not byte-identical text
SWAPS = [("said", "replied"), ("he", "she"), ("little", "small"), ("looked", "glanced"), ("went", "walked")]


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def status_mb(field):
    """VmHWM (peak resident set since the last reset) or VmRSS (now) of this process, in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak():
    """Resets VmHWM (Linux ≥ 4.0), so that it measures the work after the imports alone."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def make_larger(src, dst, times):
    """The corpus `times` times, copy k with the k-th word swaps (streamed, line by line)."""
    if os.path.exists(dst):
        return dst
    tmp = dst + ".tmp"
    with gzip.open(tmp, "wt", encoding="utf-8") as out:
        for k in range(times):
            swaps = [(re.compile(rf"\b{a}\b"), b) for a, b in SWAPS[: k % (len(SWAPS) + 1)]]
            with gzip.open(src, "rt", encoding="utf-8") as f:
                for line in f:
                    for pattern, word in swaps:
                        line = pattern.sub(word, line)
                    out.write(line)
    os.replace(tmp, dst)
    return dst


def child(args):
    """One measurement, in this (fresh) process: prints a JSON line."""
    import kbert
    from kbert import pretraining as P

    start = time.perf_counter()
    corpus = P.corpus_from_files([args.corpus], doc_separator=CHAPTERS, max_sentences=args.max_sentences)
    P.data.make_preprocessor(args.vocabulary, args.maxlen)  # the floor: imports and the tokenizer
    floor = peak_mb()
    reset = reset_peak()
    result = {"what": args.child, "corpus": os.path.basename(args.corpus)}
    if args.child == "write":
        manifest = P.write_shards(corpus, args.folder, vocabulary=args.vocabulary, maxlen=args.maxlen,
                                  examples_per_shard=args.examples_per_shard, seed=0, verbose=0)
        result.update(examples=manifest["examples"], shards=len(manifest["shards"]),
                      documents=manifest["stats"]["documents"])
    else:
        trn, val, pre = P.pretraining_data(shards=args.folder, vocabulary=args.vocabulary, verbose=0)
        if args.train_files:  # the same folder, its first files only: as many steps as a smaller corpus
            trn = P.shards.open_shards(args.folder, pre, files=range(args.train_files))
        model = P.bert_pretrainer(pre, encoder=dict(TINY_ENCODER), seed=0)
        learner = kbert.get_learner(model, trn, val, batch_size=args.batch_size, seed=0)
        hist = learner.fit_onecycle(1e-3, args.epochs, verbose=0)
        result.update(examples=len(trn), steps=learner.steps_per_epoch(), loss=round(hist.history["loss"][0], 3))
    result.update(floor_mb=round(floor, 1), peak_mb=round(peak_mb(), 1), seconds=round(time.perf_counter() - start, 1),
                  work_peak_mb=round(status_mb("VmHWM"), 1) if reset else None, end_rss_mb=round(status_mb("VmRSS"), 1))
    print("RESULT " + json.dumps(result), flush=True)


def build_vocab(path, size):
    """A WordPiece vocabulary of the corpus's first 20,000 sentences (once), so that the model's
    softmax over the vocabulary stays small and a 10× epoch fits a CPU run."""
    if not os.path.exists(path):
        sys.path.insert(0, ROOT)
        from kbert import pretraining as P

        corpus = P.corpus_from_files([CORPUS], doc_separator=CHAPTERS, max_sentences=20_000)
        P.build_vocabulary(corpus, vocabulary_size=size, path=path)
    return path


def measure(args, what, corpus, folder):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", what, "--corpus", corpus, "--folder", folder,
           "--vocabulary", args.vocabulary, "--maxlen", str(args.maxlen), "--batch-size", str(args.batch_size),
           "--examples-per-shard", str(args.examples_per_shard)]
    if args.max_sentences:
        cmd += ["--max-sentences", str(args.max_sentences)]
    cmd += ["--epochs", str(args.epochs)] + (["--train-files", str(args.train_files)] if args.train_files else [])
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if out.returncode or not lines:
        sys.exit(f"{what} on {corpus} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    result = json.loads(lines[-1][len("RESULT "):])
    print(f"{what:5s} {result['corpus']:18s} {result['examples']:7d} examples  peak {result['peak_mb']:7.1f} MB "
          f"(after imports {result['floor_mb']:6.1f} MB; peak of the work alone {result['work_peak_mb']} MB)  "
          f"{result['seconds']:6.1f} s", flush=True)
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", default="/tmp/kbert_shards_memory", help="corpus copy and shards (not the repository)")
    p.add_argument("--times", type=int, default=10, help="how many times larger the second corpus is")
    p.add_argument("--vocabulary", default="build",
                   help='"build": a WordPiece vocabulary of --vocab-size pieces of the corpus; or a spec ("minilm")')
    p.add_argument("--vocab-size", type=int, default=4000)
    p.add_argument("--maxlen", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--examples-per-shard", type=int, default=4096)
    p.add_argument("--max-sentences", type=int, default=None, help="of each corpus (quick runs)")
    p.add_argument("--epochs", type=int, default=1, help="training epochs")
    p.add_argument("--train-files", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--corpus", default=CORPUS, help=argparse.SUPPRESS)
    p.add_argument("--folder", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return child(args)
    os.makedirs(args.work, exist_ok=True)
    if args.vocabulary == "build":
        args.vocabulary = build_vocab(os.path.join(args.work, "vocab.txt"), args.vocab_size)
    larger = make_larger(CORPUS, os.path.join(args.work, f"train_x{args.times}.txt.gz"), args.times)
    results = {}
    for name, corpus in (("1x", CORPUS), (f"{args.times}x", larger)):
        folder = os.path.join(args.work, f"shards_{name}")
        results[name] = {"write": measure(args, "write", corpus, folder),
                         "train": measure(args, "train", corpus, folder)}
    small, big = results["1x"], results[f"{args.times}x"]
    print()
    ok = True
    for what in ("write", "train"):
        for key in ("peak_mb", "work_peak_mb"):
            if small[what][key] is None:
                continue
            growth = big[what][key] / small[what][key] - 1
            ok &= growth <= 0.10
            print(f"{what} {key}: {small[what][key]:.1f} MB → {big[what][key]:.1f} MB for "
                  f"{big[what]['examples'] / small[what]['examples']:.1f}× the examples ({growth:+.1%})")
    print("PASS: peak memory does not grow with the corpus (≤ 10 %)" if ok else "FAIL: peak memory grew over 10 %")
    with open(os.path.join(args.work, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
