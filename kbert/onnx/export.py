"""`predictor.export(folder, format="onnx", quantize=False)`: the encoder + head of a text
classifier as an ONNX graph (tf2onnx), with a Hugging Face `tokenizers` file whose pieces
equal kbert's, for `kbert.onnx.load_predictor` -- which runs without TensorFlow.

The folder:

    model.onnx          inputs token_ids, segment_ids (families that read them), padding_mask:
                        int32 [batch, pieces], both dimensions dynamic; output logits float32
                        [batch, classes]. int8 weights (onnxruntime's dynamic quantization)
                        with quantize=True.
    tokenizer.json      the word-piece tokenizer (Hugging Face `tokenizers`), no specials added
    kbert_export.json   format, task, mode, classes, family, maxlen, special ids, separators,
                        pairs, batch size, quantized

This module needs TensorFlow, tf2onnx and onnx (and onnxruntime for quantize=True):
pip install "kbert[onnx]".
"""

import json
import os

import tensorflow as tf

from kbert import io
from kbert.families import BYTE_BPE, SENTENCEPIECE, WORDPIECE, family_of, special_ids
from kbert.onnx.predictor import FORMAT_VERSION, META_FILE, MODEL_FILE
from kbert.onnx.tokenizer import TOKENIZER_FILE
from kbert.pieces import vocabulary_list
from kbert.version import __version__

TASKS = ("text_classification",)
OPSET = 17
# texts whose pieces must come out equal from keras-hub's tokenizer and the exported one
CHECK_TEXTS = [
    "I feel wonderful today!", "Hello, World. It's 3.50 dollars -- isn't it?", "Café naïve résumé ÉLAN",
    "tabs\tand\nnewlines  and   spaces", "emoji 🙂 and symbols #@$%^&*()[]{}<>~`|\\/", "中文字符 and 日本語",
    "a\u200db zero\u00a0width", "UPPER lower MiXeD 123abc", "", "supercalifragilisticexpialidocious",
]


# kbert's WordPiece cleaning (kbert.tokenizers.CONTROL_PATTERN) in Oniguruma's syntax
CONTROL_PATTERN = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\p{Cf}\x{FFFD}]"
# keras-hub splits words on ASCII whitespace only, and case-folds each word afterwards (NFKC
# turns a no-break space inside a word into a space, and the word into the unknown piece);
# Hugging Face normalizes before splitting, so these spaces are kept out of NFKC's reach
OTHER_SPACES = r"[\p{Zs}\x{2028}\x{2029}&&[^ ]]"
KEPT_SPACE = "\ue000"  # a private-use character: in no vocabulary, so the word stays unknown


def wordpiece_tokenizer(tokenizer):
    """A `tokenizers.Tokenizer` equal to a keras-hub WordPiece tokenizer with kbert's
    cleaning: control/format characters dropped, CJK characters split, accents stripped and
    case folded as the keras-hub config says, ASCII-whitespace and punctuation split,
    WordPiece with the same "##" and unknown piece."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

    vocab = {piece: i for i, piece in enumerate(vocabulary_list(tokenizer))}
    hf = Tokenizer(models.WordPiece(vocab, unk_token=tokenizer.oov_token,
                                    continuing_subword_prefix=tokenizer.suffix_indicator,
                                    max_input_chars_per_word=100))
    steps = [normalizers.Replace(Regex(CONTROL_PATTERN), ""),
             normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=bool(tokenizer.split_on_cjk),
                                        strip_accents=bool(tokenizer.strip_accents), lowercase=False),
             normalizers.Replace(Regex(OTHER_SPACES), KEPT_SPACE)]
    if tokenizer.lowercase:
        # keras-hub case-folds with tf_text.case_fold_utf8 (ICU NFKC_Casefold)
        steps += [normalizers.NFKC(), normalizers.Lowercase()]
    hf.normalizer = normalizers.Sequence(steps)
    hf.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return hf


def byte_bpe_tokenizer(tokenizer):
    """A `tokenizers.Tokenizer` equal to a keras-hub byte-level BPE tokenizer (RoBERTa): the
    same vocabulary and merges, GPT-2's split, and its unsplittable specials matched in text."""
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers

    merges = [tuple(m.split(" ")) for m in tokenizer.merges]
    hf = Tokenizer(models.BPE(dict(tokenizer.vocabulary), merges))
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=bool(getattr(tokenizer, "add_prefix_space", False)),
                                                use_regex=True)
    hf.add_special_tokens([AddedToken(t, special=True, normalized=False)
                           for t in getattr(tokenizer, "unsplittable_tokens", None) or []])
    return hf


