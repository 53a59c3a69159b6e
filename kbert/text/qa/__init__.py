"""Extractive question answering: SQuAD reading and the official metric, character offsets,
windows (encode) and n-best decoding, loaders, the span model.

    trn, val, preproc = qa_from_squad("train.json.gz", val_filepath="val.json.gz", maxlen=384, doc_stride=128)
    model = qa_model(preproc)
"""

from kbert.metrics import SpanAccuracy, span_loss
from kbert.text.qa.decode import MAX_ANSWER_PIECES, N_BEST, decode_answers
from kbert.text.qa.loaders import qa_from_df, qa_from_examples, qa_from_squad
from kbert.text.qa.model import SpanLogits, qa_model
from kbert.text.qa.offsets import context_pieces, split_with_offsets
from kbert.text.qa.preprocessor import QAData, QAPreprocessor
from kbert.text.qa.squad import exact_match, f1_score, normalize_answer, read_squad, squad_scores

__all__ = [
    "MAX_ANSWER_PIECES", "N_BEST", "QAData", "QAPreprocessor", "SpanAccuracy", "SpanLogits", "context_pieces",
    "decode_answers", "exact_match", "f1_score", "normalize_answer", "qa_from_df", "qa_from_examples",
    "qa_from_squad", "qa_model", "read_squad", "span_loss", "split_with_offsets", "squad_scores",
]
