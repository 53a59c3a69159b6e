"""Pretraining of any encoder family with its own objective: corpora, WordPiece vocabularies
(`build_vocabulary`; other families bring their tokenizer files), pairs for next-sentence
prediction (BERT) or sentence-order prediction (ALBERT) or single segments (masked LM only:
RoBERTa, XLM-R, DistilBERT, DeBERTa-v3, ELECTRA), packing, dynamic masking, the pretrainer
model and the export of its encoder.

    corpus = corpus_from_files(["train.txt.gz"])
    vocab = build_vocabulary(corpus, vocabulary_size=8000)
    trn, val, preproc = pretraining_data(corpus, vocabulary=vocab, maxlen=128)
    model = bert_pretrainer(preproc, encoder={"num_layers": 2, "hidden_dim": 128, "num_heads": 2,
                                              "intermediate_dim": 512})
    kbert.get_learner(model, trn, val, batch_size=64).fit_onecycle(1e-3, 3)
    export_encoder(model, "my-encoder")       # then preset="my-encoder" in any loader

Corpora larger than memory: write_shards(corpus, "shards/", vocabulary=vocab, maxlen=128) streams
the examples to TFRecord files once; pretraining_data(shards="shards/", vocabulary=vocab) reads them
as training goes.
"""

from kbert.pretraining.corpus import Corpus, corpus_from_files, corpus_from_texts, split_sentences
from kbert.pretraining.data import PretrainingData
from kbert.pretraining.export import export_encoder, find_backbone
from kbert.pretraining.loaders import pretraining_data
from kbert.pretraining.masking import DynamicMasker
from kbert.pretraining.model import BertPretrainer, bert_pretrainer, build_pretrainer
from kbert.pretraining.preprocessor import PretrainingPreprocessor
from kbert.pretraining.shard_data import ShardData
from kbert.pretraining.shards import write_shards
from kbert.pretraining.vocab import RESERVED_TOKENS, build_vocabulary, load_vocabulary, save_vocabulary

__all__ = [
    "BertPretrainer", "Corpus", "DynamicMasker", "PretrainingData", "PretrainingPreprocessor", "RESERVED_TOKENS",
    "ShardData", "bert_pretrainer", "build_pretrainer", "build_vocabulary", "corpus_from_files", "corpus_from_texts",
    "export_encoder", "find_backbone", "load_vocabulary", "pretraining_data", "save_vocabulary", "split_sentences",
    "write_shards",
]
