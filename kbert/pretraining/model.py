"""The pretraining model: an encoder of any family + a masked-LM head tied to the token
embedding (+ the family's next-sentence or sentence-order head)."""

import keras
import keras_hub

from kbert.families import BYTE_BPE, SENTENCEPIECE, family_by_name, family_of
from kbert.models import build_task_model, encode, encoder_inputs, freeze_unused_pooler, vocabulary_rows
from kbert.pretraining.preprocessor import PretrainingPreprocessor

DEFAULT_SIZES = {"num_layers": 2, "hidden_dim": 128, "num_heads": 2, "intermediate_dim": 512}
PAIR_HEADS = {"mlm+nsp": "nsp", "mlm+sop": "sop", "mlm": None}


def tokenizer_files(tokenizer):
    """The encoder-dict keys that rebuild this tokenizer (load_encoder's "vocabulary",
    "merges", "proto", "lowercase", "strip_accents")."""
    style = family_of(tokenizer).pieces
    if style == SENTENCEPIECE:
        return {"proto": tokenizer.proto}
    if style == BYTE_BPE:
        return {"vocabulary": dict(tokenizer.vocabulary), "merges": list(tokenizer.merges)}
    return {"vocabulary": tokenizer.get_vocabulary(), "lowercase": bool(tokenizer.lowercase),
            "strip_accents": bool(getattr(tokenizer, "strip_accents", False))}


def fresh_encoder(preproc, encoder, dropout):
    """A fresh encoder dict on the preprocessor's tokenizer: the family defaults to the
    tokenizer's; naming another is an error (the data was packed for this tokenizer)."""
    family = family_of(preproc.tokenizer)
    named = encoder.get("family")
    if named is not None and family_by_name(named) != family:
        raise ValueError(f"encoder names family {named!r} but the data was tokenized with a {family.name} tokenizer. "
                         f"Make the data for that family: pretraining_data(…, family={named!r}) for a WordPiece "
                         "vocabulary, or vocabulary=<an encoder of that family>.")
    spec = {**DEFAULT_SIZES, "dropout": dropout, **encoder, "family": family.name,
            **tokenizer_files(preproc.tokenizer)}
    spec.setdefault("max_sequence_length", max(512, preproc.maxlen))
    return spec


def bert_pretrainer(preproc, encoder=None, precision="float32", strategy=None, seed=None, dropout=0.1):
    """A compiled keras.Model for masked-LM pretraining with the preprocessor's objective.

    Args:
        preproc: the PretrainingPreprocessor from `pretraining_data`.
        encoder: a dict of backbone sizes for a fresh encoder of the data's family on the
            preprocessor's tokenizer (num_layers, hidden_dim, num_heads, intermediate_dim,
            …; "family" may name it), or a load_encoder spec ("minilm", "roberta_base_en",
            a preset or Hugging Face folder) to continue pretraining that checkpoint; the data
            must then have been made with its tokenizer. Default: the preset the data was
            tokenized for, else a fresh 2-layer, 128-wide encoder.
        precision, strategy, seed: as every kbert model builder.
        dropout: of a fresh encoder.

    Returns:
        A compiled BertPretrainer. Inputs: token_ids, segment_ids, padding_mask,
        mask_positions. Outputs: {"mlm": logits [batch, predictions, vocabulary]} and, by
        the objective, "nsp" (BERT) or "sop" (ALBERT): logits [batch, 2].

    Example:
    >>> # trn, val, pre = pretraining_data(corpus, vocabulary="roberta_base_en")
    >>> # model = bert_pretrainer(pre)      # continued pretraining, masked LM only
    """
    if not isinstance(preproc, PretrainingPreprocessor):
        raise TypeError("bert_pretrainer needs the preprocessor returned by kbert.pretraining.pretraining_data.")
    if encoder is None:
        encoder = preproc.preset if preproc.preset is not None else dict(DEFAULT_SIZES)
    if isinstance(encoder, dict):
        encoder = fresh_encoder(preproc, encoder, dropout)
        check = None
    else:
        def check(backbone, tokenizer):
            if tokenizer.get_vocabulary() != preproc.tokenizer.get_vocabulary():
                raise ValueError(
                    f"The data was tokenized with another vocabulary than encoder {encoder!r}'s. Continued "
                    f"pretraining keeps the checkpoint's vocabulary: make the data with "
                    f"pretraining_data(corpus, vocabulary={encoder!r}, …).")

    model = build_task_model(preproc, model_fn=lambda backbone: BertPretrainer(backbone, objective=preproc.objective),
                             precision=precision, strategy=strategy, encoder=encoder, seed=seed, learning_rate=1e-4,
                             uses_pooler=preproc.pair_head is not None, check=check, check_vocabulary=False)
    # export_encoder needs the vocabulary; kept off Keras' attribute tracking
    object.__setattr__(model, "_kbert_tokenizer", preproc.tokenizer)
    return model