def sentencepiece_tokenizer(tokenizer):
    """A `tokenizers.Tokenizer` equal to a keras-hub SentencePiece (unigram) tokenizer with the
    ids of the proto (ALBERT, DeBERTa-v3; XLM-RoBERTa shifts ids and is not covered): the
    model's own normalization table, "▁" word starts, Viterbi over the pieces' scores -- and
    ALBERT's quote replacement, accent stripping and lowercasing as kbert does them."""
    from sentencepiece import sentencepiece_model_pb2
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

    proto = tokenizer.proto
    if isinstance(proto, str):
        with open(proto, "rb") as f:
            proto = f.read()
    model = sentencepiece_model_pb2.ModelProto()
    model.ParseFromString(proto)
    if model.trainer_spec.model_type != 1:  # 1: unigram
        raise ValueError("ONNX export covers unigram SentencePiece models only.")
    unk = model.trainer_spec.unk_id
    hf = Tokenizer(models.Unigram([(p.piece, p.score) for p in model.pieces], unk, model.trainer_spec.byte_fallback))
    steps = []
    if hasattr(tokenizer, "strip_accents"):  # kbert's ALBERT tokenizers (kbert.tokenizers.LowercasingMixin)
        steps.append(normalizers.Replace(Regex("``|''"), '"'))
        if tokenizer.strip_accents:
            steps += [normalizers.NFKD(), normalizers.StripAccents()]
        if tokenizer.lowercase:
            steps.append(normalizers.Lowercase())
    if model.normalizer_spec.precompiled_charsmap:
        steps.append(normalizers.Precompiled(model.normalizer_spec.precompiled_charsmap))
    if model.normalizer_spec.remove_extra_whitespaces:
        steps += [normalizers.Strip(left=True, right=True), normalizers.Replace(Regex(" {2,}"), " ")]
    hf.normalizer = normalizers.Sequence(steps)
    scheme = "always" if model.normalizer_spec.add_dummy_prefix else "never"
    hf.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme=scheme)
    return hf


BUILDERS = {WORDPIECE: wordpiece_tokenizer, BYTE_BPE: byte_bpe_tokenizer, SENTENCEPIECE: sentencepiece_tokenizer}


def hf_tokenizer(tokenizer, check_texts=()):
    """The Hugging Face tokenizer equal to `tokenizer`, checked piece for piece on CHECK_TEXTS
    and `check_texts`; ValueError naming the first text whose pieces differ."""
    family = family_of(tokenizer)
    if family.pieces not in BUILDERS or family.name == "xlm_roberta":
        raise ValueError(f"ONNX export covers the WordPiece (bert, distilbert, electra), byte-level BPE (roberta) "
                         f"and SentencePiece (albert, deberta_v3) families; {family.name} is not covered yet "
                         f"(its ids are SentencePiece's shifted by fairseq's specials). "
                         f"Use predictor.export(folder, format='saved_model') for it.")
    hf = BUILDERS[family.pieces](tokenizer)
    texts = list(CHECK_TEXTS) + list(check_texts)
    ours = [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]
    theirs = tokenizer(tf.constant(texts))
    theirs = theirs.to_list() if isinstance(theirs, tf.RaggedTensor) else theirs  # keras-hub: lists when eager
    for text, got, want in zip(texts, ours, theirs):
        want = [int(i) for i in want]
        if got != want:
            raise ValueError(f"The exported tokenizer splits {text!r} into {got} but kbert's into {want}; "
                             "the ONNX export would not predict as the predictor does.")
    return hf


def model_inputs(model):
    """The model's input names, in its order."""
    names = list(model.input.keys()) if isinstance(model.input, dict) else [t.name for t in model.inputs]
    return [n.split(":")[0] for n in names]


