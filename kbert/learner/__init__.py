"""The Learner (ktrain style): `get_learner(model, train_data, val_data)` then lr_find,
fit_onecycle, autofit, fit, validate, view_top_losses, plot. train_data: a kbert loader's
TaskData, or `(x, y)` numpy arrays for any Keras model compiled with a loss.

    facade.py     the Learner: data, compiling, Keras' Model.fit with kbert's callbacks
    training.py   fit_onecycle, autofit, fit and the checks of their arguments
    lr_find.py    lr_find, lr_estimate, lr_plot
    evaluation.py predict, ground_truth, validate, top_losses, view_top_losses, plot
    layers.py     freeze, unfreeze, print_layers, layer_output, reset_weights, save/load_model
    arrays.py     (x, y) arrays as TaskData (ArrayData)
    array_task.py the task of a user's compiled model: its loss, metrics, ktrain's reports
"""

from kbert.learner.array_task import ArrayPreprocessor
from kbert.learner.arrays import ArrayData
from kbert.learner.facade import NO_DECAY, Learner, get_learner

__all__ = ["ArrayData", "ArrayPreprocessor", "Learner", "NO_DECAY", "get_learner"]
