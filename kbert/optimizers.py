"""Optimizers: Keras' AdamW, with TensorFlow's fused Adam kernel doing the update.

`keras.optimizers.AdamW` writes Adam's update as about ten element-wise ops per variable,
each a full pass over memory; TensorFlow's `ResourceApplyAdam` kernel does the same
arithmetic in one pass over (variable, m, v, gradient). For the MiniLM classifier (22.7 M weights) on
2 CPU cores that is 70 → 38 ms per update (`benchmarks/optimizer.py`), which matters twice
under MirroredStrategy, where every replica applies the update to its own copy.

Everything else (learning-rate schedules, decoupled weight decay and its exclusions,
clipnorm, gradient accumulation, EMA, loss scaling, saving) is Keras' own: only
`update_step` changes, and it falls back to Keras' code where the kernel does not apply
(amsgrad, another backend, non-float32 variables).
"""

import keras
import tensorflow as tf


def _handle(variable):
    if isinstance(variable, keras.Variable):
        variable = variable.value
    # a MirroredVariable resolves to this device's copy inside strategy.extended.update
    return variable.handle


@keras.saving.register_keras_serializable(package="kbert")
class AdamW(keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` (same arguments, same numbers) with a fused update.

    The update is Keras' epsilon-hat form, which is also the kernel's:
    m ← m + (1-β1)(g-m); v ← v + (1-β2)(g²-v); w ← w - lr·√(1-β2ᵗ)/(1-β1ᵗ) · m/(√v+ε),
    after Keras' decoupled weight decay w ← w - lr·λ·w. Sparse gradients (embedding
    look-ups) are densified first, as Keras' own ops do: Adam decays every row of m and v.

    One difference, on purpose: when a sparse gradient repeats a row (a token seen twice in a
    batch), Keras squares each occurrence before summing them (its square acts on the slices'
    values), so v gets Σgᵢ² instead of g² for g = Σgᵢ. Here the summed gradient is squared, as
    in Adam's definition, tf.keras 2 and PyTorch.
    """

    def _fused(self, variable):
        return (keras.backend.backend() == "tensorflow" and not self.amsgrad
                and keras.backend.standardize_dtype(variable.dtype) == "float32")

    def update_step(self, gradient, variable, learning_rate):
        if not self._fused(variable):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        if isinstance(gradient, tf.IndexedSlices):
            gradient = tf.convert_to_tensor(gradient)
        gradient = tf.cast(gradient, dtype)
        local_step = tf.cast(self.iterations + 1, dtype)
        # beta_1 may be a variable (kbert.callbacks.CycleMomentum); read it as Keras does
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=_handle(variable), m=_handle(self._momentums[index]), v=_handle(self._velocities[index]),
            beta1_power=tf.pow(beta_1, local_step), beta2_power=tf.pow(beta_2, local_step),
            lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype), grad=gradient, use_locking=False)
