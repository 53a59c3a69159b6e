"""Optimizers: Keras' AdamW, with TensorFlow's fused Adam kernel doing the update, and
Keras' Lamb; both accumulate gradients under tf.distribute and count schedules in updates.

`keras.optimizers.AdamW` writes Adam's update as about ten element-wise ops per variable,
each a full pass over memory; TensorFlow's `ResourceApplyAdam` kernel does the same
arithmetic in one pass over (variable, m, v, gradient). For the MiniLM classifier (22.7 M weights) on
2 CPU cores that is 70 → 38 ms per update (`benchmarks/optimizer.py`), which matters twice
under MirroredStrategy, where every replica applies the update to its own copy.

Everything else (learning-rate schedules, decoupled weight decay and its exclusions,
clipnorm, EMA, loss scaling, saving) is Keras' own: only `update_step` changes, and it
falls back to Keras' code where the kernel does not apply (amsgrad, another backend,
non-float32 variables).

Gradient accumulation (`gradient_accumulation_steps=k`, Keras' argument) is Keras' rule,
one update every k batches with the mean of their gradients, clipped, then decoupled
weight decay and the update; two things differ (`Accumulating`): it works under
`tf.distribute` strategies (Keras' own version puts a `merge_call` inside a `cond`, which
MirroredStrategy refuses), and learning-rate schedules count updates, not batches (Keras
gives them the batch count), so a schedule of N steps spans N updates.

Layer-wise rates (`lr_multipliers={variable.path: factor}`, what the Learner's
`lr_decay_rate` builds): each variable's update and its decoupled weight decay use the
schedule's rate times its factor (1 for paths not listed), as parameter groups with their
own rates do in PyTorch. The factors are looked up once, when the optimizer is built.

Keras' EMA of the weights (`use_ema=True, ema_momentum=m`) works with all of it; with
accumulation the average moves once per update (Keras' own moves it every batch).
"""

import math

import keras
import tensorflow as tf

LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule


def _handle(variable):
    if isinstance(variable, keras.Variable):
        variable = variable.value
    # a MirroredVariable resolves to this device's copy inside strategy.extended.update
    return variable.handle


