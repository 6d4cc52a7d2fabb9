"""The variational autoencoder of Kingma and Welling (2014), with beta."""

import keras
import numpy as np
from keras import ops

from kerasgen.base import FamilyModel, ReconstructionSteps, sample_grid
from kerasgen.distribute import draw_for_replica_batch
from kerasgen.errors import UserError
from kerasgen.networks import OUTPUT_DTYPE, build_decoder, build_encoder_body


def kl_to_unit_gaussian(mean, log_var):
    """KL(N(mean, exp(log_var)) || N(0, I)) per row, in nats.

    Example:
        >>> kl_to_unit_gaussian(ops.ones((1, 2)), ops.zeros((1, 2)))  # 0.5 per dimension
        [1.0]
    """
    return -0.5 * ops.sum(1 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1)


@keras.saving.register_keras_serializable(package="kerasgen")
class Sampling(keras.layers.Layer):
    """Draws `z = mean + exp(log_var / 2) * epsilon`, the reparameterization trick.

    Under a distribution strategy each replica takes its rows of one draw for
    the global batch, so replicas draw different noise.

    Args:
        seed: seed of the layer's `keras.random.SeedGenerator`.

    Example:
        >>> z = Sampling(seed=0)([mean, log_var])
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        mean, log_var = inputs
        epsilon = draw_for_replica_batch(
            lambda shape: keras.random.normal(shape, seed=self.seed_generator), ops.shape(mean)
        )
        return mean + ops.exp(0.5 * log_var) * epsilon

    def get_config(self):
        config = super().get_config()
        config.update(seed=self.seed)
        return config


@keras.saving.register_keras_serializable(package="kerasgen")
class VAE(ReconstructionSteps, FamilyModel):
    """Gaussian encoder, Bernoulli decoder, unit Gaussian prior.

    The loss per image is the reconstruction term (binary cross-entropy summed
    over pixels, i.e. -log p(x|z) in nats) plus `beta` times the KL divergence
    of q(z|x) from the prior; beta=1 is the evidence lower bound of Kingma and
    Welling, other values give a beta-VAE (Higgins et al. 2017). With
    `binarize=True` each training batch is binarized afresh (pixel ~
    Bernoulli(intensity)), the usual protocol for likelihoods on MNIST.

    Under a distribution strategy, each dataset batch is the global batch:
    replicas scale their losses by the number of replicas (so the summed
    gradient is that of the global batch's mean) and cut their sampling and
    binarization noise from one draw for the global batch
    (`kerasgen.distribute.draw_for_replica_batch`): different noise on each
    replica, the same noise as with one device for the same seed.

    Under a mixed dtype policy the networks compute in bfloat16 or float16;
    the mean and log-variance layers, the sampling, the decoder's last layer,
    the KL term and the losses stay float32. Under `mixed_float16`, `compile`
    wraps the optimizer in a `keras.optimizers.LossScaleOptimizer` (Keras does
    this for `optimizer=`), and `train_step` differentiates
    `optimizer.scale_loss(loss)` (the loss itself for any other optimizer).

    Args:
        image_shape: `(height, width, channels)`, values in [0, 1].
        latent_dim: size of z.
        architecture: `"dense"` or `"conv"`.
        hidden_units: dense widths, outermost first (conv uses the last one).
        filters: filters of the stride-2 convolutions (conv only).
        beta: weight of the KL term.
        binarize: binarize inputs stochastically in `train_step`/`test_step`.
        seed: seed for sampling and binarization.

    Example:
        >>> model = VAE(latent_dim=16)
        >>> model.compile(optimizer="adam")
        >>> images, _ = kerasgen.data.load_images("mnist", "train")
        >>> model.fit(kerasgen.data.make_dataset(images, 128), epochs=5)
        >>> digits = model.sample(16, seed=0)
    """

    def __init__(
        self,
        image_shape=(28, 28, 1),
        latent_dim=32,
        architecture="conv",
        hidden_units=(512,),
        filters=(32, 64),
        beta=1.0,
        binarize=True,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be at least 1. Received: latent_dim={latent_dim}")
        if beta < 0:
            raise ValueError(f"beta must be non-negative. Received: beta={beta}")
        self.image_shape = tuple(image_shape)
        self.latent_dim = latent_dim
        self.architecture = architecture
        self.hidden_units = tuple(hidden_units)
        self.filters = tuple(filters)
        self.beta = beta
        self.binarize = binarize
        self.seed = seed
        images = keras.Input(shape=self.image_shape)
        body = build_encoder_body(self.image_shape, architecture, self.hidden_units, self.filters, "encoder_body")
        features = body(images)
        mean = keras.layers.Dense(latent_dim, name="mean", dtype=OUTPUT_DTYPE)(features)
        log_var = keras.layers.Dense(latent_dim, name="log_var", dtype=OUTPUT_DTYPE)(features)
        self.encoder = keras.Model(images, [mean, log_var], name="encoder")
        self.decoder = build_decoder(
            self.image_shape, latent_dim, architecture, self.hidden_units, self.filters, "decoder"
        )
        self.sampler = Sampling(seed=seed, name="sampling", dtype=OUTPUT_DTYPE)
        self.seed_generator = keras.random.SeedGenerator(None if seed is None else seed + 1)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")
        self.build((None, *self.image_shape))

    flops_passes = (("encoder", 0, 1), ("decoder", 0, 1))
    figure_options = ("samples", "test_images")

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    def call(self, images, training=False):
        mean, _ = self.encoder(images, training=training)
        return ops.sigmoid(self.decoder(mean, training=training))

    def encode(self, images):
        """`(mean, log_var)` of q(z|x), each (batch, latent_dim)."""
        return self.encoder(images, training=False)

    def decode(self, latents):
        """Bernoulli means (pixel intensities in [0, 1]) of p(x|z)."""
        return ops.sigmoid(self.decoder(latents, training=False))

    def sample(self, count, seed=None):
        """Decode `count` draws from the prior; `seed` makes them repeatable."""
        latents = keras.random.normal((count, self.latent_dim), seed=seed)
        return self.decode(latents)

    def reconstruct(self, images):
        """Decode the posterior mean of each image."""
        return self(images, training=False)

    def batch_losses(self, images, training):
        if self.binarize:
            noise = draw_for_replica_batch(
                lambda shape: keras.random.uniform(shape, seed=self.seed_generator), ops.shape(images)
            )
            images = ops.cast(noise < images, images.dtype)
        mean, log_var = self.encoder(images, training=training)
        logits = self.decoder(self.sampler([mean, log_var]), training=training)
        reconstruction = ops.sum(ops.binary_crossentropy(images, logits, from_logits=True), axis=(1, 2, 3))
        kl = kl_to_unit_gaussian(mean, log_var)
        reconstruction, kl = ops.mean(reconstruction), ops.mean(kl)
        return reconstruction + self.beta * kl, reconstruction, kl

    def get_config(self):
        config = super().get_config()
        config.update(
            image_shape=self.image_shape,
            latent_dim=self.latent_dim,
            architecture=self.architecture,
            hidden_units=self.hidden_units,
            filters=self.filters,
            beta=self.beta,
            binarize=self.binarize,
            seed=self.seed,
        )
        return config

    def preview(self, count=64, seed=0, images=None):
        """`count` samples from a fixed seed."""
        return sample_grid(self, count, seed)

    def manifold(self, steps=20):
        """Decode a `steps` x `steps` grid of a 2-d latent space, spaced by Gaussian quantiles.

        Example:
            >>> save_grid(kerasgen.zoo.load("vae2d.mnist").manifold(), "manifold.png", columns=20)
        """
        from statistics import NormalDist

        if self.latent_dim != 2:
            raise UserError(f"A latent manifold needs a 2-d latent space; this model's has {self.latent_dim}.")
        quantiles = [NormalDist().inv_cdf((index + 0.5) / steps) for index in range(steps)]
        latents = np.array([(x, y) for y in reversed(quantiles) for x in quantiles], dtype=np.float32)
        return np.asarray(self.decode(latents))

    def figures(self, card, samples=500, test_images=None):
        """`kerasgen.vae.figures.vae_figures` on the card's test digits, with `samples` importance samples."""
        from kerasgen import data
        from kerasgen.vae.figures import vae_figures

        return vae_figures(self, data.card_test_split(card, test_images)[0], samples=samples)

    def validation_figure(self, data_card):
        """`kerasgen.vae.figures.validation_iwae`: the IWAE bound on a fixed subset of validation digits."""
        from kerasgen.vae.figures import validation_iwae

        return validation_iwae(self, data_card)

    def serving_counterpart(self, count, seed=0):
        """The network `serving_default` computes (the decoder) and `count` random latents for it."""
        rng = np.random.default_rng(seed)
        return self.decoder, rng.standard_normal((count, self.latent_dim), dtype=np.float32)

    def serving_functions(self):
        """What a SavedModel of a VAE serves: `decode` (default), `encode`, `reconstruct`, `sample`.

        Returns:
            `(networks, functions)`: the networks the SavedModel holds, and a `tf.function` per signature
            (`serving_default` first); see `kerasgen.export.serving_module`.
        """
        import tensorflow as tf

        from kerasgen.export.signatures import seeded_normal, spec

        encoder, decoder, latent_dim = self.encoder, self.decoder, self.latent_dim
        images_spec = spec(self.image_shape, tf.float32, "images")

        @tf.function(input_signature=[spec((latent_dim,), tf.float32, "latents")])
        def decode(latents):
            return {"images": tf.sigmoid(decoder(latents, training=False))}

        @tf.function(input_signature=[images_spec])
        def encode(images):
            mean, log_var = encoder(images, training=False)
            return {"mean": mean, "log_var": log_var}

        @tf.function(input_signature=[images_spec])
        def reconstruct(images):
            mean, _ = encoder(images, training=False)
            return {"images": tf.sigmoid(decoder(mean, training=False))}

        @tf.function(input_signature=[spec((), tf.int32, "seeds")])
        def sample(seeds):
            latents = seeded_normal(seeds, latent_dim)
            return {"images": tf.sigmoid(decoder(latents, training=False)), "latents": latents}

        functions = {"decode": decode, "encode": encode, "reconstruct": reconstruct, "sample": sample}
        return (encoder, decoder), {"serving_default": decode, **functions}
