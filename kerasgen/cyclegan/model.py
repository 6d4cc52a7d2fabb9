"""CycleGAN (Zhu et al. 2017): unpaired image-to-image translation with cycle consistency."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasgen.base import FamilyModel
from kerasgen.cyclegan import LOSSES
from kerasgen.cyclegan.pool import ImagePool
from kerasgen.cyclegan.schedule import linear_decay_schedule
from kerasgen.cyclegan.semantic import SemanticConsistency
from kerasgen.distribute import reducible_logs, scale_loss_for_replicas
from kerasgen.gan import losses as gan_losses
from kerasgen.inference import predict_in_batches
from kerasgen.networks import (
    build_patchgan_discriminator,
    build_resnet_generator,
    build_unet_generator,
    check_generator_shape,
    default_discriminator_layers,
    default_residual_blocks,
    in_one_call,
)
from kerasgen.optimizers import optimizer_recipe, shared_loss_scale, with_loss_scaling

GENERATORS = ("resnet", "unet")
DIRECTIONS = ("a2b", "b2a")
NETWORKS = ("generator_a2b", "generator_b2a", "discriminator_a", "discriminator_b")
OPTIMIZERS = ("g_a2b_optimizer", "g_b2a_optimizer", "d_a_optimizer", "d_b_optimizer")


def _l1(a, b):
    return ops.mean(ops.abs(a - b))


@keras.saving.register_keras_serializable(package="kerasgen")
class CycleGAN(SemanticConsistency, FamilyModel):
    """Two generators, G: A -> B and F: B -> A, and a discriminator per domain (Zhu et al. 2017).

    The generators minimize their adversarial losses plus `lambda_cycle` times
    the cycle-consistency loss |F(G(a)) - a| + |G(F(b)) - b| (L1) plus
    `lambda_cycle * lambda_identity` times the identity loss
    |G(b) - b| + |F(a) - a|. Each discriminator then learns from real images and
    from fakes drawn from an `ImagePool` of past fakes, with its objective
    halved. The adversarial terms follow the reference code: with
    `least_squares`, the generators minimize (D(fake) - 1)^2 and the
    discriminators 0.5 * ((D(real) - 1)^2 + D(fake)^2).

    Both domains share `image_shape`. Images enter and leave in [0, 1]; inside,
    the networks work in [-1, 1] (tanh output). `fit` takes `(images_a,
    images_b)` batches (`kerasgen.data.make_unpaired_dataset`); calling the
    model translates A -> B.

    Each network has its own Adam optimizer (`g_a2b_optimizer`, `g_b2a_optimizer`, `d_a_optimizer`,
    `d_b_optimizer`): Adam's updates are per weight, so this is the paper's one optimizer per pair.

    Independent calls of one network are joined (`networks.in_one_call`: G(a)
    with the identity G(b), D on real and pooled fakes): the same losses from
    fewer, larger ops (`benchmarks/RESULTS.md`, peer section).

    Under a distribution strategy each dataset batch is the global batch
    (losses scaled by the number of replicas), with one pool per domain.

    Under a mixed dtype policy (`mixed_bfloat16`, `mixed_float16`) the
    networks compute in the low dtype with float32 variables; each
    network's last layer (the generators' output convolution and tanh, the
    discriminators' score convolution), the losses and the image pools are
    float32. Under `mixed_float16`, `compile` wraps the four optimizers in
    `keras.optimizers.LossScaleOptimizer`s; the generator step's joint loss
    is scaled once for both generators (`kerasgen.optimizers.shared_loss_scale`).

    Semantic consistency (CyCADA, Hoffman et al. 2018, eq. 4): with a
    `semantic_classifier` and `lambda_semantic` > 0, the generators also keep
    what a frozen classifier sees in each image (`kerasgen.cyclegan.semantic`).
    The classifier's variables are part of the model's weights and
    checkpoints (unchanged by training); it must still be loadable (the
    entry installed, the folder present) wherever this model is built from
    its config. Exports hold only the generators.

    Args:
        image_shape: `(height, width, channels)` of both domains; sides divisible by 4, at least 8.
        generator: `"resnet"` (Johnson et al. 2016, the paper's) or `"unet"` (pix2pix).
        generator_filters: filters of the generators' first layer (64 in the paper).
        residual_blocks: blocks of the ResNet generator; None for 6 up to 128 pixels, 9 above.
        discriminator_filters: filters of the PatchGAN's first layer.
        discriminator_layers: stride-2 layers of the PatchGAN; None for 3 (70x70 patches)
            from 128 pixels, 2 from 32, 1 below.
        loss: `least_squares` (the paper's), `non_saturating`, `minimax` or `hinge`.
            `wasserstein` is refused: it needs a gradient penalty that CycleGAN does not have.
        lambda_cycle: weight of the cycle-consistency loss.
        lambda_identity: weight of the identity loss as a multiple of `lambda_cycle`; 0 turns it off.
        pool_size: fakes kept per domain for the discriminators; 0 uses only the newest.
        seed: seed of the image pools' draws.
        semantic_classifier: None, or a zoo entry name or model folder (a
            string) of a `Classifier` for the semantic-consistency loss.
        lambda_semantic: weight of the semantic-consistency loss; 0 (or no
            `semantic_classifier`) trains a plain CycleGAN, with no classifier
            loaded and no `semantic_loss` logged.

    Example:
        >>> model = CycleGAN(image_shape=(32, 32, 1))
        >>> images_a, images_b = kerasgen.data.load_unpaired("digits", "train")
        >>> dataset = kerasgen.data.make_unpaired_dataset(images_a, images_b, batch_size=1)
        >>> model.compile(learning_rate=linear_decay_schedule(10, len(dataset)))
        >>> model.fit(dataset, epochs=10)
        >>> as_mnist = model.translate(images_a[:16], "a2b")
        >>> semantic = CycleGAN(image_shape=(32, 32, 1), semantic_classifier="classifier.digits")
    """

    def __init__(
        self,
        image_shape=(32, 32, 1),
        generator="resnet",
        generator_filters=16,
        residual_blocks=None,
        discriminator_filters=32,
        discriminator_layers=None,
        loss="least_squares",
        lambda_cycle=10.0,
        lambda_identity=0.5,
        pool_size=50,
        seed=None,
        semantic_classifier=None,
        lambda_semantic=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if generator not in GENERATORS:
            raise ValueError(f"generator must be one of {GENERATORS}. Received: generator={generator!r}")
        gan_losses.check_loss(loss, allowed=LOSSES)
        if lambda_cycle < 0 or lambda_identity < 0:
            raise ValueError(
                "lambda_cycle and lambda_identity must be non-negative. "
                f"Received: lambda_cycle={lambda_cycle}, lambda_identity={lambda_identity}"
            )
        if generator_filters < 1 or discriminator_filters < 1:
            raise ValueError(
                "generator_filters and discriminator_filters must be positive. "
                f"Received: generator_filters={generator_filters}, discriminator_filters={discriminator_filters}"
            )
        if residual_blocks is not None and residual_blocks < 0:
            raise ValueError(f"residual_blocks must be non-negative. Received: residual_blocks={residual_blocks}")
        if len(image_shape) != 3:
            raise ValueError(f"image_shape must be (height, width, channels). Received: image_shape={image_shape}")
        check_generator_shape(image_shape)
        self.image_shape = tuple(image_shape)
        self.generator_architecture = generator
        self.generator_filters = generator_filters
        self.residual_blocks = default_residual_blocks(self.image_shape) if residual_blocks is None else residual_blocks
        self.discriminator_filters = discriminator_filters
        self.discriminator_layers = (
            default_discriminator_layers(self.image_shape) if discriminator_layers is None else discriminator_layers
        )
        self.adversarial_loss = loss
        self.lambda_cycle = lambda_cycle
        self.lambda_identity = lambda_identity
        self.pool_size = pool_size
        self.seed = seed
        self.set_semantic_classifier(semantic_classifier, lambda_semantic)
        self.generator_a2b = self._build_generator("generator_a2b")
        self.generator_b2a = self._build_generator("generator_b2a")
        self.discriminator_a = self._build_discriminator("discriminator_a")
        self.discriminator_b = self._build_discriminator("discriminator_b")
        self.pool_a = ImagePool(pool_size, seed=seed, name="pool_a")
        self.pool_b = ImagePool(pool_size, seed=None if seed is None else seed + 1, name="pool_b")
        self.pool_a.build((None, *self.image_shape))
        self.pool_b.build((None, *self.image_shape))
        # Loaded after the networks are built, so they start from the weights a plain CycleGAN of this seed has.
        self.semantic_network = self._load_semantic_classifier() if self.uses_semantic_loss else None
        names = ("g_loss", "g_a2b_loss", "g_b2a_loss", "cycle_loss", "identity_loss", "d_a_loss", "d_b_loss")
        names += ("semantic_loss",) if self.uses_semantic_loss else ()
        self.trackers = [keras.metrics.Mean(name=name) for name in names]
        self.build((None, *self.image_shape))

    def _build_generator(self, name):
        if self.generator_architecture == "unet":
            return build_unet_generator(self.image_shape, self.generator_filters, name=name)
        return build_resnet_generator(self.image_shape, self.generator_filters, self.residual_blocks, name=name)

    def _build_discriminator(self, name):
        return build_patchgan_discriminator(
            self.image_shape, self.discriminator_filters, self.discriminator_layers, name=name
        )

    flops_passes = tuple((network, 0, 3) for network in NETWORKS)
    own_optimizers = OPTIMIZERS
    figure_options = ()

    def compile(
        self,
        g_a2b_optimizer=None,
        g_b2a_optimizer=None,
        d_a_optimizer=None,
        d_b_optimizer=None,
        learning_rate=2e-4,
        **kwargs,
    ):
        """Set the four optimizers and build them.

        Each one left out is Adam(learning_rate, beta_1=0.5), as in the paper; `learning_rate` may be a
        schedule (`linear_decay_schedule`). Building them now lets `load_weights` restore their state. To
        resume from a weights file, compile with the same kind of learning rate as the run that saved it (a
        float rate is an optimizer variable, a schedule is not, and Keras skips mismatched optimizer state).

        Example:
            >>> model.compile(learning_rate=linear_decay_schedule(epochs=200, steps_per_epoch=1000))
        """
        super().compile(**kwargs)
        optimizers = [
            optimizer or keras.optimizers.Adam(learning_rate, beta_1=0.5)
            for optimizer in (g_a2b_optimizer, g_b2a_optimizer, d_a_optimizer, d_b_optimizer)
        ]
        if len({id(optimizer) for optimizer in optimizers}) < 4:
            raise ValueError("Each network needs its own optimizer; the same instance was passed twice.")
        optimizers = [with_loss_scaling(optimizer, self.dtype_policy) for optimizer in optimizers]
        self.g_a2b_optimizer, self.g_b2a_optimizer, self.d_a_optimizer, self.d_b_optimizer = optimizers
        for optimizer, network in self._optimized_networks():
            optimizer.build(network.trainable_variables)

    def _optimized_networks(self):
        return tuple(
            (getattr(self, optimizer), getattr(self, network))
            for optimizer, network in zip(OPTIMIZERS, NETWORKS, strict=True)
        )

    @property
    def metrics(self):
        return list(self.trackers)

    def call(self, inputs, training=False):
        """Translates images of domain A (in [0, 1]) to domain B (in [0, 1])."""
        return (self.generator_a2b(ops.cast(inputs, "float32") * 2.0 - 1.0, training=training) + 1.0) / 2.0

    def translate(self, images, direction="a2b", batch_size=32):
        """Translates images in [0, 1] (or uint8) from one domain to the other.

        Args:
            images: array (N, height, width, channels) of the source domain.
            direction: `"a2b"` (G) or `"b2a"` (F).
            batch_size: images per call of the generator's compiled function (`kerasgen.inference`).

        Returns:
            float32 numpy array of the same shape, in [0, 1].

        Example:
            >>> cycled = model.translate(model.translate(uci_digits, "a2b"), "b2a")
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}. Received: direction={direction!r}")
        images = np.asarray(images)
        images = images / np.float32(255) if images.dtype == np.uint8 else images.astype(np.float32)
        if images.shape[1:] != self.image_shape:
            raise ValueError(f"images must have shape (N, *{self.image_shape}). Received: shape={images.shape}")
        network = self.generator_a2b if direction == "a2b" else self.generator_b2a
        return (predict_in_batches(network, images * 2.0 - 1.0, batch_size) + 1.0) / 2.0

    def _adversarial_scale(self):  # LSGAN's factors of 1/2 in gan_losses; plain squared errors in the paper's code
        return 2.0 if self.adversarial_loss == "least_squares" else 1.0

    def _translations(self, real_a, real_b):
        """G(a), F(b) and the identity loss |G(b) - b| + |F(a) - a| (0 without it), a call per generator."""
        if not self.lambda_identity:
            fake_b = self.generator_a2b(real_a, training=True)
            return self.generator_b2a(real_b, training=True), fake_b, ops.zeros(())
        fake_b, same_b = in_one_call(self.generator_a2b, real_a, real_b, training=True)
        fake_a, same_a = in_one_call(self.generator_b2a, real_b, real_a, training=True)
        return fake_a, fake_b, _l1(same_b, real_b) + _l1(same_a, real_a)

    def _generator_step(self, real_a, real_b):
        scale = self._adversarial_scale()
        labels_a, labels_b = self._pseudo_labels(real_a, real_b)
        with tf.GradientTape() as tape:
            fake_a, fake_b, identity_loss = self._translations(real_a, real_b)
            a2b_loss = scale * gan_losses.generator_loss(self.adversarial_loss, self.discriminator_b(fake_b))
            b2a_loss = scale * gan_losses.generator_loss(self.adversarial_loss, self.discriminator_a(fake_a))
            cycle_loss = _l1(self.generator_b2a(fake_b, training=True), real_a) + _l1(
                self.generator_a2b(fake_a, training=True), real_b
            )
            total = a2b_loss + b2a_loss + self.lambda_cycle * (cycle_loss + self.lambda_identity * identity_loss)
            losses = (total, a2b_loss, b2a_loss, cycle_loss, identity_loss)
            if self.uses_semantic_loss:
                semantic_loss = self._semantic_loss(fake_a, fake_b, labels_a, labels_b)
                total = total + self.lambda_semantic * semantic_loss
                losses = (total, *losses[1:], semantic_loss)
            scaled_total, factors = shared_loss_scale(
                (self.g_a2b_optimizer, self.g_b2a_optimizer), scale_loss_for_replicas(total)
            )
        optimizers = (self.g_a2b_optimizer, self.g_b2a_optimizer)
        weights = (self.generator_a2b.trainable_weights, self.generator_b2a.trainable_weights)
        gradients = tape.gradient(scaled_total, weights[0] + weights[1])
        shares = (gradients[: len(weights[0])], gradients[len(weights[0]) :])
        for optimizer, share, network_weights, factor in zip(optimizers, shares, weights, factors, strict=True):
            optimizer.apply(share if factor is None else [gradient * factor for gradient in share], network_weights)
        return fake_a, fake_b, losses

    def _discriminator_step(self, discriminator, optimizer, real, fake):
        with tf.GradientTape() as tape:
            real_scores, fake_scores = in_one_call(discriminator, real, fake, training=True)
            loss = gan_losses.discriminator_loss(self.adversarial_loss, real_scores, fake_scores)
            loss = 0.5 * self._adversarial_scale() * loss
            scaled_loss = optimizer.scale_loss(scale_loss_for_replicas(loss))
        gradients = tape.gradient(scaled_loss, discriminator.trainable_weights)
        optimizer.apply(gradients, discriminator.trainable_weights)
        return loss

    def train_step(self, data):
        images_a, images_b, _ = keras.utils.unpack_x_y_sample_weight(data)
        if images_b is None:
            raise ValueError("A CycleGAN trains on (images_a, images_b) batches.")
        real_a = ops.cast(images_a, "float32") * 2.0 - 1.0
        real_b = ops.cast(images_b, "float32") * 2.0 - 1.0
        fake_a, fake_b, generator_losses = self._generator_step(real_a, real_b)
        d_a_loss = self._discriminator_step(self.discriminator_a, self.d_a_optimizer, real_a, self.pool_a(fake_a))
        d_b_loss = self._discriminator_step(self.discriminator_b, self.d_b_optimizer, real_b, self.pool_b(fake_b))
        values = (*generator_losses[:5], d_a_loss, d_b_loss, *generator_losses[5:])
        for tracker, value in zip(self.trackers, values, strict=True):
            tracker.update_state(value)
        return reducible_logs({tracker.name: tracker.result() for tracker in self.trackers})

    def get_config(self):
        config = super().get_config()
        config.update(
            image_shape=self.image_shape,
            generator=self.generator_architecture,
            generator_filters=self.generator_filters,
            residual_blocks=self.residual_blocks,
            discriminator_filters=self.discriminator_filters,
            discriminator_layers=self.discriminator_layers,
            loss=self.adversarial_loss,
            lambda_cycle=self.lambda_cycle,
            lambda_identity=self.lambda_identity,
            pool_size=self.pool_size,
            seed=self.seed,
            semantic_classifier=self.semantic_classifier,
            lambda_semantic=self.lambda_semantic,
        )
        return config

    def compile_for_recipe(self, recipe, jit_compile="auto"):
        """Compile as `kerasgen train cyclegan` does: four Adam(beta_1=0.5) with the paper's schedule, constant,
        then linear to zero over the recipe's `decay_epochs` (None: the second half of the run).

        Returns:
            The optimizers' settings as plain data, for the card.

        Example:
            >>> model.compile_for_recipe({"learning_rate": 2e-4, "epochs": 2, "steps_per_epoch": 1125})
        """
        schedule = linear_decay_schedule(
            recipe["epochs"], recipe["steps_per_epoch"], recipe["learning_rate"], recipe.get("decay_epochs")
        )
        self.compile(learning_rate=schedule, jit_compile=jit_compile)
        described = {
            "schedule": "constant, then linear to 0",
            "initial": recipe["learning_rate"],
            "constant_steps": schedule.constant_steps,
            "decay_steps": schedule.decay_steps,
        }
        return {"per_network": 4, **optimizer_recipe(keras.optimizers.Adam(beta_1=0.5), schedule=described)}

    def preview(self, count=64, seed=0, images=None):
        """Six rows: A, G(A), F(G(A)), then B, F(B), G(F(B)), for `images = (images_a, images_b)`;
        as many columns as the shorter holds."""
        images_a, images_b = images
        count = min(len(images_a), len(images_b))
        images_a, images_b = images_a[:count], images_b[:count]
        as_b, as_a = self.translate(images_a, "a2b"), self.translate(images_b, "b2a")
        rows = [images_a, as_b, self.translate(as_b, "b2a"), images_b, as_a, self.translate(as_a, "a2b")]
        return np.concatenate([np.asarray(row, np.float32) for row in rows]), count

    def figures(self, card, samples=None, test_images=None):
        """`kerasgen.cyclegan.figures.cyclegan_figures` on the test split of the card's domains."""
        from kerasgen.cyclegan.figures import cyclegan_figures

        return cyclegan_figures(self, card)

    def closing_line(self, card):
        """For a `digits` run, its figures on the held-out (test) digits in one line; None otherwise."""
        from kerasgen.cyclegan.figures import closing_line

        return closing_line(self, card)

    def validation_figure(self, data_card):
        """On digits, `kerasgen.cyclegan.validation.validation_labels_kept`: labels kept on validation digits."""
        from kerasgen.cyclegan.validation import validation_labels_kept

        return validation_labels_kept(self, data_card)

    def serving_counterpart(self, count, seed=0):
        """The network `serving_default` computes (the A-to-B generator) and `count` random images in [-1, 1]."""
        rng = np.random.default_rng(seed)
        return self.generator_a2b, rng.random((count, *self.image_shape), dtype=np.float32) * 2 - 1

    def serving_functions(self):
        """Float, uint8 and PNG translators both ways (`translate_a2b` default); see `kerasgen.cyclegan.serving`."""
        from kerasgen.cyclegan.serving import serving_functions

        return serving_functions(self)
