"""The last encoder layer computed for the first token only, for heads that read nothing else.

A classifier's head reads the encoder's first position ([CLS]: BERT's pooler, or the first
token's state in the families without one). Every other position of the last transformer
layer is computed and thrown away: its attention for all queries, its feed-forward network
and layer norms for all tokens. `first_token_only(backbone)` makes that layer compute the
first position alone — attention of one query over all keys and values, the feed-forward
network of one token — which gives the same first-token state (the other positions never
reach it) for about a sixth of the layer's work. The backbone's "sequence_output" is then
[batch, 1, hidden].

It is an attribute of the layer object, not of the saved architecture: a model reloaded from
its file computes every position again (the same outputs, more slowly) until
`first_token_only` is applied to it once more; kbert's classification builders, its
classification predictor and `kbert.distill.student` of a classifier do so.

Layers it applies to: keras-hub's `TransformerEncoder` (BERT, RoBERTa, XLM-RoBERTa,
DistilBERT, ELECTRA). ALBERT (one layer object shared by every depth) and DeBERTa-v3 (its
own attention layer) keep the full computation.

Example:
>>> # first_token_only(find_backbone(model))   # True where it applies
"""

from kbert.backbones import find_backbone

MARK = "_kbert_first_token_only"


def _first_token_call(self, inputs, padding_mask=None, attention_mask=None, training=None,
                      return_attention_scores=False):
    """keras-hub's TransformerEncoder.call for position 0 only (its queries, residuals, layer
    norms and feed-forward network on [batch, 1, hidden]; keys and values on every position)."""
    from keras_hub.src.layers.modeling.transformer_layer_utils import merge_padding_and_attention_mask

    mask = merge_padding_and_attention_mask(inputs, padding_mask, attention_mask)
    if mask is not None:
        mask = mask[:, :1, :]  # [batch, 1 or seq, seq] → the first query's row
    values = self._self_attention_layer_norm(inputs) if self.normalize_first else inputs
    residual = inputs[:, :1, :]
    x = values[:, :1, :]
    attended = self._self_attention_layer(query=x, value=values, attention_mask=mask, training=training,
                                          return_attention_scores=return_attention_scores)
    if return_attention_scores:
        x, scores = attended
    else:
        x = attended
    x = self._self_attention_dropout(x, training=training)
    x = x + residual
    if not self.normalize_first:
        x = self._self_attention_layer_norm(x)
    residual = x
    if self.normalize_first:
        x = self._feedforward_layer_norm(x)
    x = self._feedforward_intermediate_dense(x)
    x = self._feedforward_output_dense(x)
    x = self._feedforward_dropout(x, training=training)
    x = x + residual
    if not self.normalize_first:
        x = self._feedforward_layer_norm(x)
    return (x, scores) if return_attention_scores else x


def last_layer(backbone):
    """The backbone's last transformer layer when it is a keras-hub TransformerEncoder run
    once (else None: ALBERT's shared layers, DeBERTa's attention, a model without layers)."""
    import keras_hub

    layers = getattr(backbone, "transformer_layers", None)
    if not layers or isinstance(backbone, keras_hub.models.AlbertBackbone):
        return None
    layer = layers[-1]
    if type(layer) is not keras_hub.layers.TransformerEncoder:  # subclasses may compute otherwise
        return None
    if sum(1 for other in layers if other is layer) != 1:
        return None
    return layer


def first_token_only(backbone):
    """Makes the backbone's last layer compute the first position only (see the module).

    Args:
        backbone: a keras-hub backbone (or None).

    Returns:
        True when the last layer now computes the first position only (also when it did
        already), False when the backbone's layers do not allow it (they are left as they are).

    Example:
    >>> # first_token_only(backbone); backbone(feed)["sequence_output"].shape → (batch, 1, hidden)
    """
    layer = None if backbone is None else last_layer(backbone)
    if layer is None:
        return False
    if not getattr(layer, MARK, False):
        layer.call = _first_token_call.__get__(layer)
        setattr(layer, MARK, True)
    return True


def is_first_token_only(backbone):
    """Whether `first_token_only` was applied to the backbone."""
    layer = None if backbone is None else last_layer(backbone)
    return bool(layer is not None and getattr(layer, MARK, False))


def same_as(source, target):
    """Applies `first_token_only` to the task model `target`'s backbone when the task model
    `source`'s has it (a copy of a model: its float32 twin, a distilled student). Returns
    `target`."""
    if is_first_token_only(find_backbone(source)):
        first_token_only(find_backbone(target))
    return target
