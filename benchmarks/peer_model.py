"""The peer model: kerasgen's CycleGAN networks trained by the plain Keras train step users write.

`PlainCycleGAN` is a `keras.Model` subclass whose `train_step` runs every
forward pass under one persistent `tf.GradientTape`: both translations,
both cycles, both identity mappings and both discriminators on real images
and on the new fakes. It computes the paper's losses (least squares
adversarial terms, L1 cycle and identity terms, the discriminators'
objective halved), takes four gradients (one loss per network, each
generator's loss holding the whole cycle term) and makes four
`apply_gradients` calls on four Adam optimizers. `build_peer` compiles it
with `jit_compile="auto"`, which Keras resolves to no XLA on a CPU-only
machine. Unlike kerasgen's CycleGAN it has no image pool (the
discriminators see the newest fakes), no loss trackers (its logs are the
last step's losses), no loss scaling and no distribution-strategy
handling: what the straightforward version leaves out.

The networks come from kerasgen's own builders
(`kerasgen.networks.build_resnet_generator`,
`build_patchgan_discriminator`) with kerasgen's defaults, so only the
training loop differs. Importing this module does not import TensorFlow.
"""


def peer_networks(config):
    """Two generators and two discriminators as kerasgen's `CycleGAN(**config)` builds them.

    Uses kerasgen's builders and its defaults for `residual_blocks` and
    `discriminator_layers`; only the ResNet generator (the zoo's and the
    paper's) is supported.

    Args:
        config: `CycleGAN` keyword arguments; `image_shape` is required.

    Returns:
        `(generator_g, generator_f, discriminator_x, discriminator_y)`:
        G: X -> Y, F: Y -> X, and the discriminators of X and Y.

    Raises:
        ValueError: if `config` asks for a generator other than `resnet`.

    Example:
        >>> [network.name for network in peer_networks({"image_shape": [32, 32, 1]})]
        ['generator_g', 'generator_f', 'discriminator_x', 'discriminator_y']
    """
    from kerasgen import networks

    if config.get("generator", "resnet") != "resnet":
        raise ValueError(f"The peer builds ResNet generators only. Received: generator={config['generator']!r}")
    image_shape = tuple(config["image_shape"])
    blocks = config.get("residual_blocks")
    blocks = networks.default_residual_blocks(image_shape) if blocks is None else blocks
    layers = config.get("discriminator_layers")
    layers = networks.default_discriminator_layers(image_shape) if layers is None else layers
    g_filters, d_filters = config.get("generator_filters", 32), config.get("discriminator_filters", 64)
    return (
        networks.build_resnet_generator(image_shape, g_filters, blocks, name="generator_g"),
        networks.build_resnet_generator(image_shape, g_filters, blocks, name="generator_f"),
        networks.build_patchgan_discriminator(image_shape, d_filters, layers, name="discriminator_x"),
        networks.build_patchgan_discriminator(image_shape, d_filters, layers, name="discriminator_y"),
    )