class Accumulating:
    """Mixin for Keras optimizers: gradient accumulation that works under tf.distribute,
    and schedules that count updates.

    With `gradient_accumulation_steps=k`, each batch's gradients are all-reduced over the
    replicas and added to accumulators (optimizer variables, so they are saved and restored
    with the optimizer); on every k-th batch, per variable and in cross-replica context, the
    mean of the k gradients is clipped (clipnorm / clipvalue), weight decay applied and
    `update_step` run, then the accumulator is cleared. With batches of equal size and a
    loss averaged over the batch, that is one update on the k-times larger batch.
    `iterations` counts updates (Keras' floor division of the batch count `_iterations`).

    Also `lr_multipliers`: {variable path: factor} of each variable's learning rate.
    """

    def __init__(self, *args, lr_multipliers=None, **kwargs):
        super().__init__(*args, **kwargs)
        multipliers = dict(lr_multipliers or {})
        for path, factor in multipliers.items():
            if not isinstance(factor, (int, float)) or not math.isfinite(factor) or factor <= 0:
                raise ValueError(f"kbert.optimizers: lr_multipliers[{path!r}] must be a positive, finite number, "
                                 f"got {factor!r}.")
        self.lr_multipliers = {str(k): float(v) for k, v in multipliers.items()}

    def build(self, variables):
        super().build(variables)
        # per variable index, as the slots: a Python float each, constant in the traced step
        self._lr_factors = [self.lr_multipliers.get(v.path, 1.0) for v in variables]

    def _scaled(self, variable, learning_rate):
        """The rate of `variable`: the schedule's times its factor in lr_multipliers."""
        if not self.lr_multipliers:
            return learning_rate
        factor = self._lr_factors[self._get_variable_index(variable)]
        return learning_rate if factor == 1.0 else learning_rate * factor

    def get_config(self):
        config = super().get_config()
        if self.lr_multipliers:
            config["lr_multipliers"] = dict(self.lr_multipliers)
        return config

    def _apply_weight_decay(self, variables):
        # Keras' decoupled decay (w ← w - lr·λ·w) at each variable's own rate
        if self.weight_decay is None or not self.lr_multipliers or keras.backend.backend() != "tensorflow":
            return super()._apply_weight_decay(variables)

        def decay(distribution, variables):
            for variable in variables:
                if isinstance(variable, keras.Variable):
                    variable = variable.value
                distribution.extended.update(variable, self._decay_weights, group=False)

        tf.__internal__.distribute.interim.maybe_merge_call(decay, self._distribution_strategy, variables)

    def _decay_weights(self, variable):
        if self.weight_decay is not None and self._use_weight_decay(variable):
            lr = self._scaled(variable, self.learning_rate)
            variable.assign_sub(variable * tf.cast(self.weight_decay, variable.dtype) * tf.cast(lr, variable.dtype))

    def _get_current_learning_rate(self):
        if isinstance(self._learning_rate, LearningRateSchedule):
            return self._learning_rate(self.iterations)  # updates (= batches without accumulation)
        return super()._get_current_learning_rate()

    def _backend_apply_gradients(self, grads, trainable_variables):
        if (not self.gradient_accumulation_steps or keras.backend.backend() != "tensorflow"
                or self.use_ema and self.ema_overwrite_frequency):
            return super()._backend_apply_gradients(grads, trainable_variables)
        if self.global_clipnorm:
            raise ValueError("kbert.optimizers: global_clipnorm with gradient_accumulation_steps is not supported; "
                             "use clipnorm (per variable).")
        variables = [v.value if isinstance(v, keras.Variable) else v for v in trainable_variables]
        # all-reduce in replica context (a sync point outside any cond), then one merge_call
        grads_and_vars = self._all_reduce_sum_gradients(list(zip(grads, variables)))
        tf.__internal__.distribute.interim.maybe_merge_call(
            self._distributed_accumulate, self._distribution_strategy, grads_and_vars)

    def _distributed_accumulate(self, distribution, grads_and_vars):
        for grad, var in grads_and_vars:
            if grad is not None:
                distribution.extended.update(var, self._accumulate_or_update, args=(grad,), group=False)
        if self.use_ema:  # every variable's average, those without a gradient too (as Keras)
            for var in self._trainable_variables:
                distribution.extended.update(var.value if isinstance(var, keras.Variable) else var,
                                             self._move_average, group=False)

    def _move_average(self, variable):
        """Keras' rule (the first update starts the average), on update batches only: on the
        others the momentum is 1 and the average stays as it is."""
        average = self._model_variables_moving_average[self._get_variable_index(variable)]
        if average is None:
            return
        dtype = average.dtype
        is_update = tf.equal((self._iterations + 1) % self.gradient_accumulation_steps, 0)
        momentum = tf.cast(tf.not_equal(self.iterations, 0), dtype) * tf.cast(self.ema_momentum, dtype)
        momentum = tf.where(is_update, momentum, tf.ones_like(momentum))
        self.assign(average, momentum * average + (1 - momentum) * tf.cast(variable, dtype))

    def _accumulate_or_update(self, variable, gradient):
        """Per variable and device (inside strategy.extended.update): add the gradient to its
        accumulator, or on every k-th batch apply the mean of the accumulated gradients."""
        k = self.gradient_accumulation_steps
        acc = self._accumulated_gradients[self._get_variable_index(variable)]
        if isinstance(gradient, tf.IndexedSlices):
            gradient = tf.convert_to_tensor(gradient)
        total = tf.convert_to_tensor(acc) + tf.cast(gradient, acc.dtype)

        def update():
            grad = self._clip_gradients([total / k])[0]
            self._decay_weights(variable)
            self.update_step(grad, variable, self.learning_rate)  # (update_step applies the factor)
            self.assign(acc, tf.zeros_like(total))

        tf.cond(tf.equal((self._iterations + 1) % k, 0), update, lambda: self.assign(acc, total))


@keras.saving.register_keras_serializable(package="kbert")
class AdamW(Accumulating, keras.optimizers.AdamW):
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
        learning_rate = self._scaled(variable, learning_rate)
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


@keras.saving.register_keras_serializable(package="kbert")
class Lamb(Accumulating, keras.optimizers.Lamb):
    """`keras.optimizers.Lamb` (same arguments, same numbers), with kbert's gradient
    accumulation under tf.distribute and schedules counted in updates (`Accumulating`).

    Keras' Lamb: Adam's moments, then each variable's step scaled by the trust ratio
    ‖w‖ / ‖update‖; weight decay is Keras' decoupled one (w ← w - lr·λ·w, before the
    update), with the exclusions of `exclude_from_weight_decay`.
    """

    def update_step(self, gradient, variable, learning_rate):
        return super().update_step(gradient, variable, self._scaled(variable, learning_rate))
