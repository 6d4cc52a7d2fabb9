"""What a SavedModel of a GAN serves: `generate` (default) and `generate_seeded`, with `labels` if conditional."""

import numpy as np


def serving_functions(model):
    """What a SavedModel of a GAN serves: `generate` (default) and `generate_seeded`, with `labels` if conditional.

    Returns:
        `(networks, functions)`: the networks the SavedModel holds, and a `tf.function` per signature
        (`serving_default` first); see `kerasgen.export.serving_module`.
    """
    import tensorflow as tf

    from kerasgen.export.signatures import checked_labels, seeded_normal, spec

    network = model.sampling_generator
    latent_dim, num_classes = model.latent_dim, model.num_classes

    def images_of(latents, labels=None):
        inputs = latents if labels is None else [latents, checked_labels(labels, tf.shape(latents)[0], num_classes)]
        return (network(inputs, training=False) + 1.0) / 2.0

    latents_spec = spec((latent_dim,), tf.float32, "latents")
    seeds_spec = spec((), tf.int32, "seeds")
    if num_classes:
        labels_spec = spec((), tf.int32, "labels")

        @tf.function(input_signature=[latents_spec, labels_spec])
        def generate(latents, labels):
            return {"images": images_of(latents, labels)}

        @tf.function(input_signature=[seeds_spec, labels_spec])
        def generate_seeded(seeds, labels):
            latents = seeded_normal(seeds, latent_dim)
            return {"images": images_of(latents, labels), "latents": latents}

    else:

        @tf.function(input_signature=[latents_spec])
        def generate(latents):
            return {"images": images_of(latents)}

        @tf.function(input_signature=[seeds_spec])
        def generate_seeded(seeds):
            latents = seeded_normal(seeds, latent_dim)
            return {"images": images_of(latents), "latents": latents}

    return (network,), {"serving_default": generate, "generate": generate, "generate_seeded": generate_seeded}


def serving_counterpart(model, count, seed=0):
    """The network `serving_default` computes (`sampling_generator`) and `count` random latents (and labels).

    Example:
        >>> network, inputs = serving_counterpart(gan, 8)
    """
    rng = np.random.default_rng(seed)
    latents = rng.standard_normal((count, model.latent_dim), dtype=np.float32)
    if model.num_classes:
        return model.sampling_generator, [latents, rng.integers(0, model.num_classes, count).astype(np.int32)]
    return model.sampling_generator, latents
