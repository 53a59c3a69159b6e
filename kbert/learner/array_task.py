"""The task of a user's own Keras model on arrays (ktrain's ArrayLearner): the loss and
metrics are those the user compiled the model with; reports follow ktrain's `validate`.

Whether the model classifies is read as ktrain reads it: a cross-entropy loss, or a metric
whose name holds "acc" or "auc". Multi-label: a binary cross-entropy over several outputs,
or targets with several 1s in a row. Anything else is regression.
"""

import warnings

import keras
import numpy as np

from kbert import metrics as M
from kbert.errors import DataError, format_rows
from kbert.tasks import TaskPreprocessor, classification_table

CLASSIFICATION_LOSSES = ("categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy",
                         "categorical_focal_crossentropy", "binary_focal_crossentropy")
CLASSIFICATION, MULTILABEL, REGRESSION = "classification", "multilabel", "regression"


def name_of(obj):
    """The name Keras knows a loss or metric by ("mae", "sparse_categorical_crossentropy", …)."""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, dict):  # a serialized metric
        return obj.get("config", {}).get("name", "") if isinstance(obj.get("config"), dict) else str(obj["config"])
    fn = getattr(obj, "fn", None)  # keras.losses.LossFunctionWrapper
    return getattr(fn, "__name__", None) or getattr(obj, "name", None) or getattr(obj, "__name__", "")


def array_preprocessor(model, y):
    """The ArrayPreprocessor of a model the user compiled with a loss, for targets y.

    Raises:
        ValueError: the model is not compiled with a loss, or y does not fit its output.
    """
    if not getattr(model, "compiled", False) or getattr(model, "loss", None) is None:
        raise ValueError(
            "With (x, y) arrays the model must be compiled with a loss first, as ktrain requires: e.g. "
            "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy']). "
            "kbert keeps the loss and metrics and trains with its own AdamW.")
    config = model.get_compile_config()
    originals = getattr(getattr(model, "_compile_config", None), "config", {}) or {}
    metrics = config.get("metrics") or []
    if isinstance(metrics, dict):
        raise ValueError("metrics given per output (a dict) need a model with several outputs, which the array "
                         "Learner does not support; compile with a list of metrics.")
    original_metrics = originals.get("metrics") or [None] * len(metrics)
    width = _output_width(model)
    return ArrayPreprocessor(model.loss, list(zip(metrics, original_metrics)), config.get("loss_weights"),
                             width, y)


def _output_width(model):
    try:
        shape = model.output_shape
    except (AttributeError, ValueError):
        return None
    if isinstance(shape, list) or isinstance(shape, dict):
        raise ValueError("The array Learner supports models with one output; this one has "
                         f"{len(shape)}: train it with model.fit.")
    return shape[-1] if len(shape) > 1 else 1


