"""Networks of the model families.

Encoder and decoder of the AutoEncoder and the VAE: `architecture="dense"` is
a multilayer perceptron (Hinton and Salakhutdinov 2006 use 1000-500-250
units); `architecture="conv"` is a strided convolutional network, one stride-2
layer per entry of `filters`, so image sides must be divisible by
2 ** len(filters).

DCGAN generator and discriminator of the GAN; ResNet and U-Net generators and
the PatchGAN discriminator of the CycleGAN. The CycleGAN networks use instance
normalization without affine terms, as the paper's code does
(`GroupNormalization(groups=-1, center=False, scale=False)`), and weights drawn
from N(0, 0.02).

Mixed precision: every layer follows the global dtype policy (set
`keras.mixed_precision.set_global_policy("mixed_bfloat16")` or
`"mixed_float16"` before building), except the last layer of each network,
which computes in float32 (`OUTPUT_DTYPE`): images, logits, codes and scores
come out in float32, and the losses computed from them stay in float32.
Variables are float32 under every policy.
"""

import math

import keras
from keras import ops

from kerasgen.distribute import num_replicas

ARCHITECTURES = ("dense", "conv")
# dtype of every network's last layer, whatever the global policy: outputs and the losses on them stay float32.
OUTPUT_DTYPE = "float32"


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
        layers.append(keras.layers.Dense(math.prod(image_shape), dtype=OUTPUT_DTYPE))
        layers.append(keras.layers.Reshape(image_shape, dtype=OUTPUT_DTYPE))
    else:
        layers += [keras.layers.Dense(units, activation="relu") for units in hidden_units[-1:]]
        factor = 2 ** len(filters)
        layers.append(keras.layers.Dense(height // factor * width // factor * filters[-1], activation="relu"))
        layers.append(keras.layers.Reshape((height // factor, width // factor, filters[-1])))
        for f in reversed(filters):
            layers.append(keras.layers.Conv2DTranspose(f, 4, strides=2, padding="same", activation="relu"))
        layers.append(keras.layers.Conv2D(channels, 3, padding="same", dtype=OUTPUT_DTYPE))
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
    images = keras.layers.Conv2DTranspose(
        channels, 4, strides=2, padding="same", activation="tanh", dtype=OUTPUT_DTYPE
    )(x)
    return keras.Model(inputs if num_classes else latents, images, name=name)


def build_dcgan_discriminator(
    image_shape, filters, num_classes, name="discriminator", spectral_norm=False, minibatch_std=False
):
    """DCGAN discriminator: image in [-1, 1] (and label) -> one raw score.

    Stride-2 convolutions with leaky ReLU and no normalization (so that a
    gradient penalty stays per-example); labels become an extra image channel.

    Args:
        image_shape: `(height, width, channels)`.
        filters: filters of the stride-2 convolutions.
        num_classes: 0, or the number of labels of a conditional discriminator.
        name: name of the returned model.
        spectral_norm: wrap every convolution and the output layer in
            `keras.layers.SpectralNormalization` (Miyato et al. 2018).
        minibatch_std: append `MinibatchStandardDeviation`'s feature map
            after the last convolution (Karras et al. 2018).

    Example:
        >>> build_dcgan_discriminator((28, 28, 1), (64, 128), 0, spectral_norm=True).output_shape
        (None, 1)
    """
    normalized = keras.layers.SpectralNormalization if spectral_norm else lambda layer: layer
    images = keras.Input(shape=image_shape, name="images")
    inputs, x = [images], images
    if num_classes:
        labels = keras.Input(shape=(), dtype="int32", name="labels")
        inputs.append(labels)
        plane = keras.layers.Embedding(num_classes, image_shape[0] * image_shape[1])(labels)
        x = keras.layers.Concatenate()([images, keras.layers.Reshape((*image_shape[:2], 1))(plane)])
    for f in filters:
        x = keras.layers.LeakyReLU(0.2)(normalized(keras.layers.Conv2D(f, 4, strides=2, padding="same"))(x))
    if minibatch_std:
        x = MinibatchStandardDeviation()(x)
    score = normalized(keras.layers.Dense(1, dtype=OUTPUT_DTYPE))(keras.layers.Flatten()(x))
    return keras.Model(inputs if num_classes else images, score, name=name)


@keras.saving.register_keras_serializable(package="kerasgen")
class MinibatchStandardDeviation(keras.layers.Layer):
    """Appends one feature map holding how much the minibatch varies (Karras et al. 2018, section 3).

    The standard deviation over the batch of each feature at each position,
    averaged over features and positions, is one number per batch; it becomes
    an extra channel, constant over the batch and the positions. A
    discriminator that sees it can tell a batch of near-identical samples
    (a collapsed generator) from a varied batch of real images. Under a
    distribution strategy the batch is the replica's.

    Example:
        >>> MinibatchStandardDeviation()(keras.ops.ones((4, 7, 7, 128))).shape
        (4, 7, 7, 129)
    """

    def call(self, inputs):
        deviations = inputs - ops.mean(inputs, axis=0, keepdims=True)
        spread = ops.mean(ops.sqrt(ops.mean(ops.square(deviations), axis=0) + 1e-8))
        return ops.concatenate([inputs, ops.zeros_like(inputs[..., :1]) + ops.cast(spread, inputs.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)


@keras.saving.register_keras_serializable(package="kerasgen")
class ReflectionPadding2D(keras.layers.Layer):
    """Pads height and width by mirroring the image at its border (without repeating the edge).

    Args:
        padding: pixels added on each side; must be smaller than the sides.

    Example:
        >>> ReflectionPadding2D(3)(keras.ops.zeros((1, 16, 16, 1))).shape
        (1, 22, 22, 1)
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(padding, int) or padding < 0:
            raise ValueError(f"padding must be a non-negative integer. Received: padding={padding!r}")
        self.padding = padding

    def call(self, inputs):
        p = self.padding
        return ops.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        grow = lambda side: None if side is None else side + 2 * self.padding  # noqa: E731
        return (batch, grow(height), grow(width), channels)

    def get_config(self):
        config = super().get_config()
        config.update(padding=self.padding)
        return config


def _weights():
    return keras.initializers.RandomNormal(stddev=0.02)


def _instance_norm(x):
    return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, center=False, scale=False)(x)


def _conv(x, filters, kernel, strides=1, padding="same", bias=False, dtype=None):
    return keras.layers.Conv2D(
        filters, kernel, strides=strides, padding=padding, use_bias=bias, kernel_initializer=_weights(), dtype=dtype
    )(x)


def _conv_transpose(x, filters, kernel, bias=False, dtype=None):
    return keras.layers.Conv2DTranspose(
        filters, kernel, strides=2, padding="same", use_bias=bias, kernel_initializer=_weights(), dtype=dtype
    )(x)


def check_generator_shape(image_shape):
    """Both CycleGAN generators downsample at least twice: sides must be multiples of 4 and at least 8."""
    height, width = image_shape[:2]
    if height % 4 or width % 4 or min(height, width) < 8:
        raise ValueError(
            "CycleGAN generators need image sides divisible by 4 and at least 8. "
            f"Received: image_shape={tuple(image_shape)}"
        )


def default_residual_blocks(image_shape):
    """6 residual blocks for sides up to 128 pixels, 9 above (Zhu et al. 2017, section 4 and appendix)."""
    return 6 if max(image_shape[:2]) <= 128 else 9


def build_resnet_generator(image_shape, filters=64, residual_blocks=None, name="resnet_generator"):
    """ResNet generator of CycleGAN (Johnson et al. 2016): image in [-1, 1] -> image in [-1, 1].

    c7s1-f, d2f, d4f, `residual_blocks` x R4f, u2f, uf, c7s1-C: a 7x7
    convolution, two stride-2 downsamplings, residual blocks of two 3x3
    convolutions, two stride-2 transposed convolutions and a 7x7 convolution
    with tanh. Reflection padding before the 7x7 and residual convolutions,
    instance norm and ReLU after every convolution but the last.

    Args:
        image_shape: `(height, width, channels)`; sides divisible by 4, at least 8.
        filters: filters of the first layer (f); the paper uses 64.
        residual_blocks: None for `default_residual_blocks(image_shape)`.
        name: name of the returned model.

    Example:
        >>> generator = build_resnet_generator((256, 256, 3))  # 9 residual blocks
        >>> generator.output_shape
        (None, 256, 256, 3)
    """
    check_generator_shape(image_shape)
    if residual_blocks is None:
        residual_blocks = default_residual_blocks(image_shape)
    images = keras.Input(shape=image_shape, name="images")
    x = _conv(ReflectionPadding2D(3)(images), filters, 7, padding="valid")
    x = keras.layers.ReLU()(_instance_norm(x))
    for multiple in (2, 4):
        x = keras.layers.ReLU()(_instance_norm(_conv(x, filters * multiple, 3, strides=2)))
    for _ in range(residual_blocks):
        y = _conv(ReflectionPadding2D(1)(x), filters * 4, 3, padding="valid")
        y = keras.layers.ReLU()(_instance_norm(y))
        y = _instance_norm(_conv(ReflectionPadding2D(1)(y), filters * 4, 3, padding="valid"))
        x = keras.layers.Add()([x, y])
    for multiple in (2, 1):
        x = keras.layers.ReLU()(_instance_norm(_conv_transpose(x, filters * multiple, 3)))
    x = _conv(ReflectionPadding2D(3)(x), image_shape[-1], 7, padding="valid", bias=True, dtype=OUTPUT_DTYPE)
    return keras.Model(images, keras.layers.Activation("tanh", dtype=OUTPUT_DTYPE)(x), name=name)


def unet_depth(image_shape):
    """Downsamplings of the U-Net: as many as the sides allow, at most 8 (1x1 at 256 pixels, as unet_256)."""
    side = math.gcd(*image_shape[:2])
    depth = 0
    while depth < 8 and side % 2 == 0:
        side //= 2
        depth += 1
    return depth


def build_unet_generator(image_shape, filters=64, name="unet_generator"):
    """U-Net generator of pix2pix (Isola et al. 2017), offered by CycleGAN: image in [-1, 1] -> image in [-1, 1].

    `unet_depth(image_shape)` stride-2 4x4 convolutions (leaky ReLU 0.2,
    instance norm except on the outermost and innermost) with filters f, 2f,
    4f, 8f, 8f, ...; mirrored by stride-2 transposed convolutions (ReLU,
    instance norm) whose outputs are concatenated with the encoder's features of
    the same size; tanh at the end. No dropout (CycleGAN's setting).

    Args:
        image_shape: `(height, width, channels)`; sides divisible by 4, at least 8.
        filters: filters of the outermost layer (f).
        name: name of the returned model.

    Example:
        >>> generator = build_unet_generator((32, 32, 1), filters=32)  # 5 levels, 1x1 bottleneck
    """
    check_generator_shape(image_shape)
    depth = unet_depth(image_shape)
    width = [filters * min(2**level, 8) for level in range(depth)]
    images = keras.Input(shape=image_shape, name="images")
    x, skips = images, []
    for level in range(depth):
        innermost = level == depth - 1
        if level:
            x = keras.layers.LeakyReLU(0.2)(x)
        x = _conv(x, width[level], 4, strides=2, bias=level == 0 or innermost)
        if level and not innermost:
            x = _instance_norm(x)
        skips.append(x)
    for level in reversed(range(1, depth)):
        x = keras.layers.ReLU()(x)
        x = _instance_norm(_conv_transpose(x, width[level - 1], 4))
        x = keras.layers.Concatenate()([skips[level - 1], x])
    x = _conv_transpose(keras.layers.ReLU()(x), image_shape[-1], 4, bias=True, dtype=OUTPUT_DTYPE)
    return keras.Model(images, keras.layers.Activation("tanh", dtype=OUTPUT_DTYPE)(x), name=name)


def default_discriminator_layers(image_shape):
    """Stride-2 layers of the PatchGAN: 3 (70x70 patches) from 128 pixels, 2 (34x34) from 32, else 1 (16x16)."""
    side = min(image_shape[:2])
    return 3 if side >= 128 else 2 if side >= 32 else 1


def build_patchgan_discriminator(image_shape, filters=64, layers=None, name="patchgan_discriminator"):
    """PatchGAN discriminator (Isola et al. 2017): image in [-1, 1] -> a map of raw scores, one per patch.

    `layers` stride-2 4x4 convolutions with filters f, 2f, 4f, ... (at most
    8f), a stride-1 4x4 convolution and a final 1-channel 4x4 convolution;
    leaky ReLU 0.2 between, instance norm on all but the first and last. With
    3 layers each score sees a 70x70 patch: the paper's discriminator.

    Args:
        image_shape: `(height, width, channels)`.
        filters: filters of the first layer (f).
        layers: stride-2 layers; None for `default_discriminator_layers(image_shape)`.
        name: name of the returned model.

    Example:
        >>> build_patchgan_discriminator((256, 256, 3)).output_shape
        (None, 30, 30, 1)
    """
    if layers is None:
        layers = default_discriminator_layers(image_shape)
    if layers < 1 or min(image_shape[:2]) < 3 * 2**layers:
        raise ValueError(
            f"A PatchGAN with {layers} stride-2 layers needs layers >= 1 and image sides of at least "
            f"{3 * 2 ** max(layers, 1)}. Received: layers={layers}, image_shape={tuple(image_shape)}"
        )
    images = keras.Input(shape=image_shape, name="images")
    x = keras.layers.LeakyReLU(0.2)(_conv(images, filters, 4, strides=2, bias=True))
    for level in range(1, layers + 1):
        strides = 2 if level < layers else 1
        if strides == 1:
            x = keras.layers.ZeroPadding2D(1)(x)
        x = _conv(x, filters * min(2**level, 8), 4, strides=strides, padding="same" if strides == 2 else "valid")
        x = keras.layers.LeakyReLU(0.2)(_instance_norm(x))
    scores = _conv(keras.layers.ZeroPadding2D(1)(x), 1, 4, padding="valid", bias=True, dtype=OUTPUT_DTYPE)
    return keras.Model(images, scores, name=name)


def synchronize_batch_norm(network):
    """Under a strategy with several replicas, batch normalization uses global-batch statistics.

    With one replica nothing changes (Keras's synchronized moments are computed
    by a different formula, which would change the numbers slightly).
    """
    if network is None or num_replicas() == 1:
        return
    for layer in network.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True


def in_one_call(network, first, second, **kwargs):
    """A network's outputs for two batches, from one call on the two joined: for networks that work image by
    image (instance norm, or batch norm in inference), the two calls' result from half as many, larger ops.
    Not for layers that mix images (training batch norm, `MinibatchStandardDeviation`) or update state per call
    (training `SpectralNormalization`).

    Example:
        >>> fake_b, same_b = in_one_call(model.generator_a2b, real_a, real_b, training=True)
    """
    outputs = network(ops.concatenate([first, second], axis=0), **kwargs)
    size = ops.shape(first)[0]
    return outputs[:size], outputs[size:]
