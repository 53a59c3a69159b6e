"""Every family's tiny encoder loads from an encoder dict with its own tokenizer, runs through
models.encode, and names its special pieces."""

import numpy as np
import pytest

import kbert
from conftest import FAMILIES, tiny_family_spec
from kbert.errors import EncoderNotAvailable
from kbert.families import family_by_name, family_of, family_of_model_type, special_ids
from kbert.models import encode, encoder_inputs


@pytest.mark.parametrize("name", FAMILIES)
def test_tiny_encoder_of_every_family(name):
    backbone, tokenizer = kbert.load_encoder(tiny_family_spec(name))
    family = family_of(backbone)
    assert family.name == name and family_of(tokenizer) is family
    ids = special_ids(tokenizer)
    assert len({ids["start"], ids["end"], ids["pad"], ids["mask"]}) == 4
    assert tokenizer.id_to_token(ids["unk"]) == family.unk_token
    pieces = np.asarray(tokenizer("the cat sat"))
    assert len(pieces) >= 3 and ids["unk"] not in pieces
    model = __import__("keras").Model(inputs := encoder_inputs(), encode(backbone, inputs))
    x = {"token_ids": np.array([[ids["start"], *pieces, ids["end"]]], "int32")}
    x["segment_ids"] = np.zeros_like(x["token_ids"])
    x["padding_mask"] = np.ones_like(x["token_ids"])
    out = model.predict(x, verbose=0)
    assert out["sequence_output"].shape == (1, len(pieces) + 2, 32)
    assert out["pooled_output"].shape == (1, 32)
    if not family.pooler:  # the first token's hidden state
        np.testing.assert_allclose(out["pooled_output"], out["sequence_output"][:, 0])


def test_family_names_and_model_types():
    assert family_by_name("distil_bert").name == "distilbert"
    assert family_of_model_type("deberta-v2").name == "deberta_v3"
    with pytest.raises(EncoderNotAvailable, match="'gpt2'.*supported model_types: albert, bert"):
        family_of_model_type("gpt2")
    with pytest.raises(ValueError, match="Unknown encoder family 'gpt'"):
        family_by_name("gpt")


def test_dict_key_typo_names_the_family_backbone():
    with pytest.raises(ValueError, match="'num_layer' is not a RobertaBackbone argument. Did you mean 'num_layers'"):
        kbert.load_encoder(tiny_family_spec("roberta", num_layer=1))