class ArrayPreprocessor(TaskPreprocessor):
    """The contract of kbert.tasks for a user's compiled model on arrays.

    Args:
        loss: the loss the user compiled the model with (a name, function or keras Loss).
        metrics: (serialized metric, original metric) pairs from the model's compile config.
        loss_weights: the compile config's loss_weights.
        output_width: the last dimension of the model's output (None if unknown).
        y: the training targets (they tell one-hot from multi-hot).
        classes: class names for reports (default: the class ids as strings).
    """

    task = "arrays"

    def __init__(self, loss, metrics, loss_weights=None, output_width=None, y=None, classes=None):
        self.loss_fn, self.metric_pairs, self.loss_weights = loss, list(metrics), loss_weights
        self.output_width, self.classes = output_width, classes
        self.loss_name = name_of(loss)
        self.metric_names = [name_of(m) for m, _ in self.metric_pairs]
        self.from_logits = isinstance(loss, keras.losses.Loss) and bool(loss.get_config().get("from_logits"))
        self.sparse = "sparse" in self.loss_name
        classifier = self.loss_name in CLASSIFICATION_LOSSES or any(
            "acc" in n or "auc" in n for n in self.metric_names)
        multi = y is not None and np.ndim(y) == 2 and y.shape[1] > 1 and (y[:1024].sum(axis=1) > 1).any()
        if not classifier:
            self.mode = REGRESSION
        elif multi or ("binary" in self.loss_name and (output_width or 1) > 1):
            self.mode = MULTILABEL
        else:
            self.mode = CLASSIFICATION
        if y is not None:
            self.check_targets(y, "train_data")

    def check_targets(self, y, name):
        """Class ids within the model's outputs, one-hot widths equal to them."""
        width = self.output_width
        if self.mode == REGRESSION or width is None:
            return
        if self.sparse:
            ids = np.asarray(y).reshape(len(y), -1)
            if ids.shape[1] != 1:
                raise ValueError(f"{name}: y has rows of {ids.shape[1]} values but the loss {self.loss_name} "
                                 "takes one class id per row: give ids, or use categorical_crossentropy for "
                                 "one-hot rows.")
            bad = (ids[:, 0] < 0) | (ids[:, 0] >= width) | (ids[:, 0] != np.round(ids[:, 0]))
            if bad.any():
                raise DataError(f"{name}: y holds values that are not class ids 0 … {width - 1} (the model has "
                                f"{width} outputs) at rows {format_rows(np.flatnonzero(bad))}.")
        elif np.ndim(y) == 1 and width > 1 or np.ndim(y) == 2 and y.shape[1] != width:
            got = "class ids" if np.ndim(y) == 1 else f"rows of {y.shape[1]} values"
            raise ValueError(f"{name}: y holds {got} but the model has {width} outputs and the loss "
                             f"{self.loss_name} takes one-hot rows of {width}: use "
                             "keras.utils.to_categorical(y) (or loss='sparse_categorical_crossentropy' for ids).")

    def with_classes(self, classes):
        """A copy that names classes in reports and top losses."""
        copy = ArrayPreprocessor(self.loss_fn, self.metric_pairs, self.loss_weights, self.output_width, None,
                                 list(classes) if classes else None)
        copy.mode = self.mode
        return copy

    # ------------------------------------------------------------ training
    def get_classes(self):
        return list(self.classes or [])

    def loss(self):
        return self.loss_fn

    def metrics(self):
        """Fresh copies of the user's metrics (built in the Learner's strategy scope)."""
        out = []
        for serialized, original in self.metric_pairs:
            if isinstance(serialized, str):
                out.append(serialized)
                continue
            try:
                out.append(keras.metrics.deserialize(serialized))
            except (TypeError, ValueError):  # a custom function or class Keras can not rebuild
                out.append(original if original is not None else serialized)
        return out

    # ------------------------------------------------------------ labels
    def _threshold(self):
        return 0.0 if self.from_logits else 0.5

    def true_ids(self, y):
        y = np.asarray(y)
        if self.mode == MULTILABEL:
            return (y >= 0.5).astype(int)
        if y.ndim == 2 and y.shape[1] > 1:
            return y.argmax(axis=1)
        return np.rint(y.reshape(len(y))).astype(int)

    def pred_ids(self, outputs):
        p = np.asarray(outputs)
        if self.mode == MULTILABEL:
            return (p > self._threshold()).astype(int)
        if p.ndim == 2 and p.shape[1] > 1:
            return p.argmax(axis=1)
        return (p.reshape(len(p)) > self._threshold()).astype(int)

    def _names(self, class_names, n):
        names = class_names or self.classes
        return [str(c) for c in names] if names else [str(i) for i in range(n)]

    def _n_classes(self, y_ids, p_ids):
        if self.output_width and self.output_width > 1:
            return self.output_width
        return max(2, int(max(y_ids.max(initial=0), p_ids.max(initial=0))) + 1)

    # ------------------------------------------------------------ reports
    def report(self, outputs, data, class_names=None, print_report=True):
        """ktrain's validate: regression → [(metric, value)] for the compiled mae/mse
        metrics (MAE if none); classification → prints sklearn's report and returns the
        confusion matrix; multi-label → prints the report and returns None (as ktrain)."""
        from sklearn import metrics as skm

        y = np.asarray(data.targets)
        if self.mode == REGRESSION:
            p = np.asarray(outputs).reshape(len(y), -1)
            t = y.reshape(len(y), -1)
            scores = {"mae": skm.mean_absolute_error, "mean_absolute_error": skm.mean_absolute_error,
                      "mse": skm.mean_squared_error, "mean_squared_error": skm.mean_squared_error}
            result = [(n, float(scores[n](t, p))) for n in self.metric_names if n in scores]
            if not result:
                warnings.warn("The model was compiled without an mae or mse metric; validate reports MAE.")
                result = [("mae", float(skm.mean_absolute_error(t, p)))]
            if print_report:
                print("  ".join(f"{n}: {v:.4f}" for n, v in result))
            return result
        truth, pred = self.true_ids(y), self.pred_ids(outputs)
        if self.mode == MULTILABEL:
            if print_report:
                print(skm.classification_report(truth, pred, target_names=self._names(class_names, truth.shape[1]),
                                                zero_division=0))
            warnings.warn("Confusion matrices do not support multi-label classification (as in ktrain): "
                          "validate returns None.")
            return None
        n = self._n_classes(truth, pred)
        labels = list(range(n))
        if print_report:
            print(skm.classification_report(truth, pred, labels=labels, target_names=self._names(class_names, n),
                                            zero_division=0))
        return skm.confusion_matrix(truth, pred, labels=labels)

    def report_table(self, outputs, data, class_names=None):
        if self.mode == REGRESSION:
            raise NotImplementedError("validate(save_path=...) writes a classification report; a regression "
                                      "model has none (validate returns its errors).")
        truth, pred = self.true_ids(data.targets), self.pred_ids(outputs)
        n = truth.shape[1] if self.mode == MULTILABEL else self._n_classes(truth, pred)
        return classification_table(truth, pred, self._names(class_names, n))

    def _aligned(self, outputs, targets):
        """(y_true, y_pred) as the loss takes them: float32, y expanded to the outputs' rank
        for non-sparse losses (ktrain does the same for regression)."""
        p = np.asarray(outputs, dtype=np.float32)
        y = np.asarray(targets)
        y = y.astype(np.int64) if self.sparse else y.astype(np.float32)
        if not self.sparse and y.ndim == p.ndim - 1:
            y = y[..., None]
        return y, p

    def example_losses(self, outputs, targets):
        """Each example's value of the compiled loss (extra axes averaged)."""
        fn = keras.losses.get(self.loss_fn) if isinstance(self.loss_fn, str) else self.loss_fn
        y, p = self._aligned(outputs, targets)
        values = fn.call(y, p) if isinstance(fn, keras.losses.Loss) else fn(y, p)
        values = np.asarray(keras.ops.convert_to_numpy(values), dtype=np.float64)
        return values.reshape(len(values), -1).mean(axis=1)

    def describe(self, outputs, targets):
        """(truth, prediction) as ktrain's top_losses shows them: class names (or ids as
        strings) for classifiers, values rounded to 2 decimals otherwise."""
        outputs, targets = np.asarray(outputs), np.asarray(targets)
        if self.mode == CLASSIFICATION:
            names = self._names(None, max(2, self.output_width or 2))
            t, p = self.true_ids(targets[None])[0], self.pred_ids(outputs[None])[0]
            return names[t] if t < len(names) else str(t), names[p] if p < len(names) else str(p)
        if self.mode == MULTILABEL:
            probs = M.sigmoid(outputs) if self.from_logits else outputs
            return targets, np.around(probs, 2)
        t, p = np.squeeze(targets), np.squeeze(outputs)
        return (round(float(t), 2) if t.ndim == 0 else np.around(t, 2)), \
            (round(float(p), 2) if p.ndim == 0 else np.around(p, 2))

    def source_text(self, data, row):
        """The inputs of one row, as numpy prints them."""
        x = data.x_row(row)
        text = lambda v: np.array2string(np.asarray(v)[0], threshold=50, precision=3)  # noqa: E731
        if isinstance(x, dict):
            return "\n".join(f"{k}: {text(v)}" for k, v in x.items())
        return "\n".join(text(v) for v in x) if isinstance(x, list) else text(x)

    # ------------------------------------------------------------ saving
    def get_config(self):
        return {"loss": self.loss_name, "metrics": self.metric_names, "mode": self.mode,
                "classes": self.get_classes()}

    @classmethod
    def from_config(cls, config, tokenizer):
        raise NotImplementedError("A model trained on arrays has no kbert predictor; save it with "
                                  "learner.save_model(folder) and reload it with learner.load_model(folder).")
