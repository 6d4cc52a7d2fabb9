"""Floating-point work per training step: the TF profiler's count and an analytic count.

Profiler: the float operations TensorFlow's profiler (`model_analyzer.profile`
with `ProfileOptionBuilder.float_operation()`) counts in the graph of one
`train_step`, traced without XLA at the batch's exact shape. It counts every op
with registered statistics (convolutions, their gradients, matrix products and
elementwise arithmetic) before Grappler prunes gradients nobody uses.

Analytic: convolutions, transposed convolutions and dense layers only. A
forward pass of a convolution costs `2 * H_out * W_out * K_h * K_w * C_in * C_out`
per image (a transposed one `2 * H_in * W_in * K_h * K_w * C_in * C_out`, a
dense layer `2 * units_in * units_out`). A pass recorded on a gradient tape
costs three times its forward work (forward, gradient to the inputs, gradient
to the weights); a pass outside any tape once. How many passes a train step
makes of each network is its model class's `flops_passes` (`kerasgen.base.FamilyModel`).
"""

BACKWARD_FACTOR = 3  # forward + gradient to the inputs + gradient to the weights


def conv_flops(output_height, output_width, kernel_height, kernel_width, in_channels, out_channels, groups=1):
    """Forward FLOPs (multiply and add counted apart) of a 2-D convolution for one image.

    Example:
        >>> conv_flops(4, 4, 3, 3, 2, 5)
        2880
    """
    return 2 * output_height * output_width * kernel_height * kernel_width * (in_channels // groups) * out_channels


def _shape(layer, attribute):
    """A layer's input or output shape from its first call in a functional graph; None if it has none."""
    try:
        return tuple(getattr(layer, attribute).shape)
    except (AttributeError, ValueError):
        nodes = getattr(layer, "_inbound_nodes", [])
        if not nodes:
            return None
        tensors = nodes[0].output_tensors if attribute == "output" else nodes[0].input_tensors
        return tuple(tensors[0].shape) if tensors else None


def layer_flops(layer):
    """Forward FLOPs of one layer for one image: convolutions, transposed convolutions and dense layers.

    Nested models are summed over their layers; other layers count 0.

    Raises:
        ValueError: a convolution whose output shape is unknown (never called).
    """
    import keras

    if isinstance(layer, keras.Model):
        return sum(layer_flops(inner) for inner in layer.layers)
    if isinstance(layer, keras.layers.Conv2DTranspose):
        shape = _shape(layer, "input")
        if shape is None:
            raise ValueError(f"Layer {layer.name} has no known input shape.")
        kernel_height, kernel_width, out_channels, in_channels = layer.kernel.shape
        return conv_flops(shape[1], shape[2], kernel_height, kernel_width, in_channels, out_channels)
    if isinstance(layer, keras.layers.Conv2D):
        shape = _shape(layer, "output")
        if shape is None:
            raise ValueError(f"Layer {layer.name} has no known output shape.")
        kernel_height, kernel_width, group_in_channels, out_channels = layer.kernel.shape
        return conv_flops(shape[1], shape[2], kernel_height, kernel_width, group_in_channels, out_channels)
    if isinstance(layer, keras.layers.Dense):
        positions = 1
        shape = _shape(layer, "output")
        if shape is not None and len(shape) > 2:
            for side in shape[1:-1]:
                positions *= side
        return 2 * positions * layer.kernel.shape[0] * layer.kernel.shape[1]
    return 0


def analytic_train_flops(model, batch_size):
    """Analytic FLOPs of one training step of a kerasgen model (see the module's docstring).

    Returns:
        A dict: `total` and, per network, its forward FLOPs per image.
    """
    passes = type(model).flops_passes
    if not passes:
        raise ValueError(f"No pass count for {type(model).__name__}: its family has no flops_passes.")
    total, per_network = 0, {}
    for attribute, plain, taped in passes:
        forward = layer_flops(getattr(model, attribute))
        per_network[attribute] = forward
        total += batch_size * forward * (plain + BACKWARD_FACTOR * taped)
    return {"total": total, "forward_per_image": per_network}


def profiler_flops(function, *specs):
    """Float operations the TF profiler counts in the graph of `function` traced on `specs` (no XLA).

    Example:
        >>> profiler_flops(lambda x: tf.matmul(x, x), tf.TensorSpec((4, 4)))
        128
    """
    import tensorflow as tf
    from tensorflow.python.profiler import model_analyzer, option_builder

    graph = tf.function(function).get_concrete_function(*specs).graph
    options = (
        option_builder.ProfileOptionBuilder(option_builder.ProfileOptionBuilder.float_operation())
        .with_empty_output()
        .build()
    )
    return model_analyzer.profile(graph, options=options).total_float_ops


def batch_specs(batch):
    """TensorSpecs of a batch's tensors, with their exact shapes (the profiler needs static shapes)."""
    import tensorflow as tf

    return tf.nest.map_structure(lambda tensor: tf.TensorSpec(tensor.shape, tensor.dtype), batch)


def measure_case(case, batch):
    """Profiler and analytic FLOPs per training step of a freshly built case (float32, no XLA).

    Args:
        case: a `benchmarks.cases.Case`.
        batch: one batch of its pipeline.

    Returns:
        A dict with `case`, `profiler`, `analytic`, `forward_per_image`; an
        `error` key for a part that failed.
    """
    import keras

    keras.utils.set_random_seed(0)
    model = case.build()
    case.compile(model, False)
    row = {"case": case.name}
    try:
        row["profiler"] = profiler_flops(model.train_step, batch_specs(batch))
    except Exception as error:  # the analytic count may still work
        row["error"] = f"profiler: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    try:
        analytic = analytic_train_flops(model, case.batch_size)
        row["analytic"] = analytic["total"]
        row["forward_per_image"] = analytic["forward_per_image"]
    except Exception as error:
        row["error"] = f"{row.get('error', '')} analytic: {type(error).__name__}: {error}".strip()
    del model
    keras.backend.clear_session()
    return row
