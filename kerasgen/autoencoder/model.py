"""A deterministic autoencoder for images in [0, 1]."""

import math

import keras
import numpy as np
from keras import ops

from kerasgen.base import FamilyModel, ReconstructionSteps
from kerasgen.networks import OUTPUT_DTYPE, build_decoder, build_encoder_body

RECONSTRUCTION_LOSSES = ("binary_crossentropy", "squared_error")


@keras.saving.register_keras_serializable(package="kerasgen")
class AutoEncoder(ReconstructionSteps, FamilyModel):
    """Encoder to a `latent_dim` code and decoder back to the image.

    The code layer is linear, as in Hinton and Salakhutdinov (2006); the decoder
    ends in a sigmoid so reconstructions lie in [0, 1]. Losses are summed over
    pixels and averaged over the batch. Besides `loss`, training reports
    `squared_error`: the summed squared error per image, the figure that paper
    gives for MNIST.

    Under a distribution strategy, each dataset batch is the global batch:
    every replica scales its loss by the number of replicas before
    differentiating, so one step is a step on the mean over the global batch.

    Under a mixed dtype policy the networks compute in bfloat16 or float16;
    the code layer, the decoder's last layer and the losses stay float32.
    Under `mixed_float16`, `compile` wraps the optimizer in a
    `keras.optimizers.LossScaleOptimizer` (Keras does this for `optimizer=`),
    and `train_step` differentiates `optimizer.scale_loss(loss)` (the loss
    itself for any other optimizer).

    Args:
        image_shape: `(height, width, channels)` of the inputs.
        latent_dim: size of the code.
        architecture: `"dense"` (multilayer perceptron) or `"conv"`.
        hidden_units: widths of the dense layers, outermost first; the conv
            architecture uses the last one.
        filters: filters of the stride-2 convolutions (conv architecture only).
        reconstruction_loss: `"binary_crossentropy"` (on the decoder's logits) or
            `"squared_error"`, both summed over pixels.

    Example:
        >>> model = AutoEncoder(latent_dim=30)
        >>> model.compile(optimizer="adam")
        >>> images, _ = kerasgen.data.load_images("mnist", "train")
        >>> model.fit(kerasgen.data.make_dataset(images, 128), epochs=5)
        >>> codes = model.encode(images[:8] / 255)
    """

    def __init__(
        self,
        image_shape=(28, 28, 1),
        latent_dim=30,
        architecture="conv",
        hidden_units=(512,),
        filters=(32, 64),
        reconstruction_loss="binary_crossentropy",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if reconstruction_loss not in RECONSTRUCTION_LOSSES:
            raise ValueError(
                f"reconstruction_loss must be one of {RECONSTRUCTION_LOSSES}. "
                f"Received: reconstruction_loss={reconstruction_loss!r}"
            )
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be at least 1. Received: latent_dim={latent_dim}")
        self.image_shape = tuple(image_shape)
        self.latent_dim = latent_dim
        self.architecture = architecture
        self.hidden_units = tuple(hidden_units)
        self.filters = tuple(filters)
        self.reconstruction_loss = reconstruction_loss
        body = build_encoder_body(self.image_shape, architecture, self.hidden_units, self.filters, "encoder_body")
        code = keras.layers.Dense(latent_dim, name="code", dtype=OUTPUT_DTYPE)
        self.encoder = keras.Sequential([body, code], name="encoder")
        self.decoder = build_decoder(
            self.image_shape, latent_dim, architecture, self.hidden_units, self.filters, "decoder"
        )
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.squared_error_tracker = keras.metrics.Mean(name="squared_error")
        self.build((None, *self.image_shape))

    flops_passes = (("encoder", 0, 1), ("decoder", 0, 1))

    @property
    def metrics(self):
        return [self.loss_tracker, self.squared_error_tracker]

    def call(self, images, training=False):
        return ops.sigmoid(self.decoder(self.encoder(images, training=training), training=training))

    def encode(self, images):
        """Codes of shape (batch, latent_dim)."""
        return self.encoder(images, training=False)

    def decode(self, codes):
        """Images in [0, 1] from codes."""
        return ops.sigmoid(self.decoder(codes, training=False))

    def reconstruct(self, images):
        """Encode and decode; same as calling the model."""
        return self(images, training=False)

    def batch_losses(self, images, training):
        logits = self.decoder(self.encoder(images, training=training), training=training)
        reconstruction = ops.sigmoid(logits)
        squared_error = ops.sum(ops.square(images - reconstruction), axis=(1, 2, 3))
        if self.reconstruction_loss == "binary_crossentropy":
            per_pixel = ops.binary_crossentropy(images, logits, from_logits=True)
            loss = ops.sum(per_pixel, axis=(1, 2, 3))
        else:
            loss = squared_error
        return ops.mean(loss), ops.mean(squared_error)

    def get_config(self):
        config = super().get_config()
        config.update(
            image_shape=self.image_shape,
            latent_dim=self.latent_dim,
            architecture=self.architecture,
            hidden_units=self.hidden_units,
            filters=self.filters,
            reconstruction_loss=self.reconstruction_loss,
        )
        return config

    def preview(self, count=64, seed=0, images=None):
        """Pairs of rows: `images`, then their reconstructions."""
        columns = max(1, math.ceil(math.sqrt(count)))
        originals = np.asarray(images[: columns * max(1, count // (2 * columns))], dtype=np.float32)
        reconstructions = np.asarray(self.reconstruct(originals))
        rows = []
        for start in range(0, len(originals), columns):
            rows += [originals[start : start + columns], reconstructions[start : start + columns]]
        return np.concatenate(rows), columns

    def figures(self, card, samples=None, test_images=None):
        """`reconstruction_figures` on the card's test digits, PCA fitted on its training digits."""
        from kerasgen import data
        from kerasgen.autoencoder.figures import reconstruction_figures

        return reconstruction_figures(self, data.card_split(card, "train"), data.card_test_split(card, test_images)[0])

    def serving_functions(self):
        """What a SavedModel of an AutoEncoder serves: `reconstruct` (default), `encode`, `decode`.

        Returns:
            `(networks, functions)`: the networks the SavedModel holds, and a `tf.function` per signature
            (`serving_default` first); see `kerasgen.export.serving_module`.
        """
        import tensorflow as tf

        from kerasgen.export.signatures import spec

        encoder, decoder = self.encoder, self.decoder
        images_spec = spec(self.image_shape, tf.float32, "images")

        @tf.function(input_signature=[images_spec])
        def reconstruct(images):
            return {"images": tf.sigmoid(decoder(encoder(images, training=False), training=False))}

        @tf.function(input_signature=[images_spec])
        def encode(images):
            return {"latents": encoder(images, training=False)}

        @tf.function(input_signature=[spec((self.latent_dim,), tf.float32, "latents")])
        def decode(latents):
            return {"images": tf.sigmoid(decoder(latents, training=False))}

        functions = {"reconstruct": reconstruct, "encode": encode, "decode": decode}
        return (encoder, decoder), {"serving_default": reconstruct, **functions}
