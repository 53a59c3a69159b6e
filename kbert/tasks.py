"""The task contract: what the Learner and the predictors may call on a task.

Every task's preprocessor subclasses `TaskPreprocessor`. The Learner and the predictors
talk to a task only through these methods, so a new task has this one file to read (and
`tests/test_tasks.py`, run over every task, fails until it is complete).

    data (TaskData) ──► Learner: loss(), metrics(), validate(), predict_outputs(),
                                 example_losses(), describe(), source_text(),
                                 report_table() (validate(save_path=...))
    predictors: task, get_config() / from_config(config, tokenizer), tokenizer
"""

import numpy as np

from kbert import data as D


class TaskPreprocessor:
    """Base class of every task's preprocessor.

    Attributes a subclass sets:
        task: the task's name, the key of its predictor class in the predictor registry
            ("text_classification", "ner", "qa", "pretraining").
        per_piece: True when the model gives one output row per word piece (NER, QA),
            False for one per example.
        tokenizer: the keras-hub tokenizer; maxlen: pieces per row; preset: the encoder
            spec the data was tokenized for (the default encoder of the task's model).

    Example:
    >>> # class MyPreprocessor(TaskPreprocessor):
    >>> #     task = "my_task"
    >>> #     def loss(self): ...
    """

    task = None
    per_piece = False
    loss_weights = None  # Model.compile's loss_weights (several outputs); None: equal weights
    tokenizer = None
    maxlen = None
    preset = None

    # ------------------------------------------------------------ training
    def get_classes(self):
        """The class (or tag) names, in output order; [] for tasks without classes."""
        return []

    def loss(self):
        """The Keras loss (or dict of losses per output) the model is compiled with."""
        raise NotImplementedError(f"{type(self).__name__} must define loss().")

    def metrics(self):
        """The Keras metrics (list, or dict per output) the model is compiled with."""
        raise NotImplementedError(f"{type(self).__name__} must define metrics().")

    # ------------------------------------------------------------ evaluation
    def predict_outputs(self, model, data, batch_size, verbose=0):
        """Model outputs for every row of `data`, in row order (a list of per-row arrays
        cut to each row's length when `per_piece`)."""
        return D.predict(model, data, batch_size, per_piece=self.per_piece, verbose=verbose)

    def validate(self, model, data, batch_size, class_names=None, print_report=True):
        """Scores `model` on `data` (which has targets), prints the task's report and
        returns its summary. By default: predict_outputs, then `report`."""
        return self.report(self.predict_outputs(model, data, batch_size), data, class_names, print_report)

    def report(self, outputs, data, class_names=None, print_report=True):
        """The validation report of model outputs against data's targets."""
        raise NotImplementedError(f"{type(self).__name__} must define report() or validate().")

    def report_table(self, outputs, data, class_names=None):
        """The per-class report as a pandas DataFrame (sklearn's classification report: one
        row per class plus the averages; columns precision, recall, f1-score, support), the
        CSV of `Learner.validate(save_path=...)`.

        The default reads `describe()` for every row: it serves tasks whose truth and
        prediction are class names of `get_classes()` (or lists of them, multi-label).
        Other tasks raise NotImplementedError.
        """
        classes = list(self.get_classes())
        if not classes or self.per_piece:
            raise NotImplementedError(
                f"validate(save_path=...) writes a per-class report, which {self.task} data has not; "
                "use the value validate() returns.")
        rows = data.target_rows()
        pairs = [self.describe(outputs[r], rows[r]) for r in range(len(rows))]
        index = {c: i for i, c in enumerate(classes)}
        if pairs and isinstance(pairs[0][0], (list, tuple)):  # multi-label: lists of class names
            def ids(names):
                return np.isin(np.arange(len(classes)), [index[n] for n in names]).astype(int)
        else:
            def ids(name):
                return index[name]
        truth = np.asarray([ids(t) for t, _ in pairs])
        pred = np.asarray([ids(p) for _, p in pairs])
        return classification_table(truth, pred, class_names or classes)

    def example_losses(self, outputs, targets):
        """The loss of each example (numpy), for Learner.top_losses."""
        raise NotImplementedError(f"top_losses is not defined for {self.task} data; use learner.validate().")

    def describe(self, outputs, targets):
        """(truth, prediction) of one example, in the task's terms (labels, tags, spans)."""
        raise NotImplementedError(f"{type(self).__name__} must define describe().")

    def source_text(self, data, row):
        """The text of one row of `data`, as the user gave it, for reports."""
        raise NotImplementedError(f"{type(self).__name__} must define source_text().")

    # ------------------------------------------------------------ saving
    def get_config(self):
        """A JSON-serialisable dict from which `from_config` rebuilds this preprocessor."""
        raise NotImplementedError(f"{type(self).__name__} must define get_config().")

    @classmethod
    def from_config(cls, config, tokenizer):
        """The preprocessor of `config` (from get_config) with a tokenizer loaded from files."""
        raise NotImplementedError(f"{cls.__name__} must define from_config().")


def classification_table(truth, pred, class_names):
    """sklearn's classification report as a DataFrame (ktrain's CSV layout).

    Args:
        truth, pred: class ids [rows], or 0/1 rows [rows, classes] (multi-label).
        class_names: the name of each class id, in order.

    Returns:
        A DataFrame indexed by class name, then "accuracy" (or "micro avg" and "samples
        avg" for multi-label), "macro avg", "weighted avg"; columns precision, recall,
        f1-score, support.

    Example:
    >>> float(classification_table([0, 1, 1], [0, 1, 0], ["neg", "pos"]).loc["pos", "recall"])
    0.5
    """
    import pandas as pd
    from sklearn.metrics import classification_report

    names = [str(c) for c in class_names]
    labels = list(range(len(names))) if np.ndim(truth) == 1 else None
    report = classification_report(truth, pred, labels=labels, target_names=names, zero_division=0,
                                   output_dict=True)
    return pd.DataFrame(report).transpose()
