"""Predictor for a pretrained masked-LM model of any family: fills in the mask pieces of a
text (as Hugging Face's fill-mask pipeline). The mask is the family's own piece: "[MASK]"
for BERT, ALBERT, DistilBERT, ELECTRA and DeBERTa-v3, "<mask>" for RoBERTa and XLM-R."""

import numpy as np

from kbert import metrics as M
from kbert.data import predict_on_batch
from kbert.families import BYTE_BPE, WORDPIECE
from kbert.pieces import piece_text, starts_word, style_of, vocabulary_list
from kbert.predictors.base import Predictor, as_texts
from kbert.pretraining.preprocessor import PretrainingPreprocessor

MASK = "[MASK]"


class FillMaskPredictor(Predictor):
    """predict(text) → the top_k pieces for each mask of the text (`mask_token`: "[MASK]",
    or "<mask>" for RoBERTa and XLM-R).

    Each candidate is {"token": the piece ("##ing", "Ġblue", "▁blue"), "token_str": the text
    it stands for ("ing", "blue"), "token_id", "score", "sequence": the text with the mask
    filled in}.

    Example:
    >>> # p = kbert.get_predictor(learner.model, preproc)     # a bert_pretrainer model
    >>> # p.predict("the cat sat on the [MASK] .", top_k=3)
    >>> # [{"token": "mat", "token_str": "mat", "token_id": 1234, "score": 0.31,
    >>> #   "sequence": "the cat sat on the mat ."}, ...]
    """

    task = "pretraining"
    preprocessor_class = PretrainingPreprocessor

    @property
    def mask_token(self):
        """The piece that marks a blank in a text given to predict."""
        tok = self.preproc.tokenizer
        return tok.id_to_token(self.preproc.mask_id)

    def _expected(self):
        return f"a string with {self.mask_token} or a list of such strings"

    def _encode(self, text):
        mask = self.mask_token
        parts = text.split(mask)
        if len(parts) < 2:
            raise ValueError(f"The text has no {mask} (this model's mask token): {text!r}.")
        tok, ids_of = self.preproc.tokenizer, self.preproc.ids
        bpe = style_of(tok) == BYTE_BPE
        ids = [ids_of["start"]]
        for i, part in enumerate(parts):
            if i:
                ids.append(self.preproc.mask_id)
            if bpe and i < len(parts) - 1:
                # byte-level BPE: the space before a mask belongs to the mask (Hugging Face's
                # <mask> strips it on the left), not to a piece of its own
                part = part.rstrip()
            pieces = tok(part) if part.strip() else []
            ids.extend(int(p) for p in np.asarray(pieces).reshape(-1))
        ids.append(ids_of["end"])
        if len(ids) > self.preproc.maxlen:
            raise ValueError(f"The text has {len(ids)} word pieces; this model reads at most {self.preproc.maxlen}.")
        return ids, parts

    def predict_proba(self, texts):
        """Probabilities over the vocabulary at each mask: one [masks, vocabulary] array per text."""
        texts, single = as_texts(texts, "texts", self._expected())
        encoded = [self._encode(t)[0] for t in texts]
        out = []
        for start in range(0, len(encoded), self.batch_size):
            batch = encoded[start:start + self.batch_size]
            width = max(len(ids) for ids in batch)
            positions = [[i for i, t in enumerate(ids) if t == self.preproc.mask_id] for ids in batch]
            n_masks = max(len(p) for p in positions)
            x = {"token_ids": np.full((len(batch), width), self.preproc.ids["pad"], "int32"),
                 "segment_ids": np.zeros((len(batch), width), "int32"),
                 "padding_mask": np.zeros((len(batch), width), "int32"),
                 "mask_positions": np.zeros((len(batch), n_masks), "int32")}
            for r, (ids, pos) in enumerate(zip(batch, positions)):
                x["token_ids"][r, :len(ids)] = ids
                x["padding_mask"][r, :len(ids)] = 1
                x["mask_positions"][r, :len(pos)] = pos
            logits = predict_on_batch(self.model, x)["mlm"]
            out.extend(M.softmax(logits[r, :len(pos), :self.preproc.vocabulary_size]) for r, pos in enumerate(positions))
        return out[0] if single else out

    def predict(self, texts, top_k=5):
        """The top_k fillers of each mask: a list of {"token", "token_str", "token_id",
        "score", "sequence"} (a list of such lists when the text has several masks; a list
        per text for a list of texts)."""
        texts, single = as_texts(texts, "texts", self._expected())
        probas = self.predict_proba(texts)
        vocab = vocabulary_list(self.preproc.tokenizer)
        style = style_of(self.preproc.tokenizer)
        results = []
        for text, proba in zip(texts, probas):
            per_mask = []
            for m, row in enumerate(proba):
                best = np.argsort(-row, kind="stable")[:top_k]
                per_mask.append([{"token": vocab[i], "token_str": piece_text(vocab[i], style).strip(),
                                  "token_id": int(i), "score": float(row[i]),
                                  "sequence": fill(text, self.mask_token, m, vocab[i], style)} for i in best])
            results.append(per_mask[0] if len(per_mask) == 1 else per_mask)
        return results[0] if single else results


def fill(text, mask, index, piece, style=WORDPIECE):
    """The text with its index-th mask replaced by the piece's text: a piece that continues a
    word joins the word before; SentencePiece and byte-level BPE pieces carry their own
    leading space ("▁blue", "Ġblue" → " blue"), which replaces the text's space before the mask."""
    parts = text.split(mask)
    joined = parts[0]
    for i, part in enumerate(parts[1:]):
        if i == index:
            filler = piece_text(piece, style)
            if style == WORDPIECE:
                joined = joined + filler if starts_word(piece, style) else joined.rstrip() + filler
            else:
                joined = joined.rstrip() + filler if joined.strip() else filler.lstrip()
        else:
            joined += mask
        joined += part
    return joined
