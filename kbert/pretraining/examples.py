"""Pretraining examples from tokenized documents: NSP sentence pairs (BERT), SOP segment
pairs (ALBERT) or full-sentence packing (RoBERTa and the other masked-LM-only families), and
their packing into ragged features in the family's pair format.
"""

import numpy as np
import tensorflow as tf

from kbert.errors import DataError


def nsp_examples(documents, rng, stats, maxlen, short_seq_prob=0.1, max_tokens=None):
    """Sentence pairs (A, B, random_next) for next-sentence prediction, as the BERT paper's
    create_instances_from_document (see the package docs). max_tokens: pieces of A + B
    (default maxlen - 3: [CLS] A [SEP] B [SEP])."""
    max_tokens = maxlen - 3 if max_tokens is None else max_tokens
    for d, doc in enumerate(documents):
        chunk, length, i = [], 0, 0
        target = target_length(rng, max_tokens, short_seq_prob)
        while i < len(doc):
            chunk.append(doc[i])
            length += len(doc[i])
            if i == len(doc) - 1 or length >= target:
                random_next = rng.random() < 0.5
                if len(chunk) >= 2:
                    a_end = rng.randint(1, len(chunk) - 1)
                else:
                    a_end = 1
                a = np.concatenate(chunk[:a_end])
                if random_next:
                    b = random_segment(documents, d, max(1, target - len(a)), rng)
                    i -= len(chunk) - a_end  # the unused sentences start the next chunk
                elif len(chunk) >= 2:
                    b = np.concatenate(chunk[a_end:])
                else:
                    # one long sentence: its two halves are a real "next" pair
                    if len(a) < 2:
                        chunk, length = [], 0
                        i += 1
                        continue
                    cut = rng.randint(1, len(a) - 1)
                    a, b = a[:cut], a[cut:]
                a, b = truncate_pair(a, b, max_tokens, rng, stats)
                yield a, b, int(random_next)
                chunk, length = [], 0
                target = target_length(rng, max_tokens, short_seq_prob)
            i += 1


def sop_examples(documents, rng, stats, max_tokens, short_seq_prob=0.1):
    """Segment pairs (A, B, swapped) for ALBERT's sentence-order prediction: a chunk of
    consecutive sentences of one document is cut at a random sentence boundary into A and B
    (a one-sentence chunk at a random piece), and half of the pairs are swapped (label 1:
    B's text comes before A's). Negatives are the same two segments in the wrong order,
    never text of another document, so one document is enough. A pair over max_tokens is
    trimmed at its outer ends (A's start, B's end), so that A and B stay adjacent text: the
    order is learnt from the seam between them."""
    for doc in documents:
        chunk, length = [], 0
        target = target_length(rng, max_tokens, short_seq_prob)
        for i, sentence in enumerate(doc):
            chunk.append(sentence)
            length += len(sentence)
            if i < len(doc) - 1 and length < target:
                continue
            if len(chunk) >= 2:
                a_end = rng.randint(1, len(chunk) - 1)
                a, b = np.concatenate(chunk[:a_end]), np.concatenate(chunk[a_end:])
            else:
                a = chunk[0]
                if len(a) < 2:  # a one-piece sentence alone has no order to learn
                    chunk, length = [], 0
                    stats["unpaired_sentences"] = stats.get("unpaired_sentences", 0) + 1
                    continue
                cut = rng.randint(1, len(a) - 1)
                a, b = a[:cut], a[cut:]
            a, b = truncate_outer(a, b, max_tokens, stats)
            swapped = rng.random() < 0.5
            yield (b, a, 1) if swapped else (a, b, 0)
            chunk, length = [], 0
            target = target_length(rng, max_tokens, short_seq_prob)

def target_length(rng, max_tokens, short_seq_prob):
    """A chunk's target length: max_tokens, or (short_seq_prob of the time) a shorter random one."""
    return rng.randint(2, max_tokens) if rng.random() < short_seq_prob else max_tokens

