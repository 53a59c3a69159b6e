"""Flags and paths shared by the recipes (run them as scripts: `python recipes/emotion.py`)."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # run from a checkout without installing


def shared_datasets(name):
    """The folder of a data set in ../shared/datasets beside the checkout."""
    return os.path.join(os.path.dirname(ROOT), "shared", "datasets", name)


def add_common(parser, *, maxlen, batch_size, lr, epochs, out, preset="minilm", precision="auto"):
    """The flags every recipe has: encoder, sizes, schedule, precision, seed, output, strategy."""
    if preset is not None:  # (pretraining names its encoder with --from)
        parser.add_argument("--preset", default=preset, help='encoder of any family: "minilm", a keras-hub preset ("roberta_base_en"), a Hugging Face name '
                                 '("roberta-base", "distilbert-base-uncased"), a local folder')
    parser.add_argument("--maxlen", type=int, default=maxlen)
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--lr", type=float, default=lr, help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--precision", default=precision, choices=["float32", "mixed_bfloat16", "auto"],
                        help="auto: bfloat16 where the hardware runs it fast (kbert.precision), else float32")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", default=out, help="folder for the saved result")
    from kbert import distribute

    distribute.add_arguments(parser)
    return parser


def add_training(parser):
    """Flags for long runs (pretraining): gradient accumulation, the optimizer, and backups
    that resume a killed run inside an epoch. `fit_arguments(args)` passes them on."""
    parser.add_argument("--accumulate", type=int, default=1,
                        help="batches per optimizer update (gradient accumulation): an update of "
                             "accumulate × batch-size rows in the memory of batch-size")
    parser.add_argument("--optimizer", default="adamw", choices=["adamw", "lamb"],
                        help="adamw (default) or lamb (layer-wise trust ratios, for large batches)")
    parser.add_argument("--checkpoint-folder", help="back up the run here after every epoch; run the same "
                                                    "command again to resume a killed run")
    parser.add_argument("--checkpoint-every", type=int,
                        help="also back up every N batches (needs --checkpoint-folder): a killed run resumes "
                             "at its last backup, inside the epoch")
    return parser


def check_training(parser, args):
    """Errors for the training flags, in argparse's form."""
    if args.accumulate < 1:
        parser.error(f"--accumulate must be at least 1, got {args.accumulate}")
    if args.checkpoint_every is not None:
        if args.checkpoint_every < 1:
            parser.error(f"--checkpoint-every must be at least 1, got {args.checkpoint_every}")
        if not args.checkpoint_folder:
            parser.error("--checkpoint-every needs --checkpoint-folder (where the backups go)")


def fit_arguments(args):
    """The fit methods' arguments from the training flags."""
    return {"accumulate": args.accumulate, "checkpoint_folder": args.checkpoint_folder,
            "checkpoint_every": args.checkpoint_every}
