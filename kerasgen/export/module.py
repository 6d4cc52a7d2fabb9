"""The `tf.Module` a SavedModel is written from: a model's serving functions and the variables they read.

Only what serves is held: the networks a family needs at inference, never the
training wrapper, its discriminators, optimizers or image pools. The module
checks that no signature reads a variable outside those networks. A model with
image-bytes signatures also gets `max_request_pixels()`, a function that
returns their pixel budget (`kerasgen.export.image_guard`).

This module imports TensorFlow and the model's family only inside `serving_module`.

Example:
    >>> import tensorflow as tf
    >>> module, signatures = serving_module(kerasgen.zoo.load("vae.mnist"))
    >>> tf.saved_model.save(module, "/tmp/vae/1", signatures=signatures)
"""

from kerasgen.progress import progress


def serving_module(model, max_request_pixels=None):
    """A `tf.Module` with a `tf.function` per signature and the variables they read (of the serving networks only).

    Args:
        model: an AutoEncoder, VAE, GAN, CycleGAN or Classifier.
        max_request_pixels: the pixel budget of image-bytes signatures (`image_guard.request_budget`);
            None for `image_guard.DEFAULT_REQUEST_PIXELS`.

    Returns:
        `(module, signatures)`: `signatures` maps each signature name to a
        concrete function, ready for `tf.saved_model.save(module, path, signatures=signatures)`.

    Raises:
        RuntimeError: a signature reads a variable outside the serving networks.
        UserError: `max_request_pixels` is not a positive integer up to 2**40.

    Example:
        >>> module, signatures = serving_module(kerasgen.zoo.load("vae.mnist"))
        >>> sorted(signatures)
        ['decode', 'encode', 'reconstruct', 'sample', 'serving_default']
    """
    import tensorflow as tf

    from kerasgen.export.image_guard import request_budget

    with request_budget(max_request_pixels):
        networks, functions = model.serving_functions()
        traced = progress(functions.items(), "Tracing serving signatures", quiet_seconds=10)
        signatures = {key: function.get_concrete_function() for key, function in traced}
    # Track the tf.Variables the functions capture, not Keras's Variable wrappers: TF Serving's loader (like
    # `saved_model_cli run`) cannot find variables that reach the SavedModel only through those wrappers.
    captured = {id(variable): variable for function in signatures.values() for variable in function.variables}
    served = {id(variable.value) for network in networks for variable in network.variables}
    if not captured.keys() <= served:
        raise RuntimeError(f"A {type(model).__name__} signature reads variables outside its serving networks.")
    module = tf.Module()
    module.served_variables = list(captured.values())
    for key, function in functions.items():
        if key != "serving_default":
            setattr(module, key, function)
    budgets = {
        function.max_request_pixels for function in functions.values() if hasattr(function, "max_request_pixels")
    }
    if budgets:  # `saved_model_cli show --all` lists it; `tf.saved_model.load(path).max_request_pixels()` returns it
        budget = max(budgets)
        module.max_request_pixels = tf.function(lambda: tf.constant(budget, tf.int64), input_signature=[])
    return module, signatures
