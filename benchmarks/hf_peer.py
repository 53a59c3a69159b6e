#!/usr/bin/env python
"""The Hugging Face peer of benchmarks/classification.py, run in a process of its own.

Hugging Face transformers on PyTorch, per-batch dynamic padding, AdamW with a linear decay (the
library's own recipe), timed as classification.py times kbert: steady state after the first
batches, prediction over the validation texts in batches. It imports neither TensorFlow nor
kbert, so it runs under any Python that has torch and transformers (`--hf-python` of
classification.py), and torch and TensorFlow never share a process (PyPI's CUDA build of torch
ended such a process without a Python error on CPU-only machines).

    python benchmarks/hf_peer.py JOB.json RESULT.json

JOB.json: {"folder", "texts", "labels", "val_texts", "val_labels", "num_labels", "lr",
"epochs", "batch_size", "maxlen", "seed", "warmup_batches"}; labels are class indices.
RESULT.json gets the figures (name, train_ex_s, train_tok_s, padded_share, predict_ex_s,
accuracy, wall_s), or {"skipped": why} when torch/transformers are missing or cannot read
the encoder.
"""

import json
import sys
import time


def run(job):
    try:
        import numpy as np
        import torch
        import transformers
        from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup
    except ImportError as e:
        return {"skipped": f"torch/transformers not installed in {sys.executable} ({e}); "
                           f"pip install -e '.[bench]' or pass --hf-python"}
    torch.manual_seed(job["seed"])
    try:
        tok = AutoTokenizer.from_pretrained(job["folder"])
        model = AutoModelForSequenceClassification.from_pretrained(job["folder"], num_labels=job["num_labels"])
    except Exception as e:  # e.g. a keras-hub preset name, which transformers does not know
        return {"skipped": f"transformers can not load {job['folder']!r} ({type(e).__name__}: {e})"}
    texts, y = job["texts"], np.asarray(job["labels"])
    bs, warm = job["batch_size"], job["warmup_batches"]
    opt = torch.optim.AdamW(model.parameters(), lr=job["lr"], weight_decay=0.01)
    n_steps = int(np.ceil(len(texts) / bs)) * job["epochs"]
    sched = get_linear_schedule_with_warmup(opt, 0, n_steps)
    rng = np.random.default_rng(job["seed"])
    times, real = [], 0
    start = time.perf_counter()
    model.train()
    for _ in range(job["epochs"]):
        order = rng.permutation(len(texts))
        for i in range(0, len(order), bs):
            idx = order[i:i + bs]
            batch = tok([texts[j] for j in idx], padding=True, truncation=True, max_length=job["maxlen"],
                        return_tensors="pt")
            out = model(**batch, labels=torch.tensor(y[idx]))
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step(); sched.step(); opt.zero_grad()
            real += int(batch["attention_mask"].sum())
            times.append((time.perf_counter(), len(idx), int(batch["attention_mask"].numel())))
    wall = time.perf_counter() - start
    steady = times[warm:]
    secs = steady[-1][0] - times[warm - 1][0]
    examples = sum(n for _, n, _ in steady)
    padded = sum(p for _, _, p in times)
    model.eval()
    vt = job["val_texts"]
    start = time.perf_counter()
    preds = []
    with torch.no_grad():
        for i in range(0, len(vt), bs):
            batch = tok(vt[i:i + bs], padding=True, truncation=True, max_length=job["maxlen"], return_tensors="pt")
            preds.append(model(**batch).logits.argmax(-1).numpy())
    pred_secs = time.perf_counter() - start
    return {
        "name": "Hugging Face transformers (PyTorch)",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "train_ex_s": examples / secs,
        "train_tok_s": examples / secs * real / (len(texts) * job["epochs"]),
        "padded_share": 1 - real / padded,
        "predict_ex_s": len(vt) / pred_secs,
        "accuracy": float((np.concatenate(preds) == np.asarray(job["val_labels"])).mean()),
        "wall_s": wall,
        "threads": torch.get_num_threads(),
    }


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        job = json.load(f)
    result = run(job)
    with open(sys.argv[2], "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
