#!/usr/bin/env python
"""Pretrain an encoder on plain text with its family's own objective (BERT: masked LM +
next-sentence prediction; ALBERT: masked LM + sentence-order prediction; RoBERTa, XLM-R,
DistilBERT, ELECTRA, DeBERTa-v3: masked LM), or continue pretraining a checkpoint of any
family on your own domain's text, and export it as a keras-hub preset folder.

    python recipes/pretrain.py                                   # tiny BERT on ../shared/datasets/corpus (~27 min)
    python recipes/pretrain.py --from minilm --lr 5e-5 --epochs 1 # domain-adaptive continued pretraining
    python recipes/pretrain.py --from roberta_base_en --lr 5e-5   # RoBERTa: masked LM only
    python recipes/pretrain.py --family distilbert --whole-word   # a fresh DistilBERT on a new vocabulary
    python recipes/pretrain.py --corpus a.txt b.txt.gz --no-nsp --whole-word --steps 500 --out my-encoder
    python recipes/pretrain.py --corpus big/*.txt.gz --shards big-shards   # TFRecord shards: bounded memory
    python recipes/pretrain.py --batch-size 32 --accumulate 8 --optimizer lamb \
        --checkpoint-folder ckpt --checkpoint-every 500   # 256 rows an update; rerun to resume

Prints masked-LM (and NSP/SOP) loss/accuracy per epoch, training throughput (real tokens/s) and
the validation report, then saves the encoder: `kbert.text.texts_from_df(..., preset="my-encoder")`.
"""

import argparse
import math
import os
import time

from flags import add_common, add_training, check_training, fit_arguments, shared_datasets

SHARED = shared_datasets("corpus")
CHAPTERS = r"^(CHAPTER|Chapter) [0-9IVXLC]+\.?\s*$"
# A fresh encoder's recipe, as benchmarks/pretrain.py measured it on the shared corpus (README,
# "Does it pay off?"): masked LM alone on whole sentences (RoBERTa's finding that NSP does not
# help), 24 passes at a one-cycle peak of 2e-3 — the held-out masked-LM accuracy sits near 0.13
# for the first ~1,000 updates (the unigram plateau) and climbs only after it; 1e-3 over 6
# passes ended there. --from (continued pretraining of a checkpoint) keeps its own objective
# and adapts it gently.
DEFAULTS = dict(vocab_size=8000, layers=2, hidden=128, heads=2, maxlen=128, batch_size=64, lr=2e-3, epochs=24,
                objective="mlm", whole_word=False)
CONTINUED = dict(lr=5e-5, epochs=1)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", nargs="+", default=[os.path.join(SHARED, "train.txt.gz")])
    p.add_argument("--val-corpus", nargs="*", default=None,
                   help="validation text (default: valid.txt beside the default --corpus; else 5%% of examples)")
    p.add_argument("--doc-separator", default=CHAPTERS, help="regex for lines that start a new document")
    p.add_argument("--max-sentences", type=int, help="use only the first N sentences of the corpus")
    p.add_argument("--vocab-size", type=int, default=DEFAULTS["vocab_size"])
    p.add_argument("--vocab", help="an existing vocab.txt instead of training one")
    p.add_argument("--shards", help="a kbert.pretraining.write_shards folder: train from its TFRecord files "
                   "(written from --corpus first when it does not exist; a new vocabulary is saved beside it "
                   "as FOLDER-vocab.txt)")
    p.add_argument("--examples-per-shard", type=int, default=10_000)
    p.add_argument("--from", dest="from_preset",
                   help="continue pretraining this encoder of any family (minilm, roberta_base_en, a folder)")
    p.add_argument("--family", default=None, choices=["bert", "distilbert", "electra"],
                   help="the family of a fresh encoder on a new or --vocab WordPiece vocabulary (default bert)")
    p.add_argument("--layers", type=int, default=DEFAULTS["layers"])
    p.add_argument("--hidden", type=int, default=DEFAULTS["hidden"])
    p.add_argument("--heads", type=int, default=DEFAULTS["heads"])
    p.add_argument("--intermediate", type=int, help="feed-forward width (default 4 × hidden)")
    add_common(p, maxlen=DEFAULTS["maxlen"], batch_size=DEFAULTS["batch_size"], lr=None, epochs=None,
               out="my-encoder", preset=None, precision="float32")
    p.add_argument("--steps", type=int, help="train this many batches instead of whole epochs")
    p.add_argument("--nsp", action=argparse.BooleanOptionalAction, default=None,
                   help="next-sentence prediction (--no-nsp: full-sentence packing, masked LM only); "
                        "default: the family's own objective")
    p.add_argument("--objective", choices=["mlm+nsp", "mlm+sop", "mlm"],
                   help="the pretraining objective (default: a fresh BERT encoder mlm, as measured; --from and "
                        "--family: the family's own: bert mlm+nsp, albert mlm+sop, others mlm)")
    p.add_argument("--whole-word", action="store_true", help="mask all pieces of a word together")
    p.add_argument("--mask-rate", type=float, default=0.15)
    add_training(p)
    args = p.parse_args(argv)
    check_training(p, args)
    if args.family and args.from_preset:
        p.error("--family names the family of a fresh encoder; --from's encoder brings its own.")
    if args.val_corpus is None and args.corpus == [os.path.join(SHARED, "train.txt.gz")]:
        args.val_corpus = [os.path.join(SHARED, "valid.txt")]
    fresh = not args.from_preset
    if args.lr is None:  # a fresh encoder learns at the measured rate; a checkpoint is only adapted
        args.lr = DEFAULTS["lr"] if fresh else CONTINUED["lr"]
    if args.epochs is None:
        args.epochs = DEFAULTS["epochs"] if fresh else CONTINUED["epochs"]
    written = args.shards and os.path.exists(os.path.join(args.shards, "shards.json"))
    if fresh and not args.family and args.objective is None and args.nsp is None and not written:
        args.objective = DEFAULTS["objective"]  # (existing shards keep the objective they were written with)
    return args


