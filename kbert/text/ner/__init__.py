"""Named-entity recognition: CoNLL reading and IOB, word↔piece alignment and windows,
loaders, the preprocessor and the sequence tagger.

    trn, val, preproc = entities_from_conll("eng.train", val_filepath="eng.testa", preset="minilm")
    model = sequence_tagger(preproc)          # or ktrain's sequence_tagger("bilstm-transformer", preproc)

Document context (`entities_from_conll(..., document_context=True)`, `predictor.predict(sentences,
document=True)`) and word shapes for uncased encoders (`sequence_tagger(preproc, word_shapes=True)`).
"""

from kbert.metrics import IGNORE_INDEX, MaskedAccuracy
from kbert.text.ner.alignment import windows, word_pieces
from kbert.text.ner.conll import iob1_to_iob2, read_conll
from kbert.text.ner.loaders import (
    entities_from_array,
    entities_from_conll,
    entities_from_conll2003,
    entities_from_df,
    entities_from_txt,
)
from kbert.text.ner.model import print_sequence_taggers, sequence_tagger
from kbert.text.ner.preprocessor import NERData, NERPreprocessor
from kbert.text.ner.shapes import SHAPES, WordShapeEmbedding, word_shape

IGNORE = IGNORE_INDEX  # the name before kbert.metrics.IGNORE_INDEX

__all__ = [
    "IGNORE_INDEX", "MaskedAccuracy", "NERData", "NERPreprocessor", "entities_from_array", "entities_from_conll",
    "SHAPES", "WordShapeEmbedding", "entities_from_conll2003", "entities_from_df", "entities_from_txt",
    "iob1_to_iob2", "print_sequence_taggers", "read_conll", "sequence_tagger", "windows", "word_pieces",
    "word_shape",
]
