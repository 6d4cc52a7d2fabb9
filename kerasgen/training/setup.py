"""Setting a run up: its checks, its model, its seeds, dtype policy and distribution strategy.

Example:
    >>> strategy = start_run(seed=0, mixed_precision=True)  # mixed_bfloat16 on a CPU
    >>> model = build_model(kerasgen.families.get("vae"), {"latent_dim": 2})
"""

import re

import keras

from kerasgen import distribute
from kerasgen.errors import UserError, first_line


def check_schedule(epochs, batch_size):
    for option, value in (("epochs", epochs), ("batch_size", batch_size)):
        if value < 1:
            raise UserError(f"{option} must be at least 1. Received: {option}={value}")


def check_replica_batch(batch_size, strategy):
    """The global batch must split evenly over the replicas (losses are scaled by their number)."""
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise UserError(
            f"--batch-size {batch_size} does not split evenly over {replicas} replicas; use a multiple of {replicas}."
        )


def build_model(family, config, options=()):
    """A fresh model of `family` from hyperparameters; the model's own ValueError (bad hyperparameters)
    becomes a one-line UserError that names the run's `options` as flags (`as_flags`)."""
    try:
        return family.model_class()(**config)
    except (ValueError, TypeError) as error:
        raise UserError(as_flags(error, options)) from None


def as_flags(error, options):
    """The first line of `error`'s message, each of `options` in it with an underscore written as the flag
    that sets it. Names without one (`epochs`, `loss`) stay as they are: they are also words.

    Example:
        >>> as_flags(ValueError("decay_epochs must be in [0, epochs=1]."), {"decay_epochs", "epochs"})
        '--decay-epochs must be in [0, epochs=1].'
    """
    line = first_line(error)
    names = sorted((name for name in options if "_" in name), key=len, reverse=True)
    if not names:
        return line
    pattern = r"(?<![\w\-])(" + "|".join(map(re.escape, names)) + r")(?!\w)"
    return re.sub(pattern, lambda match: "--" + match[1].replace("_", "-"), line)


def precision_policy(mixed_precision):
    """The Keras dtype policy for a run: `float32`, or `mixed_float16` on a GPU and `mixed_bfloat16` otherwise.

    Example:
        >>> keras.mixed_precision.set_global_policy(precision_policy(True))
    """
    if not mixed_precision:
        return "float32"
    import tensorflow as tf

    return "mixed_float16" if tf.config.list_physical_devices("GPU") else "mixed_bfloat16"


def start_run(seed, deterministic=False, strategy="default", mixed_precision=False):
    """Seed Python, NumPy and TensorFlow, set the dtype policy, optionally make ops deterministic.

    Returns the tf.distribute strategy.
    """
    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_global_policy(precision_policy(mixed_precision))
    if deterministic:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    return distribute.make_strategy(strategy) if isinstance(strategy, str) else strategy