def main(argv=None):
    args = parse_args(argv)
    import kbert
    strategy = kbert.distribute.from_arguments(args)  # before any data or model
    from kbert import pretraining as P
    from kbert.callbacks import Throughput

    start = time.time()
    corpus = P.corpus_from_files(args.corpus, doc_separator=args.doc_separator, max_sentences=args.max_sentences)
    val_corpus = None
    if args.val_corpus:
        val_corpus = P.corpus_from_files(args.val_corpus, doc_separator=args.doc_separator,
                                         max_sentences=None if args.max_sentences is None else max(
                                             200, args.max_sentences // 10))
    shards_vocab = args.shards and os.path.join(os.path.dirname(os.path.abspath(args.shards)),
                                                os.path.basename(os.path.normpath(args.shards)) + "-vocab.txt")
    if args.from_preset:
        vocabulary = args.from_preset
    elif args.vocab:
        vocabulary = args.vocab
    elif shards_vocab and os.path.exists(shards_vocab):
        vocabulary = shards_vocab  # the vocabulary the shards were written with
    else:
        t = time.time()
        vocabulary = P.build_vocabulary(corpus, vocabulary_size=args.vocab_size, lowercase=True,
                                        path=shards_vocab or None)
        print(f"kbert: WordPiece vocabulary of {len(vocabulary)} pieces built in {time.time() - t:.0f} s")
    if args.shards:
        if not os.path.exists(os.path.join(args.shards, "shards.json")):
            # write once, before a multi-worker job (every worker reads the same folder)
            P.write_shards(corpus, args.shards, vocabulary=vocabulary, maxlen=args.maxlen, nsp=args.nsp,
                           objective=args.objective, family=args.family,
                           examples_per_shard=args.examples_per_shard, seed=args.seed)
        trn, val, preproc = P.pretraining_data(shards=args.shards, vocabulary=vocabulary, maxlen=args.maxlen,
                                               nsp=args.nsp, objective=args.objective, mask_rate=args.mask_rate,
                                               whole_word=args.whole_word, val_corpus=val_corpus, seed=args.seed,
                                               family=args.family)
    else:
        trn, val, preproc = P.pretraining_data(corpus, vocabulary=vocabulary, maxlen=args.maxlen, nsp=args.nsp,
                                               objective=args.objective, mask_rate=args.mask_rate,
                                               whole_word=args.whole_word, val_corpus=val_corpus, seed=args.seed,
                                               family=args.family)
    print(f"kbert: {preproc.family.name} encoder, objective {preproc.objective}")
    epochs = args.epochs
    if args.steps:
        per_epoch = trn.steps(args.batch_size)
        if args.steps <= per_epoch and not isinstance(trn, P.ShardData):
            trn, epochs = trn.subset(range(args.steps * args.batch_size)[: len(trn)]), 1
        else:  # shards are read whole: --steps rounds up to whole epochs
            epochs = math.ceil(args.steps / per_epoch)
            print(f"kbert: --steps {args.steps}, {per_epoch} batches per epoch: training {epochs} epochs "
                  f"({epochs * per_epoch} batches)")
    encoder = args.from_preset or {"num_layers": args.layers, "hidden_dim": args.hidden, "num_heads": args.heads,
                                   "intermediate_dim": args.intermediate or 4 * args.hidden}
    model = P.bert_pretrainer(preproc, encoder=encoder, precision=args.precision, seed=args.seed,
                               strategy=strategy)
    learner = kbert.get_learner(model, trn, val, batch_size=args.batch_size, seed=args.seed,
                                optimizer=args.optimizer)
    pieces = trn.pieces if isinstance(trn, P.ShardData) else int(trn.lengths.sum())
    speed = Throughput(len(trn), pieces)
    learner.fit_onecycle(args.lr, epochs, callbacks=[speed], verbose=2, **fit_arguments(args))
    result = learner.validate()
    seconds, ex_s, tok_s = speed.epochs[-1]
    print(f"throughput (last epoch): {ex_s:.1f} examples/s, {tok_s:.0f} real tokens/s")
    folder = P.export_encoder(learner.model, kbert.distribute.worker_path(args.out))
    print(f"kbert: encoder saved to {folder} (use preset={args.out!r} in any kbert loader)")
    print(f"kbert: done in {time.time() - start:.0f} s")
    return result


if __name__ == "__main__":
    main()
