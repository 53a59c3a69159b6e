"""Predictor for a pretrained masked-LM model: fills in [MASK] pieces (as Hugging Face's
fill-mask pipeline)."""

import numpy as np

from kbert import metrics as M
from kbert.predictors.base import Predictor, as_texts
from kbert.pretraining.preprocessor import PretrainingPreprocessor

MASK = "[MASK]"


class FillMaskPredictor(Predictor):
    """predict(text) → the top_k pieces for each [MASK] of the text.

    Example:
    >>> # p = kbert.get_predictor(learner.model, preproc)     # a bert_pretrainer model
    >>> # p.predict("the cat sat on the [MASK] .", top_k=3)
    >>> # [{"token": "mat", "token_id": 1234, "score": 0.31, "sequence": "the cat sat on the mat ."}, ...]
    """

    task = "pretraining"
    preprocessor_class = PretrainingPreprocessor

    def _encode(self, text):
        parts = text.split(MASK)
        if len(parts) < 2:
            raise ValueError(f"The text has no {MASK}: {text!r}.")
        tok = self.preproc.tokenizer
        ids = [tok.cls_token_id]
        for i, part in enumerate(parts):
            if i:
                ids.append(tok.mask_token_id)
            pieces = tok(part) if part.strip() else []
            ids.extend(int(p) for p in np.asarray(pieces).reshape(-1))
        ids.append(tok.sep_token_id)
        if len(ids) > self.preproc.maxlen:
            raise ValueError(f"The text has {len(ids)} word pieces; this model reads at most {self.preproc.maxlen}.")
        return ids, parts

    def predict_proba(self, texts):
        """Probabilities over the vocabulary at each [MASK]: one [masks, vocabulary] array per text."""
        texts, single = as_texts(texts, "texts", f"a string with {MASK} or a list of such strings")
        encoded = [self._encode(t)[0] for t in texts]
        out = []
        for start in range(0, len(encoded), self.batch_size):
            batch = encoded[start:start + self.batch_size]
            width = max(len(ids) for ids in batch)
            positions = [[i for i, t in enumerate(ids) if t == self.preproc.mask_id] for ids in batch]
            n_masks = max(len(p) for p in positions)
            x = {"token_ids": np.full((len(batch), width), self.preproc.tokenizer.pad_token_id, "int32"),
                 "segment_ids": np.zeros((len(batch), width), "int32"),
                 "padding_mask": np.zeros((len(batch), width), "int32"),
                 "mask_positions": np.zeros((len(batch), n_masks), "int32")}
            for r, (ids, pos) in enumerate(zip(batch, positions)):
                x["token_ids"][r, :len(ids)] = ids
                x["padding_mask"][r, :len(ids)] = 1
                x["mask_positions"][r, :len(pos)] = pos
            logits = np.asarray(self.model.predict_on_batch(x)["mlm"])
            out.extend(M.softmax(logits[r, :len(pos)]) for r, pos in enumerate(positions))
        return out[0] if single else out

    def predict(self, texts, top_k=5):
        """The top_k fillers of each [MASK]: a list of {"token", "token_id", "score",
        "sequence"} (a list of such lists when the text has several masks; a list per text
        for a list of texts)."""
        texts, single = as_texts(texts, "texts", f"a string with {MASK} or a list of such strings")
        probas = self.predict_proba(texts)
        vocab = self.preproc.tokenizer.get_vocabulary()
        results = []
        for text, proba in zip(texts, probas):
            per_mask = []
            for m, row in enumerate(proba):
                best = np.argsort(-row, kind="stable")[:top_k]
                per_mask.append([{"token": vocab[i], "token_id": int(i), "score": float(row[i]),
                                  "sequence": _fill(text, m, vocab[i])} for i in best])
            results.append(per_mask[0] if len(per_mask) == 1 else per_mask)
        return results[0] if single else results


def _fill(text, index, token):
    """The text with its index-th [MASK] replaced by token ("##" pieces join the word before)."""
    parts = text.split(MASK)
    joined = parts[0]
    for i, part in enumerate(parts[1:]):
        if i == index:
            joined = joined.rstrip() + token[2:] if token.startswith("##") else joined + token
        else:
            joined += MASK
        joined += part
    return joined
