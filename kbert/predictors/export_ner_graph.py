"""The raw-text graph of an NER predictor's SavedModel (`predictor.export(folder)`): kbert's
word split, word pieces, first-piece alignment, the windows of long sentences and the
argmax to tag names, in TensorFlow (and TensorFlow Text) ops only, so that the SavedModel
tags raw sentences in a process without kbert.

Every step is the predictor's own (`kbert.predictors.ner.NERPredictor.predict`):

- words: `ner.WORD_RE` (a Python regex) as the RE2 pattern `WORD_PATTERN`, with character
  (not byte) offsets;
- pieces: each word tokenized on its own (`kbert.pieces.word_input`: byte-level BPE gets
  the space before it), a word without pieces is the unknown piece, a word longer than a
  window is cut to its first maxlen - 2 pieces;
- windows: `kbert.text.ner.alignment.windows` (greedy windows of at most maxlen - 2 pieces
  that share `stride` words; each word is tagged by the window that owns it), as a
  `tf.while_loop` over all sentences of the batch at once;
- word shapes (a tagger with `word_shapes=True`): `kbert.text.ner.shapes.shape_ids_tf`, the
  RE2 form of the predictor's `shape_ids`, on each word's first piece;
- tags: each word's first piece, argmax of the logits; probabilities are its softmax.

A tagger trained with document context is served sentence by sentence (each sentence in a
window of its own, as `predict(sentences)` without document=True).
"""

import tensorflow as tf
import tensorflow_text as tf_text

from kbert.families import BYTE_BPE, special_ids
from kbert.pieces import style_of
from kbert.text.ner.shapes import shape_ids_tf

# kbert.predictors.ner.WORD_RE = r"\w+(?:[-'’.]\w+)*|[^\w\s]" in RE2: Python's Unicode \w is
# the letters, numbers and "_" (RE2's \w is ASCII only), its \s also the Unicode spaces (Z*),
# \v and the separators \x1c-\x1f and \x85 (RE2's \s is [\t\n\f\r ]).
WORD_CHARS = r"\p{L}\p{N}_"
SPACE_CHARS = r"\s\p{Z}\x{0b}\x{1c}-\x{1f}\x{85}"
WORD_PATTERN = rf"[{WORD_CHARS}]+(?:[-'\x{{2019}}.][{WORD_CHARS}]+)*|[^{WORD_CHARS}{SPACE_CHARS}]"
OUTPUTS = ["words", "tags", "word_starts", "word_ends", "probabilities", "num_words"]


def split_words(text):
    """Raw sentences [batch] → (words, starts, ends), ragged [batch, (words)]: the words of
    `kbert.predictors.ner.split_words` with character offsets (end exclusive).

    Example:
    >>> # split_words(tf.constant(["Don't stop, U.S."]))[0]  → [[b"Don't", b"stop", b",", b"U.S", b"."]]
    """
    # every character is in a word or in a run of spaces: those are the delimiters, the words kept
    words, byte_starts, _ = tf_text.regex_split_with_offsets(
        text, delim_regex_pattern=f"{WORD_PATTERN}|[{SPACE_CHARS}]+", keep_delim_regex_pattern=WORD_PATTERN)
    # byte offsets → character offsets: the characters before the word's first byte
    owner = tf.gather(text, words.value_rowids())
    before = tf.strings.substr(owner, tf.zeros_like(byte_starts.flat_values), byte_starts.flat_values)
    starts = tf.cast(tf.strings.length(before, unit="UTF8_CHAR"), tf.int32)
    lengths = tf.strings.length(words.flat_values, unit="UTF8_CHAR")
    return (words, words.with_flat_values(starts),
            words.with_flat_values(starts + tf.cast(lengths, tf.int32)))