def pretraining_heads(backbone, inputs, objective="mlm+nsp"):
    """{"mlm": masked-LM logits at mask_positions, and "nsp"/"sop": the pair head's logits}.

    The MLM head is keras-hub's MaskedLMHead tied to the backbone's token embedding; its
    dense layer maps the hidden state to the embedding width first (ALBERT and ELECTRA embed
    in fewer dimensions than their hidden width), as keras-hub's *MaskedLM tasks do."""
    out = encode(backbone, inputs)
    head = keras_hub.layers.MaskedLMHead(
        vocabulary_size=vocabulary_rows(backbone), token_embedding=backbone.token_embedding,
        intermediate_activation="gelu", kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        dtype=backbone.dtype_policy, name="mlm_head",
    )
    # logits in float32 under mixed precision (a stable softmax over the vocabulary)
    outputs = {"mlm": keras.layers.Activation("linear", dtype="float32", name="mlm")(
        head(out["sequence_output"], mask_positions=inputs["mask_positions"]))}
    pair = PAIR_HEADS[objective]
    if pair:
        # BERT's NSP and ALBERT's SOP classifiers read the pooled first-token output
        outputs[pair] = keras.layers.Dense(
            2, kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02), dtype="float32", name=pair,
        )(out["pooled_output"])
    return outputs


@keras.saving.register_keras_serializable(package="kbert")
class BertPretrainer(keras.Model):
    """The pretraining model: an encoder of any family + a masked-LM head tied to its token
    embedding (+ an NSP or SOP head). Its own class (as keras-hub's tasks), so that a JSON
    round trip keeps the head tied to the encoder's embedding instead of making a second one.

    Args:
        backbone: a keras-hub backbone of a family kbert supports.
        nsp: True adds a next-sentence head, False none (older spelling of `objective`).
        objective: "mlm+nsp", "mlm+sop" or "mlm"; overrides nsp. Default: from nsp.

    Inputs: token_ids, segment_ids, padding_mask, mask_positions. Outputs: {"mlm": logits
    [batch, predictions, vocabulary]} and "nsp" or "sop": logits [batch, 2] by the objective.

    Example:
    >>> # model = BertPretrainer(kbert.load_encoder({"vocabulary": vocab, "num_layers": 1})[0], nsp=False)
    """

    def __init__(self, backbone, nsp=True, objective=None, name="kbert_bert_pretrainer", **kwargs):
        if objective is None:
            objective = "mlm+nsp" if nsp else "mlm"
        if objective not in PAIR_HEADS:
            raise ValueError(f"objective must be one of {', '.join(PAIR_HEADS)}, got {objective!r}.")
        inputs = encoder_inputs(("mask_positions",))
        if PAIR_HEADS[objective] is None:  # no head reads the pooler: frozen, so no step asks for its gradients
            freeze_unused_pooler(backbone)
        super().__init__(inputs=inputs, outputs=pretraining_heads(backbone, inputs, objective), name=name, **kwargs)
        self.backbone = backbone
        self.objective = objective
        self.nsp = objective == "mlm+nsp"

    def get_config(self):
        return {"backbone": keras.layers.serialize(self.backbone), "nsp": self.nsp, "objective": self.objective,
                "name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.layers.deserialize(config["backbone"])
        return cls(**config)


def build_pretrainer(backbone, nsp=True, objective=None):
    """An uncompiled pretrainer on a loaded backbone (the same model as bert_pretrainer's)."""
    return BertPretrainer(backbone, nsp=nsp, objective=objective)
