"""The raw-text graph of a QA predictor's SavedModel (`predictor.export(folder)`): question
and context split into words and word pieces, each context piece's character span, the
context windows with `doc_stride`, the model, and the n-best span decoding over all windows,
in TensorFlow (and TensorFlow Text) ops only.

Every step is the predictor's own (`kbert.predictors.qa.QAPredictor.predict`, top_k=1):

- words: keras-hub's BERT pre-tokenization (whitespace, punctuation, CJK) with character
  offsets, as `kbert.text.qa.offsets.split_with_offsets`; each word tokenized on its own (a
  word without pieces is the unknown piece); the question cut to max_query_length pieces;
- piece spans: `kbert.text.qa.offsets.piece_spans`: each piece stands for as many characters
  as its text ("##" removed); where a word's pieces do not add up to it (lowercasing changed
  its length, an unknown piece) they share it evenly (`np.linspace(...).round()`);
- windows: `QAPreprocessor.encode`: `[start] question [end]*separators window [end]`, a
  window every min(room, doc_stride) context pieces until one reaches the end;
- answer: `kbert.text.qa.decode.decode_answers`: the 20 best starts × 20 best ends of each
  window's context pieces, end ≥ start, at most 30 pieces, at least one character; the best
  start + end logit over all windows (SQuAD v2: "" when the start piece's score beats it by
  more than null_threshold).

WordPiece families only (bert, distilbert, electra): SentencePiece and byte-level BPE spans
need kbert's byte and unknown-piece rules (`piece_spans`, `match_unknown`), not in the graph yet.
"""

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text
from keras_hub.src.tokenizers import word_piece_tokenizer as wp

from kbert.families import WORDPIECE, family_of, special_ids
from kbert.pieces import piece_bytes, style_of, vocabulary_list
from kbert.predictors.export_ner_graph import word_pieces
from kbert.text.qa.decode import MAX_ANSWER_PIECES, N_BEST

OUTPUTS = ["answer", "start", "end", "score"]


def check_supported(preproc):
    """A ValueError unless the QA preprocessor's tokenizer is a WordPiece one."""
    family = family_of(preproc.tokenizer)
    if style_of(preproc.tokenizer) != WORDPIECE:
        raise ValueError(f"A QA predictor exports as 'saved_model' only with a WordPiece encoder (bert, distilbert, "
                         f"electra); this one is {family.name!r} ({family.pieces} pieces, whose character spans "
                         "are not computed in the graph yet). format='tflite' exports its token-ids model, and "
                         "predictor.save(folder) keeps it for kbert.")


def split_words(text):
    """Raw texts [batch] → (words, char starts, char ends) ragged [batch, (words)], as
    kbert.text.qa.offsets.split_with_offsets (keras-hub's BERT pre-tokenization)."""
    words, byte_starts, _ = tf_text.regex_split_with_offsets(
        text, delim_regex_pattern=wp.WHITESPACE_PUNCTUATION_AND_CJK_REGEX,
        keep_delim_regex_pattern=wp.PUNCTUATION_AND_CJK_REGEX)
    owner = tf.gather(text, words.value_rowids())
    before = tf.strings.substr(owner, tf.zeros_like(byte_starts.flat_values), byte_starts.flat_values)
    starts = tf.cast(tf.strings.length(before, unit="UTF8_CHAR"), tf.int32)
    lengths = tf.cast(tf.strings.length(words.flat_values, unit="UTF8_CHAR"), tf.int32)
    return words, words.with_flat_values(starts), words.with_flat_values(starts + lengths)


