"""The CycleGAN paper's learning-rate schedule: constant, then linear to zero."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerasgen")
class ConstantThenLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """A learning rate that stays at its initial value, then falls linearly to zero.

    The rate is `initial_learning_rate` for the first `constant_steps` steps and
    reaches 0 after `decay_steps` more (CycleGAN: 100 epochs flat, 100 epochs of
    decay). Steps are optimizer iterations, one per `train_step`.

    Args:
        initial_learning_rate: the rate of the flat part.
        constant_steps: steps at the initial rate.
        decay_steps: steps of the linear decay.
        name: optional name.

    Example:
        >>> schedule = ConstantThenLinearDecay(2e-4, constant_steps=1000, decay_steps=1000)
        >>> float(schedule(1500))
        0.0001
    """

    def __init__(self, initial_learning_rate, constant_steps, decay_steps, name=None):
        super().__init__()
        if initial_learning_rate <= 0:
            raise ValueError(
                f"initial_learning_rate must be positive. Received: initial_learning_rate={initial_learning_rate}"
            )
        if constant_steps < 0 or decay_steps < 0:
            raise ValueError(
                "constant_steps and decay_steps must be non-negative. "
                f"Received: constant_steps={constant_steps}, decay_steps={decay_steps}"
            )
        self.initial_learning_rate = initial_learning_rate
        self.constant_steps = constant_steps
        self.decay_steps = decay_steps
        self.name = name

    def __call__(self, step):
        progress = (ops.cast(step, "float32") - self.constant_steps) / max(self.decay_steps, 1)
        return self.initial_learning_rate * (1.0 - ops.clip(progress, 0.0, 1.0))

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "constant_steps": self.constant_steps,
            "decay_steps": self.decay_steps,
            "name": self.name,
        }


def linear_decay_schedule(epochs, steps_per_epoch, learning_rate=2e-4, decay_epochs=None):
    """The paper's schedule for a run of `epochs` epochs: flat, then linear to zero over `decay_epochs`.

    Args:
        epochs: epochs of the whole run.
        steps_per_epoch: train steps per epoch.
        learning_rate: the initial rate (2e-4 in the paper).
        decay_epochs: epochs of decay at the end; None for half the run (rounded down).

    Returns:
        A `ConstantThenLinearDecay`; pass it to `CycleGAN.compile(learning_rate=...)`.

    Example:
        >>> model.compile(learning_rate=linear_decay_schedule(epochs=200, steps_per_epoch=1334))
    """
    decay_epochs = epochs // 2 if decay_epochs is None else decay_epochs
    if not 0 <= decay_epochs <= epochs:
        raise ValueError(f"decay_epochs must be in [0, epochs={epochs}]. Received: decay_epochs={decay_epochs}")
    return ConstantThenLinearDecay(
        learning_rate, (epochs - decay_epochs) * steps_per_epoch, decay_epochs * steps_per_epoch
    )
