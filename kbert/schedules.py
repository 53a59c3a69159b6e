"""Learning-rate schedules as `keras.optimizers.schedules.LearningRateSchedule`s.

They work with any Keras optimizer and plain `model.fit`:

    opt = keras.optimizers.AdamW(learning_rate=kbert.schedules.OneCycle(1e-4, total_steps=1500))

Each schedule also gives the momentum that goes with its learning rate (`momentum(step,
max_momentum, min_momentum)`: high when the rate is low), which
`kbert.callbacks.CycleMomentum` applies. Keras' own `CosineDecayRestarts` (SGDR) and
`ExponentialDecay` (the LR finder's ramp) are used as they are.
"""

import math

import keras
from keras import ops

LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule
register = keras.saving.register_keras_serializable(package="kbert")


def _f(x):
    return ops.cast(x, "float32")


class _Cyclic(LearningRateSchedule):
    """Base: lr = low + (high - low) · position, with position ∈ [0, 1] per step."""

    def position(self, step):  # pragma: no cover - abstract
        raise NotImplementedError

    def momentum(self, step, max_momentum=0.95, min_momentum=0.85):
        """Momentum (Adam's beta_1) cycled against the learning rate."""
        return float(max_momentum - (max_momentum - min_momentum) * float(self.position(step)))


@register
class OneCycle(_Cyclic):
    """Smith's one-cycle policy, with PyTorch's `OneCycleLR` defaults.

    The rate rises from max_lr/div_factor to max_lr over the first pct_start of the
    steps, then anneals to max_lr/(div_factor·final_div_factor) (cosine or linear).
    """

    def __init__(self, max_lr, total_steps, pct_start=0.3, div_factor=25.0,
                 final_div_factor=1e4, anneal="cos", name="OneCycle"):
        if total_steps < 1:
            raise ValueError(f"total_steps must be at least 1, got {total_steps}.")
        if not 0.0 <= pct_start < 1.0:
            raise ValueError(f"pct_start must be in [0, 1), got {pct_start}.")
        if anneal not in ("cos", "linear"):
            raise ValueError(f'anneal must be "cos" or "linear", got {anneal!r}.')
        self.max_lr = float(max_lr)
        self.total_steps = int(total_steps)
        self.pct_start = float(pct_start)
        self.div_factor = float(div_factor)
        self.final_div_factor = float(final_div_factor)
        self.anneal = anneal
        self.name = name
        self.initial_lr = self.max_lr / self.div_factor
        self.final_lr = self.initial_lr / self.final_div_factor
        self.warmup_steps = max(1, int(round(self.pct_start * self.total_steps))) if pct_start > 0 else 0

    def _shape(self, t):
        # t in [0, 1] → rise in [0, 1]
        if self.anneal == "cos":
            return 0.5 * (1.0 - ops.cos(math.pi * t))
        return t

    def position(self, step):
        step = _f(step)
        warm = float(self.warmup_steps)
        rest = float(max(1, self.total_steps - self.warmup_steps))
        up = self._shape(ops.clip(step / max(warm, 1.0), 0.0, 1.0))
        down = 1.0 - self._shape(ops.clip((step - warm) / rest, 0.0, 1.0))
        return ops.where(step < warm, up, down)

    def __call__(self, step):
        pos = self.position(step)
        low = ops.where(_f(step) < float(self.warmup_steps), self.initial_lr, self.final_lr)
        return low + (self.max_lr - low) * pos

    def get_config(self):
        return {"max_lr": self.max_lr, "total_steps": self.total_steps, "pct_start": self.pct_start,
                "div_factor": self.div_factor, "final_div_factor": self.final_div_factor,
                "anneal": self.anneal, "name": self.name}


@register
class Triangular(_Cyclic):
    """Cyclical learning rate, triangular policy (Smith 2017; ktrain's `autofit`).

    One cycle is 2·step_size steps: base_lr → max_lr → base_lr, repeated.
    """

    def __init__(self, base_lr, max_lr, step_size, name="Triangular"):
        if step_size < 1:
            raise ValueError(f"step_size must be at least 1, got {step_size}.")
        self.base_lr = float(base_lr)
        self.max_lr = float(max_lr)
        self.step_size = int(step_size)
        self.name = name

    def position(self, step):
        x = _f(step) / float(self.step_size)
        cycle = ops.floor(1.0 + x / 2.0)
        return ops.maximum(0.0, 1.0 - ops.abs(x - 2.0 * cycle + 1.0))

    def __call__(self, step):
        return self.base_lr + (self.max_lr - self.base_lr) * self.position(step)

    def get_config(self):
        return {"base_lr": self.base_lr, "max_lr": self.max_lr, "step_size": self.step_size,
                "name": self.name}


@register
class WarmupDecay(_Cyclic):
    """Linear warm-up from 0 to lr, then linear decay to end_lr (BERT / Hugging Face)."""

    def __init__(self, lr, total_steps, warmup_steps=0, end_lr=0.0, name="WarmupDecay"):
        if total_steps < 1 or not 0 <= warmup_steps <= total_steps:
            raise ValueError(f"Need 0 <= warmup_steps <= total_steps and total_steps >= 1, got "
                             f"warmup_steps={warmup_steps}, total_steps={total_steps}.")
        self.lr = float(lr)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.end_lr = float(end_lr)
        self.name = name

    def position(self, step):
        step = _f(step)
        up = step / float(max(1, self.warmup_steps))
        down = 1.0 - (step - self.warmup_steps) / float(max(1, self.total_steps - self.warmup_steps))
        return ops.clip(ops.where(step < self.warmup_steps, up, down), 0.0, 1.0)

    def __call__(self, step):
        pos = self.position(step)
        low = ops.where(_f(step) < float(self.warmup_steps), 0.0, self.end_lr)
        return low + (self.lr - low) * pos

    def get_config(self):
        return {"lr": self.lr, "total_steps": self.total_steps, "warmup_steps": self.warmup_steps,
                "end_lr": self.end_lr, "name": self.name}


@register
class Scaled(LearningRateSchedule):
    """Another schedule times a factor that callbacks can change during training.

    Used by `autofit(reduce_on_plateau=...)`: the factor is a Keras variable, so a change
    takes effect in the already compiled training step.
    """

    def __init__(self, schedule, scale=1.0):
        if isinstance(schedule, dict):
            schedule = keras.saving.deserialize_keras_object(schedule)
        self.schedule = schedule
        self.scale = keras.Variable(float(scale), trainable=False, dtype="float32", name="lr_scale")

    def __call__(self, step):
        return self.schedule(step) * ops.convert_to_tensor(self.scale)

    def momentum(self, step, max_momentum=0.95, min_momentum=0.85):
        return self.schedule.momentum(step, max_momentum, min_momentum)

    def get_config(self):
        return {"schedule": keras.saving.serialize_keras_object(self.schedule),
                "scale": float(ops.convert_to_numpy(self.scale))}


def value(schedule, step):
    """The learning rate of a schedule (or a plain float) at a step, as a Python float."""
    if isinstance(schedule, LearningRateSchedule):
        return float(ops.convert_to_numpy(schedule(step)))
    return float(schedule)
