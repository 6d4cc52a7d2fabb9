"""What a SavedModel of a CycleGAN serves: float, uint8 and PNG translators both ways (`translate_a2b` default)."""

from kerasgen.export.signatures import translators


def serving_functions(model):
    """`(networks, functions)`: both generators, and a `tf.function` per signature, `serving_default` first.

    Example:
        >>> networks, functions = serving_functions(kerasgen.zoo.load("cyclegan.digits"))
    """
    functions = {}
    for direction, network in (("a2b", model.generator_a2b), ("b2a", model.generator_b2a)):
        float_fn, uint8_fn, png_fn = translators(network, model.image_shape)
        functions[f"translate_{direction}"] = float_fn
        functions[f"translate_{direction}_uint8"] = uint8_fn
        functions[f"translate_{direction}_png"] = png_fn
    ordered = [f"translate_{direction}{kind}" for kind in ("", "_uint8", "_png") for direction in ("a2b", "b2a")]
    functions = {"serving_default": functions["translate_a2b"], **{name: functions[name] for name in ordered}}
    return (model.generator_a2b, model.generator_b2a), functions
