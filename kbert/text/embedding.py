"""`TransformerEmbedding`: word and sentence vectors from any encoder family (ktrain's
`ktrain.text.TransformerEmbedding`).

Hidden states are numbered as Hugging Face's `output_hidden_states` numbers them: 0 is the
embedding layer's output, i is the output of transformer layer i, so `layers=[-1]` is the
last layer and `[-2]` (ktrain's default) the one before it. ALBERT shares one layer
between its repetitions: its states are the outputs of each repetition.

Example:
>>> # emb = kbert.text.TransformerEmbedding("minilm", layers=[-1])
>>> # emb.embed(["I like cats"], word_level=False, pooling="mean", normalize=True).shape
>>> # (1, 384)
"""

import warnings

import keras
import numpy as np
import tensorflow as tf

from kbert.encoders import load_encoder
from kbert.families import family_of, special_ids
from kbert.pieces import style_of, word_input

DEFAULT_LAYERS = (-2,)  # ktrain's DEFAULT_TRANSFORMER_LAYERS: the second-to-last hidden state


def _node_outputs(layer):
    # a layer called several times (ALBERT's shared layer) has one node per call, in call order
    return [node.output_tensors[0] for node in layer._inbound_nodes]


def hidden_states(backbone):
    """The backbone's hidden states as symbolic tensors: [embedding output, layer 1, …]."""
    layers = getattr(backbone, "transformer_layers", None)
    if not layers:
        raise ValueError(f"{type(backbone).__name__} does not expose its transformer layers; "
                         "TransformerEmbedding can only read its last hidden state (layers=[-1]).")
    states = []
    for entry in layers:
        # ALBERT: a group of inner layers repeated; a hidden state is the group's last output
        states += _node_outputs(entry[-1] if isinstance(entry, (list, tuple)) else entry)
    first = layers[0][0] if isinstance(layers[0], (list, tuple)) else layers[0]
    return [first._inbound_nodes[0].input_tensors[0]] + states