def piece_char_spans(pieces, lengths, word_chars, unk):
    """Character spans of each word's pieces relative to the word (kbert.text.qa.offsets.piece_spans
    for WordPiece): pieces ragged [words, (pieces)], lengths a table id → characters."""
    n = tf.cast(pieces.row_lengths(), tf.int32)
    units = tf.gather(lengths, pieces.flat_values)
    known = tf.not_equal(pieces.flat_values, unk)
    units = pieces.with_flat_values(tf.where(known, units, -1))
    total = tf.reduce_sum(units, axis=1)
    all_known = tf.reduce_all(tf.greater_equal(units, 0), axis=1)
    exact = tf.logical_and(tf.logical_and(n > 1, all_known), tf.equal(total, word_chars))
    ends = tf.cumsum(units, axis=1)
    # np.linspace(0, len(word), n + 1).round(): k * (len / n), rounded half to even
    k = tf.cast(tf.ragged.range(n).flat_values, tf.float64)
    row = pieces.value_rowids()
    step = tf.cast(tf.gather(word_chars, row), tf.float64) / tf.cast(tf.gather(n, row), tf.float64)
    even_start = tf.cast(tf.round(k * step), tf.int32)
    even_end = tf.cast(tf.round((k + 1) * step), tf.int32)
    # np.linspace ends exactly at len(word)
    last = tf.equal(tf.cast(k, tf.int32) + 1, tf.gather(n, row))
    even_end = tf.where(last, tf.gather(word_chars, row), even_end)
    exact_p = tf.gather(exact, row)
    starts = tf.where(exact_p, ends.flat_values - units.flat_values, even_start)
    return pieces.with_flat_values(starts), pieces.with_flat_values(tf.where(exact_p, ends.flat_values, even_end))