def random_segment(documents, d, target, rng):
    """About `target` pieces of consecutive sentences of a document other than d."""
    r = rng.randrange(len(documents) - 1)
    r += r >= d  # another document
    other = documents[r]
    start = rng.randrange(len(other))
    pieces, n = [], 0
    for sentence in other[start:]:
        pieces.append(sentence)
        n += len(sentence)
        if n >= target:
            break
    return np.concatenate(pieces)

def truncate_pair(a, b, max_tokens, rng, stats):
    """Trims the longer segment at a random end until the pair fits; counts trimmed pairs."""
    if len(a) + len(b) <= max_tokens:
        return a, b
    stats["truncated"] = stats.get("truncated", 0) + 1
    a, b = list(a), list(b)
    while len(a) + len(b) > max_tokens:
        longer = a if len(a) > len(b) else b
        if rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()
    return np.array(a, np.int32), np.array(b, np.int32)

def truncate_outer(a, b, max_tokens, stats):
    """Trims the longer segment at its outer end (A's start, B's end) until the pair fits;
    counts trimmed pairs."""
    over = len(a) + len(b) - max_tokens
    if over <= 0:
        return a, b
    stats["truncated"] = stats.get("truncated", 0) + 1
    # cut the longer first, down to the shorter's length, then both alternately
    cut_a = min(over, max(0, len(a) - len(b)))
    cut_b = min(over - cut_a, max(0, len(b) - len(a)))
    rest = over - cut_a - cut_b
    cut_a, cut_b = cut_a + rest // 2, cut_b + rest - rest // 2
    return a[cut_a:], b[:len(b) - cut_b]

def packed_examples(documents, stats, maxlen):
    """Whole consecutive sentences of one document packed up to maxlen - 2 pieces (RoBERTa's
    DOC-SENTENCES); examples (A, None, 0)."""
    max_tokens = maxlen - 2
    for doc in documents:
        current = []
        for sentence in doc:
            # a sentence longer than a whole example is cut into example-sized slices
            if len(sentence) > max_tokens:
                stats["split_sentences"] = stats.get("split_sentences", 0) + 1
                if current:
                    yield np.concatenate(current), None, 0
                    current = []
                for s in range(0, len(sentence), max_tokens):
                    piece = sentence[s:s + max_tokens]
                    if s + max_tokens < len(sentence):
                        yield piece, None, 0
                    else:
                        current = [piece]
                continue
            if current and sum(len(c) for c in current) + len(sentence) > max_tokens:
                yield np.concatenate(current), None, 0
                current = []
            current.append(sentence)
        if current:
            yield np.concatenate(current), None, 0


def pack(examples, start_id, end_id, separators=1):
    """(A, B, label) examples → ragged token_ids, segment_ids and pair labels, in the family's
    format: `start A end` alone, `start A end B end` for pairs (`start A end end B end` with
    separators=2, RoBERTa's and XLM-R's). Segment ids: 0 up to A's end token(s), 1 after
    (read only by families with segment embeddings)."""
    ids, segs, lengths, labels = [], [], [], []
    sep = [end_id] * separators
    for a, b, label in examples:
        if b is None:
            row = np.concatenate([[start_id], a, [end_id]]).astype(np.int32)
            seg = np.zeros(len(row), np.int32)
        else:
            row = np.concatenate([[start_id], a, sep, b, [end_id]]).astype(np.int32)
            seg = np.concatenate([np.zeros(len(a) + 1 + separators, np.int32), np.ones(len(b) + 1, np.int32)])
        ids.append(row)
        segs.append(seg)
        lengths.append(len(row))
        labels.append(label)
    if not ids:
        raise DataError("The corpus gave no pretraining examples.")
    lengths = np.array(lengths, np.int64)
    features = {
        "token_ids": tf.RaggedTensor.from_row_lengths(np.concatenate(ids), lengths),
        "segment_ids": tf.RaggedTensor.from_row_lengths(np.concatenate(segs), lengths),
    }
    return features, np.array(labels, np.int32)