class TransformerEmbedding:
    """Word or sentence vectors from an encoder's hidden states.

    Args:
        model_name: a `kbert.load_encoder` spec ("minilm", "bert-base-uncased", a folder, a dict).
        layers: hidden states to use, numbered as Hugging Face's (0: embeddings, -1: last
            layer); several are concatenated per piece, in the order given.
        batch_size: texts per model call.

    Example:
    >>> # emb = TransformerEmbedding("minilm", layers=[-1])
    >>> # emb.embed("George Washington went to Washington .").shape   # (1, 6, 384): one vector per word
    """

    def __init__(self, model_name="minilm", layers=DEFAULT_LAYERS, batch_size=32):
        self.model_name = model_name
        self.backbone, self.tokenizer = load_encoder(model_name)
        self.family = family_of(self.backbone)
        self.layers = [int(i) for i in layers]
        if not self.layers:
            raise ValueError("layers must name at least one hidden state, e.g. [-1] (the last layer).")
        self.batch_size = int(batch_size)
        self.model = self._layer_model()
        self.embsize = int(self.model.output.shape[-1])

    def _layer_model(self):
        states = hidden_states(self.backbone)
        bad = [i for i in self.layers if not -len(states) <= i < len(states)]
        if bad:
            raise ValueError(f"layers {bad} do not exist: this {self.family.name} encoder has {len(states)} hidden "
                             f"states (0 … {len(states) - 1}, or -1 … -{len(states)}).")
        picked = [states[i] for i in self.layers]
        out = picked[0] if len(picked) == 1 else keras.layers.Concatenate(axis=-1)(picked)
        return keras.Model(self.backbone.input, out)

    # ------------------------------------------------------------ tokenizing
    def _rows(self, texts, word_level, max_length):
        """(token ids per text, word index per piece (-1: special) per text, truncated count)."""
        ids = special_ids(self.tokenizer)
        room = max(1, min(int(max_length), self.backbone.max_sequence_length) - 2)
        rows, words_of, truncated = [], [], 0
        if word_level:
            style = style_of(self.tokenizer)
            for text in texts:
                words = text.split()
                pieces = self.tokenizer([word_input(w, style) for w in words]) if words else []
                row, owner = [], []
                for w, p in enumerate(pieces):
                    p = np.asarray(p).tolist()
                    row += p
                    owner += [w] * len(p)
                truncated += len(row) > room
                rows.append([ids["start"]] + row[:room] + [ids["end"]])
                words_of.append([-1] + owner[:room] + [-1])
        else:
            for p in self.tokenizer(list(texts)):
                p = np.asarray(p).tolist()
                truncated += len(p) > room
                rows.append([ids["start"]] + p[:room] + [ids["end"]])
                words_of.append(None)
        return rows, words_of, truncated

    def _states(self, rows):
        """The hidden states of each row, [pieces, embsize], through a batched tf.data
        pipeline padded to each batch's longest row."""
        pad = special_ids(self.tokenizer)["pad"]
        ragged = tf.ragged.constant(rows, dtype=tf.int32)
        ds = (tf.data.Dataset.from_tensor_slices(ragged).map(lambda r: r)  # ragged rows → dense rows
              .padded_batch(self.batch_size, padding_values=pad))
        feed_segments = "segment_ids" in self.model.input
        out = []
        for batch in ds:
            lengths = [len(r) for r in rows[len(out):len(out) + int(batch.shape[0])]]
            mask = tf.sequence_mask(lengths, maxlen=tf.shape(batch)[1], dtype=tf.int32)
            x = {"token_ids": batch, "padding_mask": mask}
            if feed_segments:
                x["segment_ids"] = tf.zeros_like(batch)
            states = np.asarray(self.model(x, training=False))
            out += [states[i, :n] for i, n in enumerate(lengths)]
        return out

    def embed(self, texts, word_level=True, max_length=512, aggregation_strategy="first", pooling="mean",
              normalize=False):
        """Vectors for a text or a list of texts.

        Args:
            texts: a string, a list of strings, or a list of pre-split texts (lists of words,
                joined with spaces as ktrain does).
            word_level: True: one vector per word (words are the text's whitespace-separated
                tokens, as ktrain's: "99.9%" is one word); False: one vector per text.
            max_length: pieces per text, [CLS]/[SEP] included; longer texts are cut (and
                counted in a warning).
            aggregation_strategy: a word's vector is its "first" piece's or the "average" of
                its pieces'.
            pooling: (word_level=False) "mean": the mean over the text's pieces, specials
                included, padding excluded (sentence-transformers' pooling); "cls": the first
                piece's vector.
            normalize: (word_level=False) scale each vector to unit length.

        Returns:
            word_level: float32 [texts, most words, embsize], zero rows after each text's
            last word; else float32 [texts, embsize].

        Example:
        >>> # emb.embed(["I like cats", "dogs too"], word_level=False, pooling="mean", normalize=True)
        """
        if aggregation_strategy not in ("first", "average"):
            raise ValueError(f'aggregation_strategy must be "first" or "average", got {aggregation_strategy!r}.')
        if pooling not in ("mean", "cls"):
            raise ValueError(f'pooling must be "mean" or "cls", got {pooling!r}.')
        if isinstance(texts, str):
            texts = [texts]
        texts = [t if isinstance(t, str) else " ".join(t) for t in texts]
        if not texts:
            raise ValueError("texts is empty: embed needs at least one text.")
        rows, words_of, truncated = self._rows(texts, word_level, max_length)
        if truncated:
            warnings.warn(f"{truncated} of {len(texts)} texts are longer than max_length={max_length} pieces (with "
                          "the specials) and were cut" + (": their last words get no vector." if word_level else "."),
                          stacklevel=2)
        states = self._states(rows)
        if not word_level:
            vectors = np.stack([s[0] if pooling == "cls" else s.mean(axis=0) for s in states]).astype("float32")
            if normalize:
                vectors /= np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)
            return vectors
        per_text = []
        for s, owner in zip(states, words_of):
            owner = np.asarray(owner)
            words = sorted(set(owner[owner >= 0].tolist()))
            if aggregation_strategy == "first":
                per_text.append([s[np.argmax(owner == w)] for w in words])
            else:
                per_text.append([s[owner == w].mean(axis=0) for w in words])
        most = max(len(v) for v in per_text)
        out = np.zeros((len(texts), most, self.embsize), "float32")
        for i, v in enumerate(per_text):
            if v:
                out[i, :len(v)] = np.stack(v)
        return out
