"""Evaluation of the Learner: predict, ground_truth, validate, top losses, training plots.
The task's preprocessor (kbert.tasks.TaskPreprocessor) supplies the reports."""

import numpy as np

from kbert import plots
from kbert.learner.arrays import ArrayData


def loss_range(n):
    """top_losses' n as a (start, end) slice of the ranked examples (ktrain's rule)."""
    if n is None:
        return 0, None
    if isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0:
        return 0, int(n)
    if isinstance(n, (tuple, list)) and len(n) == 2 and all(isinstance(v, (int, np.integer)) for v in n) \
            and 0 <= n[0] <= n[1]:
        return int(n[0]), int(n[1])
    raise ValueError(f"n must be a count (the n highest losses), a (start, end) range with 0 <= start <= end "
                     f"(ranks start … end-1), or None (all), got {n!r}.")


class EvaluationMixin:
    """predict / ground_truth / validate / evaluate / top_losses / view_top_losses / plot,
    mixed into Learner."""

    def _eval_data(self, val_data, name="val_data"):
        data = self._as_data(val_data, name) if val_data is not None else self.val_data
        if data is None:
            raise ValueError(f"No validation data: pass {name} or give val_data to get_learner.")
        return data

    def predict(self, val_data=None, verbose=0):
        """Model outputs (logits for kbert's models) for every row of val_data (default: the
        learner's), in row order. val_data may be `(x, None)` for array learners."""
        data = self._eval_data(val_data)
        return data.preprocessor.predict_outputs(self.model, data, self.eval_batch_size, verbose=verbose)

    def ground_truth(self, val_data=None):
        """The targets of val_data (default: the learner's), as the data holds them (ktrain's
        ground_truth): y as given for arrays; class ids, per-piece tag ids, … for kbert's tasks."""
        data = self._eval_data(val_data)
        if not data.has_targets:
            raise ValueError("val_data has no labels.")
        return data.targets if isinstance(data, ArrayData) else data.target_rows()

    def validate(self, val_data=None, print_report=True, save_path=None, class_names=None):
        """Scores the model on val_data (default: the learner's) and prints the task's report.

        Args:
            val_data: data from the same loader as train_data, or `(x, y)` for array learners.
            print_report: print the report (sklearn's classification report for classifiers).
            save_path: also write the per-class report as CSV (ktrain's layout: one row per
                class and average; precision, recall, f1-score, support). Classifiers only.
            class_names: names for the classes in the report.

        Returns:
            The task's summary: the confusion matrix for classifiers (ktrain); for array
            learners `[(metric, value)]` (mae/mse) for regression and None for multi-label,
            as ktrain; entity F1 for NER; EM/F1 for QA; MLM scores for pretraining.

        Example:
        >>> # cm = learner.validate(class_names=preproc.get_classes())
        >>> # learner.validate(print_report=False, save_path="report.csv")
        """
        data = self._eval_data(val_data)
        if not data.has_targets:
            raise ValueError("val_data has no labels to validate against.")
        task, class_names = data.preprocessor, (list(class_names) if class_names else None)
        if save_path is None:
            return task.validate(self.model, data, self.eval_batch_size, class_names, print_report)
        outputs = task.predict_outputs(self.model, data, self.eval_batch_size)
        table = task.report_table(outputs, data, class_names)
        result = task.report(outputs, data, class_names, print_report)
        table.to_csv(save_path)
        print(f"kbert: classification report saved to {save_path}")
        return result

    def evaluate(self, test_data=None, print_report=True, save_path=None, class_names=None):
        """validate on test_data (ktrain's evaluate)."""
        return self.validate(test_data, print_report, save_path, class_names)

    def top_losses(self, n=4, val_data=None, preproc=None):
        """The examples with the highest loss: [(row, loss, truth, prediction), ...], highest first.

        Args:
            n: how many (the n highest), a `(start, end)` range of ranks, or None for all.
            val_data: default the learner's.
            preproc: for array learners, its `get_classes()` names the classes (ktrain).

        Returns:
            A list of `(row, loss, truth, prediction)`; truth and prediction in the task's
            terms (class names, tags, answer spans; values for regression).

        Example:
        >>> # learner.top_losses(n=(5, 10))   # the 6th to 10th highest losses
        """
        start, end = loss_range(n)
        data = self._eval_data(val_data)
        task = data.preprocessor
        if isinstance(data, ArrayData) and preproc is not None and hasattr(preproc, "get_classes"):
            task = task.with_classes(preproc.get_classes())
        outputs = self.predict(data)
        targets = data.target_rows()
        losses = task.example_losses(outputs, targets)
        rows = np.argsort(-losses, kind="stable")[start:end]
        out = []
        for r in rows:
            truth, pred = task.describe(outputs[r], targets[r])
            out.append((int(r), float(losses[r]), truth, pred))
        return out

    def view_top_losses(self, n=4, preproc=None, val_data=None):
        """Prints the examples with the highest loss: row, loss, truth, prediction and the
        example itself (its text; for arrays `preproc.undo(x)` if preproc has it, else the
        numbers)."""
        data = self._eval_data(val_data)
        arrays = isinstance(data, ArrayData)
        for row, loss, truth, pred in self.top_losses(n, data, preproc):
            print("-" * 40)
            print(f"id:{row} | loss:{loss:.2f} | true:{truth} | pred:{pred}\n")
            if arrays and hasattr(preproc, "undo"):
                x = data.x_row(row)
                print(preproc.undo(x[0] if isinstance(x, np.ndarray) else x))
            else:
                print(((preproc if not arrays and preproc is not None else data.preprocessor)
                       .source_text(data, row)))
            print()

    # ------------------------------------------------------------------ plots
    def plot(self, plot_type="loss", return_fig=False, save_path=None):
        """Training curves: "loss" (per epoch, with val_loss), "lr" or "momentum" (per batch)."""
        if self.recorder is None:
            raise RuntimeError("Nothing trained yet.")
        fig = plots.history_figure(plot_type, self.recorder, self.recorder.epochs)
        if return_fig:
            return fig
        plots.show(fig, save_path or f"history_{plot_type}.png")
        return None
