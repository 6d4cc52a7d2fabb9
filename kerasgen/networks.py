"""Encoder and decoder networks shared by the AutoEncoder and the VAE.

`architecture="dense"` is a multilayer perceptron (Hinton and Salakhutdinov
2006 use 1000-500-250 units); `architecture="conv"` is a strided convolutional
network, one stride-2 layer per entry of `filters`, so image sides must be
divisible by 2 ** len(filters).
"""

import math

import keras

ARCHITECTURES = ("dense", "conv")


def check_architecture(architecture, image_shape, filters):
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}. Received: architecture={architecture!r}")
    factor = 2 ** len(filters)
    if architecture == "conv" and (image_shape[0] % factor or image_shape[1] % factor):
        raise ValueError(
            f"The conv architecture with {len(filters)} stride-2 layers needs image sides divisible by {factor}. "
            f"Received: image_shape={tuple(image_shape)}"
        )


def build_encoder_body(image_shape, architecture, hidden_units, filters, name):
    """Image -> feature vector (the part before the latent projection)."""
    check_architecture(architecture, image_shape, filters)
    layers = [keras.Input(shape=image_shape)]
    if architecture == "dense":
        layers.append(keras.layers.Flatten())
        layers += [keras.layers.Dense(units, activation="relu") for units in hidden_units]
    else:
        layers += [keras.layers.Conv2D(f, 4, strides=2, padding="same", activation="relu") for f in filters]
        layers.append(keras.layers.Flatten())
        layers += [keras.layers.Dense(units, activation="relu") for units in hidden_units[-1:]]
    return keras.Sequential(layers, name=name)


def build_decoder(image_shape, latent_dim, architecture, hidden_units, filters, name):
    """Latent vector -> image logits (no output activation)."""
    check_architecture(architecture, image_shape, filters)
    height, width, channels = image_shape
    layers = [keras.Input(shape=(latent_dim,))]
    if architecture == "dense":
        layers += [keras.layers.Dense(units, activation="relu") for units in reversed(hidden_units)]
        layers.append(keras.layers.Dense(math.prod(image_shape)))
        layers.append(keras.layers.Reshape(image_shape))
    else:
        layers += [keras.layers.Dense(units, activation="relu") for units in hidden_units[-1:]]
        factor = 2 ** len(filters)
        layers.append(keras.layers.Dense(height // factor * width // factor * filters[-1], activation="relu"))
        layers.append(keras.layers.Reshape((height // factor, width // factor, filters[-1])))
        for f in reversed(filters):
            layers.append(keras.layers.Conv2DTranspose(f, 4, strides=2, padding="same", activation="relu"))
        layers.append(keras.layers.Conv2D(channels, 3, padding="same"))
    return keras.Sequential(layers, name=name)


def build_dcgan_generator(image_shape, latent_dim, filters, num_classes, name="generator"):
    """DCGAN generator (Radford et al. 2016): latent (and label) -> image in [-1, 1].

    One stride-2 transposed convolution per entry of `filters` after a dense
    projection to a `side / 2 ** len(filters)` square, batch norm and ReLU between,
    tanh at the end. Labels (when `num_classes` > 0) are embedded and joined to z.
    """
    height, width, channels = image_shape
    factor = 2 ** len(filters)
    if height % factor or width % factor:
        raise ValueError(
            f"A DCGAN generator with {len(filters)} upsamplings needs image sides divisible by {factor}. "
            f"Received: image_shape={tuple(image_shape)}"
        )
    latents = keras.Input(shape=(latent_dim,), name="latents")
    inputs, features = [latents], latents
    if num_classes:
        labels = keras.Input(shape=(), dtype="int32", name="labels")
        inputs.append(labels)
        features = keras.layers.Concatenate()([latents, keras.layers.Embedding(num_classes, latent_dim)(labels)])
    x = keras.layers.Dense(height // factor * width // factor * filters[0], use_bias=False)(features)
    x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
    x = keras.layers.Reshape((height // factor, width // factor, filters[0]))(x)
    for f in filters[1:]:
        x = keras.layers.Conv2DTranspose(f, 4, strides=2, padding="same", use_bias=False)(x)
        x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
    images = keras.layers.Conv2DTranspose(channels, 4, strides=2, padding="same", activation="tanh")(x)
    return keras.Model(inputs if num_classes else latents, images, name=name)


def build_dcgan_discriminator(image_shape, filters, num_classes, name="discriminator"):
    """DCGAN discriminator: image in [-1, 1] (and label) -> one raw score.

    Stride-2 convolutions with leaky ReLU and no normalization (so that a
    gradient penalty stays per-example); labels become an extra image channel.
    """
    images = keras.Input(shape=image_shape, name="images")
    inputs, x = [images], images
    if num_classes:
        labels = keras.Input(shape=(), dtype="int32", name="labels")
        inputs.append(labels)
        plane = keras.layers.Embedding(num_classes, image_shape[0] * image_shape[1])(labels)
        x = keras.layers.Concatenate()([images, keras.layers.Reshape((*image_shape[:2], 1))(plane)])
    for f in filters:
        x = keras.layers.LeakyReLU(0.2)(keras.layers.Conv2D(f, 4, strides=2, padding="same")(x))
    score = keras.layers.Dense(1)(keras.layers.Flatten()(x))
    return keras.Model(inputs if num_classes else images, score, name=name)
