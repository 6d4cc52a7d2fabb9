"""Optimizer helpers the families share: the card's description of an optimizer, and loss scaling.

Example:
    >>> optimizer_recipe(keras.optimizers.Adam(2e-4, beta_1=0.5))
    {'name': 'Adam', 'learning_rate': 0.0002, 'beta_1': 0.5, 'beta_2': 0.999, 'epsilon': 1e-07}
"""

import keras


def optimizer_recipe(optimizer, schedule=None):
    """An optimizer's settings as plain data for the card: name, learning rate (or `schedule`), betas, epsilon.

    Example:
        >>> optimizer_recipe(model.optimizer)
    """
    recipe = {"name": type(optimizer).__name__}
    config = optimizer.get_config()
    for key in ("learning_rate", "beta_1", "beta_2", "epsilon"):
        if key in config and not isinstance(config[key], dict):
            recipe[key] = round(float(config[key]), 10)
    if schedule is not None:
        recipe["learning_rate"] = schedule
    return recipe


def with_loss_scaling(optimizer, policy):
    """`optimizer` wrapped in a `keras.optimizers.LossScaleOptimizer` under the `mixed_float16` policy.

    What Keras's `compile` does for `optimizer=`, for the optimizers a model
    keeps itself. Under any other policy, or if it is already wrapped, the
    optimizer is returned as it is.

    Args:
        optimizer: a `keras.optimizers.Optimizer`.
        policy: the model's `keras.DTypePolicy` (`model.dtype_policy`).

    Example:
        >>> self.d_optimizer = with_loss_scaling(keras.optimizers.Adam(2e-4), self.dtype_policy)
    """
    if policy.name != "mixed_float16" or isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer)


def shared_loss_scale(optimizers, loss):
    """A loss shared by several networks, scaled for differentiation, and per optimizer a gradient factor.

    Without loss scaling: the loss itself and no factors (None each). With
    it (`mixed_float16`), the loss is scaled once, by the smallest of the
    optimizers' loss scales, so that an overflow in any network's gradients
    lowers the scale of the next backward pass; each optimizer's gradients
    must then be multiplied by its factor (its own scale over the smallest, a
    power of two, so exactly) before its `apply` divides them by its own
    scale and skips the update (halving its scale) if any is not finite.

    Example:
        >>> scaled, factors = shared_loss_scale((g_a2b_optimizer, g_b2a_optimizer), total)
    """
    from keras import ops

    if not any(isinstance(optimizer, keras.optimizers.LossScaleOptimizer) for optimizer in optimizers):
        return loss, (None,) * len(optimizers)
    scales = [ops.convert_to_tensor(optimizer.scale_loss(1.0), "float32") for optimizer in optimizers]
    shared = scales[0]
    for scale in scales[1:]:
        shared = ops.minimum(shared, scale)
    return loss * shared, tuple(scale / shared for scale in scales)
