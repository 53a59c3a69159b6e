"""The pretraining model: an encoder + a masked-LM head tied to the token embedding (+ a
next-sentence head)."""

import keras
import keras_hub

from kbert.models import build_task_model, encoder_inputs
from kbert.pretraining.preprocessor import PretrainingPreprocessor

DEFAULT_SIZES = {"num_layers": 2, "hidden_dim": 128, "num_heads": 2, "intermediate_dim": 512}


def bert_pretrainer(preproc, encoder=None, precision="float32", strategy=None, seed=None, dropout=0.1):
    """A compiled keras.Model for masked-LM (+ NSP) pretraining.

    encoder: a dict of BertBackbone sizes for a fresh encoder on the preprocessor's
        vocabulary (num_layers, hidden_dim, num_heads, intermediate_dim, …), or a
        load_encoder spec ("minilm", a preset folder) to continue pretraining from that
        checkpoint; the data must then have been made with its vocabulary. Default: the
        preset the data was tokenized for, else a fresh 2-layer, 128-wide encoder.
    Inputs: token_ids, segment_ids, padding_mask, mask_positions. Outputs: {"mlm": logits
    [batch, predictions, vocabulary], "nsp": logits [batch, 2]} (no "nsp" when nsp=False).
    """
    if not isinstance(preproc, PretrainingPreprocessor):
        raise TypeError("bert_pretrainer needs the preprocessor returned by kbert.pretraining.pretraining_data.")
    if encoder is None:
        encoder = preproc.preset if preproc.preset is not None else dict(DEFAULT_SIZES)
    if isinstance(encoder, dict):
        encoder = {**DEFAULT_SIZES, "dropout": dropout, **encoder,
                   "vocabulary": preproc.tokenizer.get_vocabulary(), "lowercase": preproc.tokenizer.lowercase}
        encoder.setdefault("max_sequence_length", max(512, preproc.maxlen))
        check = None
    else:
        def check(backbone, tokenizer):
            if tokenizer.get_vocabulary() != preproc.tokenizer.get_vocabulary():
                raise ValueError(
                    f"The data was tokenized with another vocabulary than encoder {encoder!r}'s. Continued "
                    f"pretraining keeps the checkpoint's vocabulary: make the data with "
                    f"pretraining_data(corpus, vocabulary={encoder!r}, …).")

    model = build_task_model(preproc, model_fn=lambda backbone: BertPretrainer(backbone, nsp=preproc.nsp),
                             precision=precision, strategy=strategy, encoder=encoder, seed=seed, learning_rate=1e-4,
                             uses_pooler=preproc.nsp, check=check, check_vocabulary=False)
    # export_encoder needs the vocabulary; kept off Keras' attribute tracking
    object.__setattr__(model, "_kbert_tokenizer", preproc.tokenizer)
    return model


def pretraining_heads(backbone, inputs, nsp=True):
    """{"mlm": masked-LM logits at mask_positions, "nsp": next-sentence logits (with nsp)}."""
    out = backbone({k: inputs[k] for k in ("token_ids", "segment_ids", "padding_mask")})
    head = keras_hub.layers.MaskedLMHead(
        vocabulary_size=backbone.vocabulary_size, token_embedding=backbone.token_embedding,
        intermediate_activation="gelu", kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        dtype=backbone.dtype_policy, name="mlm_head",
    )
    # logits in float32 under mixed precision (a stable softmax over the vocabulary)
    outputs = {"mlm": keras.layers.Activation("linear", dtype="float32", name="mlm")(
        head(out["sequence_output"], mask_positions=inputs["mask_positions"]))}
    if nsp:
        # BERT's NSP classifier reads the pooled [CLS] output (dense + tanh)
        outputs["nsp"] = keras.layers.Dense(
            2, kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02), dtype="float32", name="nsp",
        )(out["pooled_output"])
    return outputs


@keras.saving.register_keras_serializable(package="kbert")
class BertPretrainer(keras.Model):
    """The pretraining model: an encoder + a masked-LM head tied to its token embedding (+ an
    NSP head). Its own class (as keras-hub's tasks), so that a JSON round trip keeps the
    head tied to the encoder's embedding instead of making a second one.

    Inputs: token_ids, segment_ids, padding_mask, mask_positions. Outputs: {"mlm": logits
    [batch, predictions, vocabulary], "nsp": logits [batch, 2]} (no "nsp" when nsp=False).

    Example:
    >>> # model = BertPretrainer(kbert.load_encoder({"vocabulary": vocab, "num_layers": 1})[0], nsp=False)
    """

    def __init__(self, backbone, nsp=True, name="kbert_bert_pretrainer", **kwargs):
        inputs = encoder_inputs(("mask_positions",))
        if not nsp:  # without NSP the [CLS] pooler is unused: frozen, so no step asks for its gradients
            backbone.get_layer("pooled_dense").trainable = False
        super().__init__(inputs=inputs, outputs=pretraining_heads(backbone, inputs, nsp), name=name, **kwargs)
        self.backbone = backbone
        self.nsp = bool(nsp)

    def get_config(self):
        return {"backbone": keras.layers.serialize(self.backbone), "nsp": self.nsp, "name": self.name,
                "trainable": self.trainable}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.layers.deserialize(config["backbone"])
        return cls(**config)


def build_pretrainer(backbone, nsp=True):
    """An uncompiled pretrainer on a loaded backbone (the same model as bert_pretrainer's)."""
    return BertPretrainer(backbone, nsp=nsp)
