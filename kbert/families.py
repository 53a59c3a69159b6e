"""The encoder families kbert builds on: what differs between BERT, DistilBERT, ALBERT,
RoBERTa, XLM-RoBERTa, ELECTRA and DeBERTa-v3, in one table.

Everything above this module asks a `Family` instead of testing classes: which keras-hub
backbone and tokenizer, whether the backbone reads segment ids and has a pretrained pooler,
how a pair of texts is packed, what its word pieces look like, and which pretraining
objective it was made with.

Example:
>>> family_by_name("roberta").pair_separators
2
>>> family_by_name("distilbert").segments
False
"""

import dataclasses

import keras_hub

from kbert.errors import EncoderNotAvailable

WORDPIECE, SENTENCEPIECE, BYTE_BPE = "wordpiece", "sentencepiece", "byte_bpe"


@dataclasses.dataclass(frozen=True)
class Family:
    """One encoder family.

    Args:
        name: kbert's name ("bert", "roberta", …), the "family" key of an encoder dict.
        backbone_cls, tokenizer_cls: keras-hub's classes.
        hf_model_types: Hugging Face config.json `model_type`s of this family.
        hf_prefix: the weight-name prefix of Hugging Face task checkpoints ("roberta.").
        segments: the backbone reads segment ids (token type ids).
        pooler: the backbone has a pretrained [CLS] pooler ("pooled_output"); heads of the
            others read the first token's hidden state.
        pair_separators: end tokens between the two texts of a pair (RoBERTa: `</s></s>`).
        pieces: WORDPIECE ("##" marks a word's inner pieces), SENTENCEPIECE ("▁" starts a
            word) or BYTE_BPE (byte-level pieces, "Ġ" is a space).
        objective: the pretraining heads: "mlm+nsp", "mlm+sop" or "mlm".
        vocabulary_key: the backbone's argument for its vocabulary size.
        unk_token: the out-of-vocabulary piece.
        position_offset: positions the Hugging Face checkpoint reserves (RoBERTa: 2).
    """

    name: str
    backbone_cls: type
    tokenizer_cls: type
    hf_model_types: tuple
    hf_prefix: str
    segments: bool
    pooler: bool
    pair_separators: int
    pieces: str
    objective: str
    unk_token: str
    vocabulary_key: str = "vocabulary_size"
    position_offset: int = 0

    @property
    def uses_segment_ids(self):
        return self.segments


def _m(name):
    return getattr(keras_hub.models, name)


# most specific first: XLMRobertaBackbone is a RobertaBackbone
FAMILIES = (
    Family("xlm_roberta", _m("XLMRobertaBackbone"), _m("XLMRobertaTokenizer"), ("xlm-roberta",), "roberta.",
           segments=False, pooler=False, pair_separators=2, pieces=SENTENCEPIECE, objective="mlm",
           unk_token="<unk>", position_offset=2),
    Family("roberta", _m("RobertaBackbone"), _m("RobertaTokenizer"), ("roberta",), "roberta.",
           segments=False, pooler=False, pair_separators=2, pieces=BYTE_BPE, objective="mlm",
           unk_token="<unk>", position_offset=2),
    Family("distilbert", _m("DistilBertBackbone"), _m("DistilBertTokenizer"), ("distilbert",), "distilbert.",
           segments=False, pooler=False, pair_separators=1, pieces=WORDPIECE, objective="mlm", unk_token="[UNK]"),
    Family("albert", _m("AlbertBackbone"), _m("AlbertTokenizer"), ("albert",), "albert.",
           segments=True, pooler=True, pair_separators=1, pieces=SENTENCEPIECE, objective="mlm+sop",
           unk_token="<unk>"),
    Family("electra", _m("ElectraBackbone"), _m("ElectraTokenizer"), ("electra",), "electra.",
           segments=True, pooler=False, pair_separators=1, pieces=WORDPIECE, objective="mlm", unk_token="[UNK]",
           vocabulary_key="vocab_size"),
    Family("deberta_v3", _m("DebertaV3Backbone"), _m("DebertaV3Tokenizer"), ("deberta-v2",), "deberta.",
           segments=False, pooler=False, pair_separators=1, pieces=SENTENCEPIECE, objective="mlm",
           unk_token="[UNK]"),
    Family("bert", _m("BertBackbone"), _m("BertTokenizer"), ("bert",), "bert.",
           segments=True, pooler=True, pair_separators=1, pieces=WORDPIECE, objective="mlm+nsp", unk_token="[UNK]"),
)
NAMES = tuple(f.name for f in FAMILIES)
# other spellings of the names a user may write in an encoder dict
_ALIASES = {"distil_bert": "distilbert", "xlmroberta": "xlm_roberta", "xlm-roberta": "xlm_roberta",
            "deberta": "deberta_v3", "debertav3": "deberta_v3", "deberta-v3": "deberta_v3", "deberta_v2": "deberta_v3"}


def family_by_name(name):
    """The Family called `name` (kbert's names, or common spellings such as "distil_bert")."""
    key = str(name).lower()
    key = _ALIASES.get(key, key)
    for family in FAMILIES:
        if family.name == key:
            return family
    raise ValueError(f"Unknown encoder family {name!r}; kbert supports: {', '.join(NAMES)}.")


def family_of_model_type(model_type, where="config.json"):
    """The Family of a Hugging Face `model_type`; an EncoderNotAvailable that names the type
    and the supported ones otherwise."""
    for family in FAMILIES:
        if model_type in family.hf_model_types:
            return family
    supported = sorted(t for f in FAMILIES for t in f.hf_model_types)
    raise EncoderNotAvailable(f"{where}: model_type {model_type!r} is not an encoder family kbert supports; "
                              f"supported model_types: {', '.join(supported)}.")


def family_of(obj):
    """The Family of a keras-hub backbone or tokenizer (instance or class)."""
    cls = obj if isinstance(obj, type) else type(obj)
    for family in FAMILIES:
        if issubclass(cls, (family.backbone_cls, family.tokenizer_cls)):
            return family
    raise ValueError(f"{cls.__name__} is not a backbone or tokenizer of a family kbert supports ({', '.join(NAMES)}).")


def special_ids(tokenizer):
    """{"start", "end", "pad", "mask", "unk"}: the ids of the tokenizer's special pieces
    (every keras-hub tokenizer names them start/end; BERT's [CLS]/[SEP], RoBERTa's <s>/</s>)."""
    family = family_of(tokenizer)
    unk = tokenizer.token_to_id(family.unk_token)
    return {"start": int(tokenizer.start_token_id), "end": int(tokenizer.end_token_id),
            "pad": int(tokenizer.pad_token_id), "mask": int(tokenizer.mask_token_id), "unk": int(unk)}
