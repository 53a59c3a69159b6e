"""Training jobs that the distribution tests run in fresh processes (strategies and logical
devices must be set before TensorFlow starts, and crashes must be real process kills).

    python tests/integration/dist_job.py mirrored OUT.json   # default vs Mirrored on 2 logical CPUs
    python tests/integration/dist_job.py worker OUT.npz      # one worker of a TF_CONFIG cluster, 20 steps
    python tests/integration/dist_job.py resume FOLDER OUT.npz [--pause-after-epoch N]
"""

import json
import os
import sys
import time

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TESTS)  # conftest
sys.path.insert(0, os.path.dirname(TESTS))  # kbert

import kbert  # noqa: E402
import keras  # noqa: E402
keras.config.disable_traceback_filtering()
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from conftest import sentiment_df, tiny_spec  # noqa: E402


def data(n=320, fixed_shapes=False):
    df = sentiment_df(n=n, seed=3, min_len=2, max_len=12)
    return kbert.text.texts_from_df(df, "text", "label", val_pct=0.1, maxlen=32, preset=tiny_spec(),
                                    fixed_shapes=fixed_shapes, verbose=0)


def classifier(preproc, strategy):
    # float32: the strategies are compared weight for weight within 1e-6
    return kbert.text.text_classifier(preproc, dropout=0.0, strategy=strategy, seed=0, precision="float32")


def mirrored(out):
    kbert.distribute.split_cpu(2)
    trn, val, preproc = data()
    results = {}
    start = None
    for name in ("default", "mirrored"):
        strategy = kbert.distribute.get_strategy(name)
        model = classifier(preproc, strategy)
        if start is None:
            start = model.get_weights()
        model.set_weights(start)
        learner = kbert.get_learner(model, trn, val, batch_size=32, seed=1)
        learner.fit_onecycle(1e-3, 1, verbose=0)
        results[name] = {"replicas": strategy.num_replicas_in_sync, "loss": learner.history.history["loss"],
                         "val_loss": learner.history.history["val_loss"],
                         "predictions": learner.predict().tolist(),
                         "weights": [w.tolist() for w in model.get_weights()]}
    with open(out, "w") as f:
        json.dump(results, f)


def worker(out):
    strategy = kbert.distribute.get_strategy("multiworker")
    out = out.format(kbert.distribute.worker_index())
    trn, val, preproc = data(n=320 + 32)  # 320 training rows after the split: 20 steps of 16
    model = classifier(preproc, strategy)
    start = model.get_weights()
    learner = kbert.get_learner(model, trn, None, batch_size=16, seed=1)
    assert learner.steps_per_epoch() == 20, learner.steps_per_epoch()
    learner.fit_onecycle(1e-3, 1, verbose=0)
    moved = max(float(np.abs(a - b).max()) for a, b in zip(model.get_weights(), start))
    np.savez(out, *model.get_weights(), replicas=strategy.num_replicas_in_sync,
             loss=learner.history.history["loss"], moved=moved,
             iterations=int(model.optimizer.iterations.numpy()))


class Pause(keras.callbacks.Callback):
    def __init__(self, after_epoch):
        super().__init__()
        self.after_epoch = after_epoch

    def on_epoch_end(self, epoch, logs=None):
        print(f"finished epoch {epoch + 1}", flush=True)
        if epoch + 1 == self.after_epoch:
            time.sleep(600)  # the test kills the process here


def resume(folder, out, pause_after=None):
    tf.config.experimental.enable_op_determinism()
    trn, val, preproc = data()
    model = classifier(preproc, "default")
    learner = kbert.get_learner(model, trn, val, batch_size=32, seed=5)
    callbacks = [Pause(pause_after)] if pause_after else None
    learner.fit_onecycle(1e-3, 3, checkpoint_folder=folder, callbacks=callbacks, verbose=0)
    np.savez(out, *model.get_weights(), iterations=int(model.optimizer.iterations.numpy()),
             epochs_run=len(learner.history.history["loss"]))


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "mirrored":
        mirrored(args[0])
    elif mode == "worker":
        worker(args[0])
    elif mode == "resume":
        pause = int(args[3]) if len(args) > 3 and args[2] == "--pause-after-epoch" else None
        resume(args[0], args[1], pause)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
