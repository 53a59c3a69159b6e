"""The TensorFlow-free tokenizer of an ONNX export: Hugging Face `tokenizers` for the word
pieces, and numpy for packing them exactly as kbert's preprocessor does (keras-hub's
MultiSegmentPacker: start, pieces, the family's separators, end, round-robin truncation).

Imports only numpy and tokenizers.
"""

import numpy as np

TOKENIZER_FILE = "tokenizer.json"


def round_robin(lengths, budget):
    """How many pieces of each text to keep so that they fit `budget`: one piece per text in
    turn, as tf_text.RoundRobinTrimmer allocates them.

    Example:
    >>> round_robin([10, 10], 5), round_robin([2, 10], 6), round_robin([3], 2)
    ([3, 2], [2, 4], [2])
    """
    keep = [0] * len(lengths)
    budget = max(int(budget), 0)
    while budget > 0 and any(k < n for k, n in zip(keep, lengths)):
        for i, n in enumerate(lengths):
            if budget and keep[i] < n:
                keep[i] += 1
                budget -= 1
    return keep


class PiecePacker:
    """Texts → the model's int32 inputs, padded to the batch's longest row.

    Args:
        tokenizer: a `tokenizers.Tokenizer` that gives the word pieces only (no specials).
        maxlen: pieces per row, specials included.
        special: {"start", "end", "pad"} ids.
        separators: end pieces between the texts of a pair (RoBERTa: 2).
    """

    def __init__(self, tokenizer, maxlen, special, separators=1):
        self.tokenizer = tokenizer
        self.maxlen = int(maxlen)
        self.special = special
        self.separators = int(separators)

    def pieces(self, texts):
        return [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def pack(self, first, second=None):
        segments = [self.pieces(first)] + ([] if second is None else [self.pieces(second)])
        start, end, pad = self.special["start"], self.special["end"], self.special["pad"]
        rows, types = [], []
        for parts in zip(*segments):
            specials = 2 + (len(parts) - 1) * self.separators
            keep = round_robin([len(p) for p in parts], self.maxlen - specials)
            ids, seg = [start], [0]
            for i, (part, k) in enumerate(zip(parts, keep)):
                tail = [end] * (self.separators if i < len(parts) - 1 else 1)
                ids += list(part[:k]) + tail
                seg += [i] * (k + len(tail))
            rows.append(ids)
            types.append(seg)
        width = max([len(r) for r in rows] + [1])
        token_ids = np.full((len(rows), width), pad, dtype=np.int32)
        segment_ids = np.zeros((len(rows), width), dtype=np.int32)
        for r, (ids, seg) in enumerate(zip(rows, types)):
            token_ids[r, :len(ids)] = ids
            segment_ids[r, :len(seg)] = seg
        mask = (token_ids != pad).astype(np.int32)
        return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": mask}
