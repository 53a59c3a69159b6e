#!/usr/bin/env python
"""Entity F1 of kbert's sequence tagger with document context and word shapes, CoNLL-2003
(the first --rows sentences of eng.train → eng.testa), minilm (an uncased encoder).

    python benchmarks/ner_quality.py                           # 6000 sentences, 2 epochs, 4 variants
    python benchmarks/ner_quality.py --rows 2000 --epochs 1    # a quick look
    python benchmarks/ner_quality.py --variants baseline,word_shapes

Variants: baseline (a window per sentence), document_context (each sentence's window filled
with its document's neighbouring sentences, `entities_from_conll(..., document_context=True)`),
word_shapes (`sequence_tagger(preproc, word_shapes=True)`), both. Each is trained from the
same seed with fit_onecycle at the recipe's rate; the F1 is seqeval's entity micro F1
(`learner.validate`) on eng.testa (its first --val-rows sentences), read as each variant
was trained (with its documents for document_context).
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
CONLL = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "datasets", "conll2003")
VARIANTS = {"baseline": (False, False), "document_context": (True, False), "word_shapes": (False, True),
            "both": (True, True)}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=6000, help="eng.train sentences to train on (from the top)")
    p.add_argument("--val-rows", type=int, default=None, help="eng.testa sentences to score (default: all)")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--lr", type=float, default=2e-4, help="peak rate (recipes/ner.py's)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--maxlen", type=int, default=128)
    p.add_argument("--preset", default="minilm")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shape-init", type=float, default=None,
                   help="stddev of the initial shape vectors (default: WordShapeEmbedding's)")
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--data", default=CONLL, help="folder with eng.train and eng.testa")
    args = p.parse_args()
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        p.error(f"unknown variants {unknown}; known: {list(VARIANTS)}")

    import numpy as np

    import kbert
    from kbert.text.ner import read_conll

    x, y, d = read_conll(os.path.join(args.data, "eng.train"), documents=True)
    x, y, d = x[:args.rows], y[:args.rows], d[:args.rows]
    xv, yv, dv = read_conll(os.path.join(args.data, "eng.testa"), documents=True)
    if args.val_rows:
        xv, yv, dv = xv[:args.val_rows], yv[:args.val_rows], dv[:args.val_rows]
    print(f"train: {len(x)} sentences in {len(set(d))} documents; eng.testa: {len(xv)} sentences in "
          f"{len(set(dv))} documents; {args.preset}, {args.epochs} epochs, lr {args.lr}, batch {args.batch_size}, "
          f"maxlen {args.maxlen}")
    results, data = [], {}
    for name in names:
        context, shapes = VARIANTS[name]
        if context not in data:  # the variants that read the data alike share it
            t = time.perf_counter()
            data[context] = kbert.text.entities_from_array(
                x, y, xv, yv, maxlen=args.maxlen, preset=args.preset, verbose=0, document_context=context,
                train_documents=d if context else None, test_documents=dv if context else None)
            print(f"data (document_context={context}): {time.perf_counter() - t:.0f} s, "
                  f"{data[context][0].lengths.mean():.1f} pieces per training window")
        trn, val, pre = data[context]
        model = kbert.text.sequence_tagger(pre, seed=args.seed, word_shapes=shapes)
        if shapes and args.shape_init is not None:
            layer = model.get_layer("word_shapes")
            layer.embeddings.assign(np.random.default_rng(args.seed).normal(
                0, args.shape_init, layer.embeddings.shape).astype("float32"))
        learner = kbert.get_learner(model, trn, val, batch_size=args.batch_size, seed=args.seed)
        start = time.perf_counter()
        learner.fit_onecycle(args.lr, args.epochs, verbose=0)
        trained = time.perf_counter() - start
        f1 = learner.validate(print_report=False)
        wall = time.perf_counter() - start
        results.append((name, f1, trained, wall))
        print(f"{name:18s} entity F1 {f1:.4f}   training {trained:6.0f} s   with validation {wall:6.0f} s",
              flush=True)
    print("\nvariant            eng.testa F1   train s   total s")
    for name, f1, trained, wall in results:
        print(f"{name:18s} {f1:12.4f} {trained:9.0f} {wall:9.0f}")


if __name__ == "__main__":
    main()
