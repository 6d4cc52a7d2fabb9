"""The VAE's figures: held-out negative ELBO and importance-weighted NLL (Burda et al. 2016), in nats.

Test digits are binarized once with a fixed seed. The k importance samples
are taken in chunks (log-sum-exp accumulated over chunks), so memory does not
grow with k.

Example:
    >>> from kerasgen.vae.figures import vae_figures
    >>> vae_figures(kerasgen.zoo.load("vae.mnist"), test, samples=100)["iwae_nll"]
"""

import math

import numpy as np

from kerasgen.progress import Progress

BINARIZATION_SEED = 0
IMPORTANCE_CHUNK = 50
"""Importance samples per pass of the likelihood estimate (times `batch_size` images decoded at once)."""


def binarize(images, seed=BINARIZATION_SEED):
    """Fixed stochastic binarization: pixel ~ Bernoulli(intensity), numpy seed `seed`."""
    return (np.random.default_rng(seed).random(images.shape) < images).astype(np.float32)


def vae_figures(model, test, samples=500, batch_size=20, chunk_size=IMPORTANCE_CHUNK, seed=0):
    """Negative ELBO and importance-weighted NLL (k = `samples`) in nats per image.

    The k importance samples of each image are taken `chunk_size` at a time
    and their log-mean-exp is accumulated over the chunks, so at most
    `chunk_size * batch_size` decodings are held at once, whatever k is:
    k = 5,000 needs no more memory than k = 50. The noise is one draw per
    batch of images, so the result does not depend on `chunk_size`.

    Args:
        model: a `kerasgen.vae.VAE`.
        test: float images in [0, 1] (binarized here, once, with a fixed seed).
        samples: k, importance samples per image (1 gives the ELBO).
        batch_size: images per pass.
        chunk_size: importance samples per pass.
        seed: seed of the importance samples.

    Returns:
        A dict with `negative_elbo`, `iwae_nll` (nats), `importance_samples`,
        `test_images` and the binarization.

    Example:
        >>> vae_figures(model, test, samples=5000)["iwae_nll"]
    """
    import tensorflow as tf

    for name, value in (("samples", samples), ("batch_size", batch_size), ("chunk_size", chunk_size)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1. Received: {name}={value}")
    targets = binarize(test)
    generator = tf.random.Generator.from_seed(seed)
    half_log_two_pi = 0.5 * math.log(2 * math.pi)

    @tf.function(jit_compile=True)
    def chunk_log_weights(images, noise):
        mean, log_var = model.encoder(images, training=False)
        latents = mean + tf.exp(0.5 * log_var) * noise
        flat = tf.reshape(latents, (-1, model.latent_dim))
        logits = tf.reshape(model.decoder(flat, training=False), (tf.shape(noise)[0], -1, *model.image_shape))
        log_likelihood = -tf.reduce_sum(
            tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.broadcast_to(images, tf.shape(logits)), logits=logits),
            axis=(2, 3, 4),
        )
        log_prior = tf.reduce_sum(-0.5 * tf.square(latents) - half_log_two_pi, axis=-1)
        log_posterior = tf.reduce_sum(-0.5 * tf.square(noise) - half_log_two_pi - 0.5 * log_var, axis=-1)
        return log_likelihood + log_prior - log_posterior

    log_mean_weights, mean_log_weights = [], []
    with Progress(len(targets), f"IWAE NLL, k = {samples}, test images") as bar:
        for start in range(0, len(targets), batch_size):
            images = tf.constant(targets[start : start + batch_size])
            noise = generator.normal((samples, len(images), model.latent_dim))
            peak = np.full(len(images), -np.inf)
            total = np.zeros(len(images))  # sum of exp(log weight - peak)
            log_weight_sum = np.zeros(len(images))
            for first in range(0, samples, chunk_size):
                chunk = chunk_log_weights(images, noise[first : first + chunk_size]).numpy().astype(np.float64)
                new_peak = np.maximum(peak, chunk.max(axis=0))
                total = total * np.exp(peak - new_peak) + np.sum(np.exp(chunk - new_peak), axis=0)
                peak = new_peak
                log_weight_sum += chunk.sum(axis=0)
            log_mean_weights.append(peak + np.log(total) - math.log(samples))
            mean_log_weights.append(log_weight_sum / samples)
            bar.update(len(images))
    return {
        "negative_elbo": round(float(-np.mean(np.concatenate(mean_log_weights))), 2),
        "iwae_nll": round(float(-np.mean(np.concatenate(log_mean_weights))), 2),
        "importance_samples": samples,
        "test_images": len(test),
        "binarization": f"stochastic, pixel ~ Bernoulli(intensity), numpy default_rng({BINARIZATION_SEED}), drawn once",
    }


VALIDATION_IMAGES = 1_000
VALIDATION_SAMPLES = 20


def validation_iwae(model, data_card, count=VALIDATION_IMAGES, samples=VALIDATION_SAMPLES):
    """The VAE's `ValidationFigure`: the IWAE NLL bound (k = `samples`) on the first `count` validation digits.

    The digits are binarized once, as the test digits are; k is smaller than
    the test figure's so that a measurement costs seconds, which makes the
    bound looser but ranks epochs the same way.

    Example:
        >>> validation_iwae(vae, {"dataset": "mnist", "image_size": 28}).measure()
    """
    from kerasgen import data
    from kerasgen.base import ValidationFigure

    validation = data.card_split({"data": data_card}, "validation")[:count]

    def measure():
        return vae_figures(model, validation, samples=samples)["iwae_nll"]

    definition = f"IWAE NLL bound (k = {samples}), nats, on the first {len(validation)} validation digits"
    return ValidationFigure("validation_iwae_nll", True, measure, definition)
