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


def add_common(parser, *, maxlen, batch_size, lr, epochs, out, preset="minilm"):
    """The flags every recipe has: encoder, sizes, schedule, precision, seed, output, strategy."""
    if preset is not None:  # (pretraining names its encoder with --from)
        parser.add_argument("--preset", default=preset, help='encoder of any family: "minilm", a keras-hub preset ("roberta_base_en"), a Hugging Face name '
                                 '("roberta-base", "distilbert-base-uncased"), a local folder')
    parser.add_argument("--maxlen", type=int, default=maxlen)
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--lr", type=float, default=lr, help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--precision", default="float32", choices=["float32", "mixed_bfloat16", "auto"])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", default=out, help="folder for the saved result")
    from kbert import distribute

    distribute.add_arguments(parser)
    return parser
