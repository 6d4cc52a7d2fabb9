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