def word_pieces(tokenizer, words, budget):
    """Flat words [n] → ragged piece ids [n, (pieces)] as kbert.text.ner.alignment.word_pieces
    gives them (a word without pieces → the unknown piece), and the same cut to `budget`."""
    inputs = tf.strings.join([" ", words]) if style_of(tokenizer) == BYTE_BPE else words
    pieces = tokenizer(inputs)
    if not isinstance(pieces, tf.RaggedTensor):  # a tokenizer with a sequence_length pads: unpad
        # (kbert's NER preprocessors keep the tokenizer's default, ragged output)
        pieces = tf.RaggedTensor.from_tensor(pieces, padding=tokenizer.pad_token_id)
    pieces = tf.cast(pieces, tf.int32)
    # one unknown piece appended to each word without pieces
    empty = tf.cast(tf.equal(pieces.row_lengths(), 0), tf.int64)
    unk = tf.fill([tf.reduce_sum(empty)], special_ids(tokenizer)["unk"])
    pieces = tf.concat([pieces, tf.RaggedTensor.from_row_lengths(unk, empty)], axis=1)
    return pieces, pieces[:, :budget]


def windows(n_pieces, budget, stride):
    """kbert.text.ner.alignment.windows for a batch: n_pieces ragged [batch, (words)] →
    (sentence, start, end, own_start, own_end) int32 [windows] in sentence order."""
    counts = n_pieces.to_tensor(0)
    n = tf.cast(n_pieces.row_lengths(), tf.int32)
    batch, width = tf.shape(counts)[0], tf.shape(counts)[1]
    cum = tf.pad(tf.cumsum(counts, axis=1), [[0, 0], [1, 0]])  # cum[:, k]: pieces of the first k words
    # past the last word nothing fits
    cum = tf.where(tf.range(width + 1)[None, :] <= n[:, None], cum, tf.int32.max)

    def body(i, start, done, spans):
        base = tf.gather(cum, start, batch_dims=1)
        fits = tf.reduce_sum(tf.cast(tf.logical_and(cum <= (base + budget)[:, None],
                                                    tf.range(width + 1)[None, :] > start[:, None]), tf.int32), 1)
        end = tf.maximum(start + fits, start + 1)  # a single over-long word still gets a window
        spans = spans.write(i, tf.stack([start, end, tf.cast(tf.logical_not(done), tf.int32)], axis=1))
        done = tf.logical_or(done, end >= n)
        # a finished sentence stays where it is (its next spans are not valid)
        return i + 1, tf.where(done, start, tf.maximum(start + 1, end - stride)), done, spans

    # one pass at least (so that the stack below is never empty); a sentence without words is
    # done from the start and gets no window
    spans = tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=[None, 3])
    def more(i, start, done, spans):
        return tf.logical_or(tf.equal(i, 0), tf.logical_not(tf.reduce_all(done)))

    _, _, _, spans = tf.while_loop(more, body, (0, tf.zeros([batch], tf.int32), tf.equal(n, 0), spans))
    spans = tf.transpose(spans.stack(), [1, 0, 2])  # [batch, iterations, 3]
    start, end, valid = spans[..., 0], spans[..., 1], spans[..., 2] > 0
    prev_end = tf.pad(end[:, :-1], [[0, 0], [1, 0]])
    next_start = tf.pad(start[:, 1:], [[0, 0], [0, 1]])
    last = tf.logical_not(tf.pad(valid[:, 1:], [[0, 0], [0, 1]]))
    first = tf.equal(tf.range(tf.shape(start)[1]), 0)[None, :]
    own_start = tf.where(first, start, (prev_end + start + 1) // 2)
    own_end = tf.where(last, end, (end + next_start + 1) // 2)
    sentence = tf.broadcast_to(tf.range(batch)[:, None], tf.shape(start))
    return tuple(tf.boolean_mask(t, valid) for t in (sentence, start, end, own_start, own_end))


def tag_words(preproc, model, text):
    """The NER serving function: raw sentences [batch] → the dict of OUTPUTS (dense, padded:
    words and tags with "", offsets with -1, probabilities with 0; num_words [batch])."""
    specials = special_ids(preproc.tokenizer)
    budget, stride = preproc.maxlen - 2, preproc.stride
    words, starts, ends = split_words(text)
    full, cut = word_pieces(preproc.tokenizer, words.flat_values, budget)
    n_pieces = words.with_flat_values(tf.cast(full.row_lengths(), tf.int32))
    sentence, w_start, w_end, own_start, own_end = windows(n_pieces, budget, stride)

    # each window: start piece, the (cut) pieces of its words, end piece
    first_word = tf.gather(tf.cast(words.row_starts(), tf.int32), sentence)
    window_words = tf.ragged.range(first_word + w_start, first_word + w_end)
    pieces = tf.gather(cut, window_words).merge_dims(1, 2)
    rows = tf.shape(sentence)[0]
    ids = tf.concat([tf.fill([rows, 1], specials["start"]), pieces, tf.fill([rows, 1], specials["end"])], axis=1)
    lengths = tf.cast(ids.row_lengths(), tf.int32)
    token_ids = ids.to_tensor(specials["pad"])
    inputs = {"token_ids": token_ids, "segment_ids": tf.zeros_like(token_ids),
              "padding_mask": tf.sequence_mask(lengths, tf.shape(token_ids)[1], dtype=tf.int32)}
    if preproc.word_shapes:
        inputs["shape_ids"] = piece_shapes(words.flat_values, cut, window_words, rows)
    logits = tf.cast(model(inputs, training=False), tf.float32)

    # the first piece of each word a window owns: 1 + the pieces of the window's words before it
    word_lengths = tf.cast(tf.gather(cut.row_lengths(), window_words), tf.int32)
    flat = word_lengths.flat_values
    before = tf.cumsum(flat, exclusive=True)  # over all windows: minus the window's own start
    row_starts = tf.cast(word_lengths.row_starts(), tf.int32)
    window_base = tf.gather(tf.gather(before, row_starts), tf.cast(word_lengths.value_rowids(), tf.int32))
    first_piece = 1 + before - window_base
    owned = tf.ragged.range(row_starts + own_start - w_start, row_starts + own_end - w_start)
    positions = tf.gather(first_piece, owned.flat_values)
    window_of = tf.cast(owned.value_rowids(), tf.int32)
    word_logits = tf.gather_nd(logits, tf.stack([window_of, positions], axis=1))
    # windows are in sentence order and own consecutive words: the rows are the words in order
    word_logits = words.with_flat_values(word_logits)
    probs = tf.nn.softmax(word_logits.flat_values, axis=-1)
    tags = tf.gather(tf.constant([str(t) for t in preproc.tags]), tf.argmax(word_logits.flat_values, axis=-1))
    return {"words": words.to_tensor(""), "tags": words.with_flat_values(tags).to_tensor(""),
            "word_starts": starts.to_tensor(-1), "word_ends": ends.to_tensor(-1),
            "probabilities": words.with_flat_values(probs).to_tensor(0.0),
            "num_words": tf.cast(words.row_lengths(), tf.int32)}


def piece_shapes(flat_words, cut, window_words, rows):
    """shape_ids [windows, width]: each word's shape on its first (cut) piece, 0 elsewhere."""
    position = tf.ragged.range(cut.row_lengths()).flat_values
    word_shape = tf.gather(shape_ids_tf(flat_words), cut.value_rowids())
    per_piece = cut.with_flat_values(tf.where(tf.equal(position, 0), word_shape, tf.zeros_like(word_shape)))
    shapes = tf.gather(per_piece, window_words).merge_dims(1, 2)
    zeros = tf.zeros([rows, 1], tf.int32)
    shapes = tf.concat([zeros, shapes, zeros], axis=1)
    return shapes.to_tensor(0)  # the rows of token_ids: as wide


def serving_function(predictor):
    """(function, input signature) of the raw-sentence endpoint of an NER predictor."""
    preproc, model = predictor.preproc, predictor.model

    def serve(text):
        return tag_words(preproc, model, text)
    return serve, [tf.TensorSpec([None], tf.string, name="text")]