def answer_spans(preproc, model, question, context):
    """The QA serving function: question, context [batch] → {"answer", "start", "end", "score"}."""
    tok = preproc.tokenizer
    specials = special_ids(tok)
    n_sep = family_of(tok).pair_separators
    table = tf.constant([len(piece_bytes(p, WORDPIECE).decode("utf-8", errors="replace"))
                         for p in vocabulary_list(tok)], tf.int32)

    qw, _, _ = split_words(question)
    q_pieces, _ = word_pieces(tok, qw.flat_values, 1)
    q = qw.with_flat_values(q_pieces).merge_dims(1, 2)[:, :preproc.max_query_length]

    cw, cw_start, cw_end = split_words(context)
    c_pieces, _ = word_pieces(tok, cw.flat_values, 1)
    rel_start, rel_end = piece_char_spans(c_pieces, table, cw_end.flat_values - cw_start.flat_values,
                                          specials["unk"])
    word_of_piece = c_pieces.value_rowids()
    c_ids = cw.with_flat_values(c_pieces).merge_dims(1, 2)  # [batch, (context pieces)]
    c_start = c_ids.with_flat_values(tf.gather(cw_start.flat_values, word_of_piece) + rel_start.flat_values)
    c_end = c_ids.with_flat_values(tf.gather(cw_start.flat_values, word_of_piece) + rel_end.flat_values)

    # windows: one every min(room, doc_stride) pieces until one reaches the end
    q_len = tf.cast(q.row_lengths(), tf.int32)
    c_len = tf.cast(c_ids.row_lengths(), tf.int32)
    room = preproc.maxlen - q_len - 2 - n_sep
    step = tf.minimum(room, preproc.doc_stride)
    n_windows = 1 + tf.maximum(0, (c_len - room + step - 1) // step)
    win_q = tf.cast(tf.ragged.range(n_windows).value_rowids(), tf.int32)  # question of each window
    w_start = tf.ragged.range(n_windows).flat_values * tf.gather(step, win_q)
    w_end = tf.minimum(tf.gather(c_len, win_q), w_start + tf.gather(room, win_q))
    rows = tf.shape(win_q)[0]
    c_base = tf.cast(tf.gather(c_ids.row_starts(), win_q), tf.int32)
    window_pieces = tf.ragged.range(c_base + w_start, c_base + w_end)  # flat context piece indices
    ids = tf.concat([tf.fill([rows, 1], specials["start"]), tf.gather(q, win_q),
                     tf.fill([rows, n_sep], specials["end"]), tf.gather(c_ids.flat_values, window_pieces),
                     tf.fill([rows, 1], specials["end"])], axis=1)
    offset = tf.gather(q_len, win_q) + 1 + n_sep
    lengths = tf.cast(ids.row_lengths(), tf.int32)
    token_ids = ids.to_tensor(specials["pad"])
    width = tf.shape(token_ids)[1]
    positions = tf.range(width)[None, :]
    inputs = {"token_ids": token_ids,
              "segment_ids": tf.cast(tf.logical_and(positions >= offset[:, None], positions < lengths[:, None]),
                                     tf.int32),
              "padding_mask": tf.sequence_mask(lengths, width, dtype=tf.int32)}
    logits = tf.cast(model(inputs, training=False), tf.float32)
    st, en = logits[..., 0], logits[..., 1]

    # the N_BEST starts and ends among each window's context pieces
    n_ctx = w_end - w_start
    in_context = tf.logical_and(positions >= offset[:, None], positions < (offset + n_ctx)[:, None])
    k = tf.minimum(N_BEST, width)
    s_val, s_idx = tf.math.top_k(tf.where(in_context, st, -np.inf), k)
    e_val, e_idx = tf.math.top_k(tf.where(in_context, en, -np.inf), k)
    # character spans of those pieces (context piece = window start + position - offset)
    flat_piece = (c_base + w_start - offset)[:, None]
    clip = tf.maximum(tf.size(c_ids.flat_values) - 1, 0)
    a = tf.gather(c_start.flat_values, tf.clip_by_value(flat_piece + s_idx, 0, clip))
    b = tf.gather(c_end.flat_values, tf.clip_by_value(flat_piece + e_idx, 0, clip))
    i, j = s_idx[:, :, None], e_idx[:, None, :]
    ok = (tf.math.is_finite(s_val)[:, :, None] & tf.math.is_finite(e_val)[:, None, :] & (j >= i)
          & (j - i + 1 <= MAX_ANSWER_PIECES) & (b[:, None, :] > a[:, :, None]))
    scores = tf.where(ok, s_val[:, :, None] + e_val[:, None, :], -np.inf)
    # windows in order, starts then ends best first: the first best is the predictor's
    per_question = tf.RaggedTensor.from_value_rowids(tf.reshape(scores, [rows, -1]), win_q,
                                                     nrows=tf.shape(question)[0]).merge_dims(1, 2)
    dense = per_question.to_tensor(-np.inf)
    best = tf.cast(tf.argmax(dense, axis=1), tf.int32)
    score = tf.reduce_max(dense, axis=1)
    found = tf.math.is_finite(score)
    flat_best = tf.cast(per_question.row_starts(), tf.int32) + best
    pairs = k * k
    # per_question's values are the windows' scores in window order: index // pairs is the window
    win_of_best = tf.clip_by_value(flat_best // pairs, 0, tf.maximum(rows - 1, 0))
    within = flat_best % pairs
    start = tf.gather_nd(a, tf.stack([win_of_best, within // k], axis=1))
    end = tf.gather_nd(b, tf.stack([win_of_best, within % k], axis=1))
    start, end = tf.where(found, start, -1), tf.where(found, end, -1)
    if preproc.version_2:
        null = tf.math.unsorted_segment_min(st[:, 0] + en[:, 0], win_q, tf.shape(question)[0])
        no_answer = tf.logical_or(tf.logical_not(found), null - score > preproc.null_threshold)
        score = tf.where(no_answer, null, score)
        start, end = tf.where(no_answer, -1, start), tf.where(no_answer, -1, end)
        found = tf.logical_not(no_answer)
    answer = tf.strings.substr(context, tf.maximum(start, 0), tf.where(found, end - start, 0), unit="UTF8_CHAR")
    return {"answer": answer, "start": start, "end": end, "score": score}


def serving_function(predictor):
    """(function, input signature) of the raw-text endpoint of a QA predictor."""
    preproc, model = predictor.preproc, predictor.model
    check_supported(preproc)

    def serve(question, context):
        return answer_spans(preproc, model, question, context)
    return serve, [tf.TensorSpec([None], tf.string, name="question"), tf.TensorSpec([None], tf.string, name="context")]
