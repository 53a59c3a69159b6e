"""Tokenizers that prepare the text as the checkpoints' own Hugging Face tokenizers do.

WordPiece tokenizers that clean the text as Hugging Face's BERT tokenizers do: control
and format characters (Unicode Cc/Cf other than tab, newline and carriage return, e.g. a
zero-width joiner U+200D or \\x00) and U+FFFD are dropped before splitting, so "a\\u200db"
is the word "ab" (keras-hub's tokenizers split it into "a", "b").

Example:
>>> # CleanBertTokenizer(vocabulary="vocab.txt", lowercase=True)("a\\u200db")  # the ids of "ab"
"""

import keras
import keras_hub
import tensorflow as tf
import tensorflow_text as tf_text

# Hugging Face BasicTokenizer._clean_text: \x00, U+FFFD and Cc/Cf except \t \n \r
CONTROL_PATTERN = r"[\x{0}-\x{8}\x{B}\x{C}\x{E}-\x{1F}\x{7F}-\x{9F}\p{Cf}\x{FFFD}]"


def drop_control_characters(inputs):
    """The strings (a tf string tensor, a str or a list of str) without control/format characters."""
    return tf.strings.regex_replace(tf.convert_to_tensor(inputs, dtype=tf.string), CONTROL_PATTERN, "")


class CleaningMixin:
    def tokenize(self, inputs):
        return super().tokenize(drop_control_characters(inputs))


@keras.saving.register_keras_serializable(package="kbert")
class CleanBertTokenizer(CleaningMixin, keras_hub.models.BertTokenizer):
    """keras-hub's BertTokenizer + Hugging Face's text cleaning (see the module)."""


@keras.saving.register_keras_serializable(package="kbert")
class CleanDistilBertTokenizer(CleaningMixin, keras_hub.models.DistilBertTokenizer):
    """keras-hub's DistilBertTokenizer + Hugging Face's text cleaning (see the module)."""


@keras.saving.register_keras_serializable(package="kbert")
class CleanElectraTokenizer(CleaningMixin, keras_hub.models.ElectraTokenizer):
    """keras-hub's ElectraTokenizer + Hugging Face's text cleaning (see the module)."""


CLEAN = {keras_hub.models.BertTokenizer: CleanBertTokenizer, keras_hub.models.DistilBertTokenizer:
         CleanDistilBertTokenizer, keras_hub.models.ElectraTokenizer: CleanElectraTokenizer}


def clean_class(tokenizer_cls):
    """The cleaning subclass of a WordPiece family's keras-hub tokenizer class."""
    return CLEAN.get(tokenizer_cls, tokenizer_cls)


class LowercasingMixin:
    """Hugging Face's AlbertTokenizer lowercases (do_lower_case) and strips accents
    (keep_accents=False) before SentencePiece; keras-hub's does neither, so "Hello" would be
    read as "▁" + <unk> + "ello" by an uncased ALBERT vocabulary."""

    def __init__(self, *args, lowercase=False, strip_accents=False, **kwargs):
        self.lowercase = bool(lowercase)
        self.strip_accents = bool(strip_accents)
        super().__init__(*args, **kwargs)

    def tokenize(self, inputs):
        text = tf.convert_to_tensor(inputs, dtype=tf.string)
        text = tf.strings.regex_replace(text, "``|''", '"')  # as AlbertTokenizer.preprocess_text
        if self.strip_accents:
            text = tf.strings.regex_replace(tf_text.normalize_utf8(text, "NFKD"), r"\p{Mn}", "")
        if self.lowercase:  # Python's str.lower(), as Hugging Face (case folding would drop U+200D)
            text = tf.strings.lower(text, encoding="utf-8")
        return super().tokenize(text)

    def get_config(self):
        return {**super().get_config(), "lowercase": self.lowercase, "strip_accents": self.strip_accents}


@keras.saving.register_keras_serializable(package="kbert")
class UncasedAlbertTokenizer(LowercasingMixin, keras_hub.models.AlbertTokenizer):
    """keras-hub's AlbertTokenizer + Hugging Face's lowercasing and accent stripping."""