def _erfc(ctx, node, name, args):
    """TensorFlow's Erfc (its exact GELU: RoBERTa's, DeBERTa's) has no ONNX op and tf2onnx no
    rule for it: Erfc(x) = 1 - Erf(x)."""
    import numpy as np
    from tf2onnx import utils

    dtype = utils.map_onnx_to_numpy_type(ctx.get_dtype(node.input[0]))
    erf = ctx.make_node("Erf", [node.input[0]])
    one = ctx.make_const(utils.make_name(name + "_one"), np.array(1, dtype=dtype))
    node.type = "Sub"
    ctx.replace_inputs(node, [one.output[0], erf.output[0]])


def convert(model, path, opset=OPSET):
    """Writes `model` (dict of int32 [batch, pieces] inputs → logits) to `path` as ONNX with
    tf2onnx, batch and length dynamic."""
    import tf2onnx

    names = model_inputs(model)
    signature = [tf.TensorSpec([None, None], tf.int32, name=n) for n in names]

    @tf.function(input_signature=signature)
    def logits(*inputs):
        return {"logits": tf.cast(model(dict(zip(names, inputs)), training=False), tf.float32)}

    tf2onnx.convert.from_function(logits, input_signature=signature, opset=opset, output_path=path,
                                  custom_op_handlers={"Erfc": (_erfc, [])})
    return path


def quantize_file(path):
    """Replaces the ONNX model at `path` by its int8 dynamic quantization (weights int8,
    activations quantized per batch at run time), after onnxruntime's pre-processing (shape
    inference and graph optimization: more MatMuls quantized, a smaller file)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared, tmp = path + ".pre", path + ".int8"
    # symbolic shape inference needs sympy; ONNX's own shape inference is enough here
    quant_pre_process(path, prepared, skip_symbolic_shape=True)
    # one scale per output channel: 97.8% of emotion labels equal the float model's, against
    # 95.5% with one scale per tensor (benchmarks/deploy.py, minilm)
    quantize_dynamic(prepared, tmp, weight_type=QuantType.QInt8, per_channel=True)
    os.remove(prepared)
    os.replace(tmp, path)


def export_onnx(predictor, folder, quantize=False, check_texts=()):
    """Writes a text classification predictor as ONNX for `kbert.onnx.load_predictor`.

    Args:
        predictor: a TextClassificationPredictor of the bert, distilbert, electra, roberta,
            albert or deberta_v3 family.
        folder: the folder to write (replaced if it exists, only once the new one is complete).
        quantize: int8 weights (onnxruntime dynamic quantization): ~4x smaller, faster on CPU.
        check_texts: more texts on which the exported tokenizer must equal kbert's.

    Returns:
        The folder's absolute path.

    Example:
    >>> # predictor.export("emotion-onnx", format="onnx", quantize=True)
    >>> # kbert.onnx.load_predictor("emotion-onnx").predict("I feel great")
    """
    if getattr(predictor, "task", None) not in TASKS:
        raise ValueError(f"ONNX export takes {', '.join(TASKS)} predictors, not {type(predictor).__name__}.")
    preproc = predictor.preproc
    tokenizer = preproc.tokenizer
    hf = hf_tokenizer(tokenizer, check_texts)
    special = special_ids(tokenizer)
    with io.atomic_folder(folder) as tmp:
        convert(predictor.model, os.path.join(tmp, MODEL_FILE))
        if quantize:
            quantize_file(os.path.join(tmp, MODEL_FILE))
        hf.save(os.path.join(tmp, TOKENIZER_FILE))
        io.write_json(os.path.join(tmp, META_FILE), {
            "format_version": FORMAT_VERSION,
            "format": "onnx",
            "kbert_version": __version__,
            "tensorflow_version": tf.__version__,
            "task": predictor.task,
            "mode": preproc.mode,
            "classes": [str(c) for c in preproc.get_classes()],
            "family": family_of(tokenizer).name,
            "maxlen": preproc.maxlen,
            "lowercase": bool(getattr(tokenizer, "lowercase", False)),
            "special": {k: special[k] for k in ("start", "end", "pad")},
            "separators": family_of(tokenizer).pair_separators,
            "pairs": preproc.text_pair_column is not None,
            "batch_size": predictor.batch_size,
            "quantized": bool(quantize),
            "needs": ["onnxruntime", "tokenizers", "numpy"],
        })
    return os.path.abspath(os.fspath(folder))


export = export_onnx  # the name kbert.predictors.base.EXPORTERS calls
