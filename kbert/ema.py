"""EMAWeights: validation and checkpoints on the optimizer's moving average of the weights."""

import keras


class EMAWeights(keras.callbacks.SwapEMAWeights):
    """Validation on the optimizer's moving average of the weights (`use_ema=True`), and
    epoch-end callbacks that see it too.

    Keras' `SwapEMAWeights(swap_on_epoch=False)` swaps the averaged weights in for each
    validation and back after it. This one also swaps them in at the end of each epoch, so
    that the callbacks listed after it (ModelCheckpoint, EarlyStopping's best weights) keep
    the weights validation measured, and its `back` (put last among the callbacks) swaps the
    trained ones back for the next epoch. Callbacks before it (a backup) see the trained
    weights. After fit, Keras' `finalize_variable_values` leaves the average in the model.

    Example:
    >>> # swap = kbert.callbacks.EMAWeights()
    >>> # model.fit(x, y, validation_data=val, callbacks=[swap, keras.callbacks.ModelCheckpoint(p), swap.back])
    """

    def __init__(self):
        super().__init__(swap_on_epoch=False)
        self.back = _SwapBack(self)

    def on_epoch_end(self, epoch, logs=None):
        if not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True


class _SwapBack(keras.callbacks.Callback):
    """EMAWeights' second half: the trained weights back at the end of each epoch."""

    def __init__(self, swap):
        super().__init__()
        self.swap = swap

    def on_epoch_end(self, epoch, logs=None):
        if self.swap._ema_weights_in_model:
            self.swap._swap_variables()
            self.swap._ema_weights_in_model = False