def _make_peer_class():
    import keras
    import tensorflow as tf
    from keras import ops

    def mean_squared(scores, target):
        return ops.mean(ops.square(scores - target))

    def mean_absolute(a, b):
        return ops.mean(ops.abs(a - b))

    class PlainCycleGAN(keras.Model):
        """CycleGAN with the train step of a plain Keras tutorial: one persistent tape, four optimizers.

        Args:
            generator_g: X -> Y, images in [-1, 1].
            generator_f: Y -> X.
            discriminator_x: scores images of X.
            discriminator_y: scores images of Y.
            lambda_cycle: weight of the cycle loss.
            lambda_identity: weight of the identity loss as a multiple of `lambda_cycle`.

        Example:
            >>> model = PlainCycleGAN(*peer_networks({"image_shape": [32, 32, 1]}))
            >>> model.compile(*(keras.optimizers.Adam(2e-4, beta_1=0.5) for _ in range(4)))
            >>> model.fit(dataset_of_x_y_pairs_in_unit_range)
        """

        def __init__(
            self,
            generator_g,
            generator_f,
            discriminator_x,
            discriminator_y,
            lambda_cycle=10.0,
            lambda_identity=0.5,
            **kwargs,
        ):
            super().__init__(**kwargs)
            self.generator_g = generator_g
            self.generator_f = generator_f
            self.discriminator_x = discriminator_x
            self.discriminator_y = discriminator_y
            self.lambda_cycle = lambda_cycle
            self.lambda_identity = lambda_identity

        def compile(self, g_optimizer, f_optimizer, dx_optimizer, dy_optimizer, **kwargs):
            super().compile(**kwargs)
            self.g_optimizer = g_optimizer
            self.f_optimizer = f_optimizer
            self.dx_optimizer = dx_optimizer
            self.dy_optimizer = dy_optimizer

        def call(self, images, training=False):
            return self.generator_g(images, training=training)

        def train_step(self, data):
            real_x, real_y = data
            real_x = ops.cast(real_x, "float32") * 2.0 - 1.0
            real_y = ops.cast(real_y, "float32") * 2.0 - 1.0
            with tf.GradientTape(persistent=True) as tape:
                fake_y = self.generator_g(real_x, training=True)
                cycled_x = self.generator_f(fake_y, training=True)
                fake_x = self.generator_f(real_y, training=True)
                cycled_y = self.generator_g(fake_x, training=True)
                same_x = self.generator_f(real_x, training=True)
                same_y = self.generator_g(real_y, training=True)

                real_x_scores = self.discriminator_x(real_x, training=True)
                fake_x_scores = self.discriminator_x(fake_x, training=True)
                real_y_scores = self.discriminator_y(real_y, training=True)
                fake_y_scores = self.discriminator_y(fake_y, training=True)

                cycle_loss = mean_absolute(cycled_x, real_x) + mean_absolute(cycled_y, real_y)
                identity_weight = self.lambda_cycle * self.lambda_identity
                g_loss = (
                    mean_squared(fake_y_scores, 1.0)
                    + self.lambda_cycle * cycle_loss
                    + identity_weight * mean_absolute(same_y, real_y)
                )
                f_loss = (
                    mean_squared(fake_x_scores, 1.0)
                    + self.lambda_cycle * cycle_loss
                    + identity_weight * mean_absolute(same_x, real_x)
                )
                dx_loss = 0.5 * (mean_squared(real_x_scores, 1.0) + mean_squared(fake_x_scores, 0.0))
                dy_loss = 0.5 * (mean_squared(real_y_scores, 1.0) + mean_squared(fake_y_scores, 0.0))

            pairs = (
                (g_loss, self.generator_g, self.g_optimizer),
                (f_loss, self.generator_f, self.f_optimizer),
                (dx_loss, self.discriminator_x, self.dx_optimizer),
                (dy_loss, self.discriminator_y, self.dy_optimizer),
            )
            gradients = [tape.gradient(loss, network.trainable_variables) for loss, network, _ in pairs]
            for (_, network, optimizer), network_gradients in zip(pairs, gradients, strict=True):
                optimizer.apply_gradients(zip(network_gradients, network.trainable_variables, strict=True))
            return {
                "g_loss": g_loss,
                "f_loss": f_loss,
                "cycle_loss": cycle_loss,
                "dx_loss": dx_loss,
                "dy_loss": dy_loss,
            }

    return PlainCycleGAN


_PEER_CLASS = None


def peer_class():
    """The `PlainCycleGAN` class (made on first use, so importing this module does not import TensorFlow).

    Example:
        >>> peer_class().__name__, peer_class() is peer_class()
        ('PlainCycleGAN', True)
    """
    global _PEER_CLASS
    if _PEER_CLASS is None:
        _PEER_CLASS = _make_peer_class()
    return _PEER_CLASS


def build_peer(config, learning_rate=2e-4, jit_compile="auto"):
    """A compiled peer with the networks of `CycleGAN(**config)` and four `Adam(learning_rate, beta_1=0.5)`.

    Args:
        config: `CycleGAN` keyword arguments (`peer_networks`); `lambda_cycle`
            and `lambda_identity` are read too.
        learning_rate: of each of the four optimizers.
        jit_compile: passed to `compile`; `"auto"` is what a plain Keras
            user gets.

    Returns:
        The compiled `PlainCycleGAN`.

    Example:
        >>> model = build_peer({"image_shape": [16, 16, 1], "generator_filters": 4, "discriminator_filters": 4})
    """
    import keras

    model = peer_class()(
        *peer_networks(config),
        lambda_cycle=config.get("lambda_cycle", 10.0),
        lambda_identity=config.get("lambda_identity", 0.5),
    )
    model.compile(*(keras.optimizers.Adam(learning_rate, beta_1=0.5) for _ in range(4)), jit_compile=jit_compile)
    return model
