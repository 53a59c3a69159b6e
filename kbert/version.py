"""kbert's version (bottom floor: saved folders record it)."""

__version__ = "0.1.0"
