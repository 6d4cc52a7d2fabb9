"""Divergence read from the model itself: is every floating-point variable finite?

A loss can stay finite while a weight is NaN: with TensorFlow's oneDNN kernels
on (the default on CPUs with AVX-512), a fused matmul, bias and ReLU turns a
NaN kernel into finite activations. So training, exports and the zoo check the
variables, not only the logs. The check is one fused reduction over all
variables; only when it fails are the variables read one by one, to name the
first bad one.
"""

import keras


def _named_float_variables(model, optimizers):
    """(name, variable) for every floating-point variable of `model` and, with `optimizers`, of its built optimizers."""
    named = [(variable.path, variable) for variable in model.variables]
    for attribute in sorted(vars(model)) if optimizers else ():
        optimizer = vars(model)[attribute]
        if isinstance(optimizer, keras.optimizers.Optimizer) and optimizer.built:
            named += [(f"{attribute}/{variable.path}", variable) for variable in optimizer.variables]
    return [(name, variable) for name, variable in named if "float" in str(variable.dtype)]


def _all_finite_function(variables):
    import tensorflow as tf

    @tf.function(autograph=False)
    def all_finite():
        return tf.reduce_all(tf.stack([tf.reduce_all(tf.math.is_finite(variable.value)) for variable in variables]))

    return all_finite


def first_non_finite(model, optimizers=True):
    """The name of the first variable of `model` (weights, optimizer slots, EMA copies,
    batch-norm statistics, image pools) holding a NaN or an infinity, or None.

    Args:
        model: a Keras model.
        optimizers: also check the variables of the model's built optimizers
            (`optimizer`, `d_optimizer`, ...), named `ATTRIBUTE/PATH`.

    The first check of a model (loading, exporting) reads the variables
    eagerly; from the second on (training), a traced check cached on the
    model costs one fused reduction each. Tracing on every load would cost
    more than it saves, and TensorFlow warns about retracing once a few
    models have been loaded.

    Example:
        >>> bad = first_non_finite(model)
        >>> if bad: raise RuntimeError(f"{bad} is not finite")
    """
    named = _named_float_variables(model, optimizers)
    if not named:
        return None
    key = tuple(id(variable) for _, variable in named)
    checks = getattr(model, "_kerasgen_finite_checks", None)
    if checks is None:
        checks = {}
        object.__setattr__(model, "_kerasgen_finite_checks", checks)
    if key in checks:  # a repeated check: one traced, fused reduction
        checks[key] = checks[key] or _all_finite_function([variable for _, variable in named])
        if bool(checks[key]()):
            return None
    else:  # a one-off check reads the variables eagerly below
        checks[key] = None
    import numpy as np

    for name, variable in named:
        if not np.isfinite(keras.ops.convert_to_numpy(variable)).all():
            return name
    return None
