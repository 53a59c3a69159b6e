"""BackupAndRestore: Keras' backup callback, resuming inside an epoch too."""

import json
import os

import keras


class BackupAndRestore(keras.callbacks.BackupAndRestore):
    """Keras' `BackupAndRestore` that also resumes inside an epoch.

    Keras' callback saves every `save_freq` batches but restores only the epoch: a run
    killed mid-epoch starts that epoch again. This one writes the batches done in the epoch
    ("step") beside Keras' metadata, saves at every epoch end as well, and reads the resume
    point when it is made (`initial_epoch`, `initial_step`), so that the caller can skip
    that many batches of the epoch's data (`dataset.skip(initial_step)`: kbert's epochs
    are a function of their seed, so the skipped batches are those already trained). The
    resumed epoch then runs only its remaining batches: `cutter`, a callback to put last
    among the callbacks, ends that epoch early (validation and `on_epoch_end` run as usual;
    its logs cover the batches run after resuming).

    Args:
        backup_dir: the folder of the backup (one per run and worker).
        steps_per_epoch: batches in an epoch.
        save_freq: "epoch", or save every this many batches (counted over the whole run,
            so saves fall on the same batches when resumed) and at every epoch end.
        delete_checkpoint: remove the backup when training finishes.

    Example:
    ```python
    backup = kbert.callbacks.BackupAndRestore("ckpt/backup", steps_per_epoch=100, save_freq=25)
    ds = data.epochs_dataset(32, 3, backup.initial_epoch, seed=0).skip(backup.initial_step)
    model.fit(ds, epochs=3, steps_per_epoch=100, initial_epoch=backup.initial_epoch,
              callbacks=[backup, backup.cutter])
    ```
    """

    def __init__(self, backup_dir, steps_per_epoch, save_freq="epoch", delete_checkpoint=True):
        super().__init__(backup_dir, save_freq=save_freq, delete_checkpoint=delete_checkpoint)
        if isinstance(save_freq, bool) or save_freq != "epoch" and save_freq < 1:
            raise ValueError(f"save_freq must be 'epoch' or a whole number of batches ≥ 1, got {save_freq!r}.")
        if isinstance(steps_per_epoch, bool) or not isinstance(steps_per_epoch, int) or steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be a whole number ≥ 1, got {steps_per_epoch!r}.")
        self.steps_per_epoch = steps_per_epoch
        self.initial_epoch, self.initial_step = self._resume_point()
        self.cutter = _EndEpoch(self)
        self._epoch, self._step, self._first = self.initial_epoch, self.initial_step, True

    def _resume_point(self):
        path = self._training_metadata_path
        if not os.path.exists(path):
            return 0, 0
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
        epoch, step = int(meta.get("epoch", 0)), int(meta.get("step", 0))
        if step >= self.steps_per_epoch:  # killed after the epoch's last batch, before its end
            epoch, step = epoch + 1, 0
        return epoch, step

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)  # weights, optimizer state (with its accumulators)
        self._current_epoch = self.initial_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._step = self.initial_step if self._first else 0
        self._first = False

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        done = self._epoch * self.steps_per_epoch + self._step
        if self.save_freq != "epoch" and done % self.save_freq == 0:
            self._save_model()
        if self._step >= self.steps_per_epoch and batch + 1 < self.steps_per_epoch:
            self.cutter.due = True  # the resumed epoch has run its remaining batches

    def on_epoch_end(self, epoch, logs=None):
        if self.cutter.cut:  # first among the callbacks: the others see stop_training as it was
            self.model.stop_training, self.cutter.cut = False, False
        self._current_epoch, self._step = epoch + 1, 0
        self._save_model()

    def _save_model(self):
        super()._save_model()
        with open(self._training_metadata_path, "w", encoding="utf-8") as f:
            json.dump({"epoch": self._current_epoch, "batch": self._step, "step": self._step}, f)


class _EndEpoch(keras.callbacks.Callback):
    """Ends the resumed epoch after its remaining batches (put last among the callbacks, so
    that a stop asked by another callback in the same batch is kept)."""

    def __init__(self, backup):
        super().__init__()
        self.backup, self.due, self.cut = backup, False, False

    def on_train_batch_end(self, batch, logs=None):
        if self.due:
            self.due = False
            if not self.model.stop_training:
                self.model.stop_training, self.cut = True, True
