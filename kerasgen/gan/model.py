"""Generative adversarial networks (Goodfellow et al. 2014) with DCGAN networks."""

import keras
import tensorflow as tf
from keras import ops

from kerasgen.base import FamilyModel, sample_grid
from kerasgen.distribute import draw_for_replica_batch, reducible_logs, scale_loss_for_replicas
from kerasgen.gan import losses as gan_losses
from kerasgen.gan import penalties
from kerasgen.gan.losses import recommended_adam
from kerasgen.gan.recipes import check_hyperparameters, check_networks, check_smoothing, checked_count, checked_labels
from kerasgen.networks import build_dcgan_discriminator, build_dcgan_generator, synchronize_batch_norm
from kerasgen.optimizers import optimizer_recipe, with_loss_scaling


@keras.saving.register_keras_serializable(package="kerasgen")
class GAN(FamilyModel):
    """A generator and a discriminator trained in alternation (Algorithm 1 of Goodfellow et al. 2014).

    Each `train_step` makes `d_steps` discriminator updates, each on a fresh
    minibatch of real images and fresh noise (Gulrajani et al. 2017's critic
    loop), then one generator update: the pipeline delivers batches of
    `images_per_step(batch_size)` = `d_steps * batch_size` real images, and
    update i takes images i, i + d_steps, ... (a remainder of fewer than
    `d_steps` is left unused). Images enter and leave in [0, 1]; inside, the
    networks work in [-1, 1]. With `num_classes` > 0 both networks see the
    label and `fit` needs `(images, labels)`; the generator update uses the
    labels of the last minibatch.

    Settings left unset follow the loss (`kerasgen.gan.recipes.RECOMMENDED`;
    see `compile`). The logged `d_loss`, `gradient_penalty` and accuracies of a step are the
    means over its `d_steps` discriminator updates (each update counts, not
    only the last). The logged discriminator accuracies use the loss's own
    decision boundary (`kerasgen.gan.losses.decision_boundary`: 0 for logits
    and hinge, half the real target for least squares); a Wasserstein critic
    has none and logs none.

    Under a distribution strategy each dataset batch is the global batch
    (losses scaled by the replicas, noise cut from one global draw, the
    generator's batch norm on global statistics). Under a mixed dtype policy
    the networks compute in the low dtype; images, scores and losses stay
    float32 (`kerasgen.networks`, `kerasgen.optimizers`).

    Args:
        image_shape: `(height, width, channels)` of the images.
        latent_dim: size of z.
        num_classes: 0 for an unconditional GAN, else the number of labels.
        generator_filters: filters of the generator's layers, widest first;
            one upsampling each, so sides must be divisible by 2 ** len.
        discriminator_filters: filters of the discriminator's stride-2 convolutions.
        loss: one of `kerasgen.gan.recipes.LOSSES`: `minimax`, `non_saturating` (default),
            `least_squares`, `hinge`, `wasserstein` (with gradient penalty).
        d_steps: discriminator updates per generator update (k in the paper),
            each on its own real minibatch; None for the loss's recommended
            value (5 for `wasserstein`, else 1).
        gradient_penalty: weight of WGAN-GP's penalty (used with `wasserstein`).
        label_smoothing: one-sided smoothing, real targets become 1 - this
            value; only for `kerasgen.gan.recipes.SMOOTHABLE` losses (hinge and
            Wasserstein have no target to smooth, and refuse it).
        ema_decay: if > 0, keep an exponential moving average of the generator's
            weights and sample from it.
        spectral_norm: spectral normalization of every discriminator layer
            but the label embedding (Miyato et al. 2018), with Keras's
            `SpectralNormalization` (one power iteration per training call).
        r1_gamma: weight gamma of the R1 penalty on real images,
            gamma / 2 * E[|grad_x D(x)|^2] (Mescheder et al. 2018); 0 for none.
            Logged as `r1_penalty` (the mean squared gradient norm, unweighted).
        minibatch_std: give the discriminator a minibatch standard-deviation
            feature map (Karras et al. 2018; `kerasgen.networks.MinibatchStandardDeviation`).
        seed: seed of the latent noise.

    Example:
        >>> gan = GAN(latent_dim=64, loss="wasserstein")  # d_steps=5
        >>> gan.compile()  # Adam(1e-4, beta_1=0, beta_2=0.9) for both networks
        >>> images, _ = kerasgen.data.load_images("mnist", "train")
        >>> batches = kerasgen.data.make_dataset(images, gan.images_per_step(64), drop_remainder=True)
        >>> gan.fit(batches, epochs=5)  # 5 critic updates on 64 real images each, 1 generator update
        >>> digits = gan.generate(16, seed=0)
    """

    def __init__(
        self,
        image_shape=(28, 28, 1),
        latent_dim=64,
        num_classes=0,
        generator_filters=(128, 64),
        discriminator_filters=(64, 128),
        loss="non_saturating",
        d_steps=None,
        gradient_penalty=10.0,
        label_smoothing=0.0,
        ema_decay=0.999,
        spectral_norm=False,
        r1_gamma=0.0,
        minibatch_std=False,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_hyperparameters(loss, d_steps, label_smoothing, ema_decay, r1_gamma)
        check_networks(image_shape, latent_dim, num_classes, generator_filters, gradient_penalty)
        self.image_shape = tuple(image_shape)
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.generator_filters = tuple(generator_filters)
        self.discriminator_filters = tuple(discriminator_filters)
        self.adversarial_loss = loss
        self._d_steps_chosen = d_steps is not None
        self.d_steps = d_steps if self._d_steps_chosen else gan_losses.RECOMMENDED[loss]["d_steps"]
        self.gradient_penalty = gradient_penalty
        self.label_smoothing = label_smoothing
        self.ema_decay = ema_decay
        self.spectral_norm = spectral_norm
        self.r1_gamma = r1_gamma
        self.minibatch_std = minibatch_std
        self.seed = seed
        self.generator = build_dcgan_generator(self.image_shape, latent_dim, self.generator_filters, num_classes)
        self.discriminator = build_dcgan_discriminator(
            self.image_shape,
            self.discriminator_filters,
            num_classes,
            spectral_norm=spectral_norm,
            minibatch_std=minibatch_std,
        )
        self.ema_generator = None
        if ema_decay:
            self.ema_generator = build_dcgan_generator(
                self.image_shape, latent_dim, self.generator_filters, num_classes, name="ema_generator"
            )
            self.ema_generator.trainable = False
            self.ema_generator.set_weights(self.generator.get_weights())
        for network in (self.generator, self.ema_generator):
            synchronize_batch_norm(network)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.real_accuracy_tracker = keras.metrics.Mean(name="d_real_accuracy")
        self.fake_accuracy_tracker = keras.metrics.Mean(name="d_fake_accuracy")
        self.penalty_tracker = keras.metrics.Mean(name="gradient_penalty")
        self.r1_tracker = keras.metrics.Mean(name="r1_penalty")
        self.build((None, latent_dim))

    flops_passes = (("generator", 1, 1), ("discriminator", 0, 3))
    own_optimizers = ("d_optimizer", "g_optimizer")

    def compile(self, d_optimizer=None, g_optimizer=None, loss=None, **kwargs):
        """Set both optimizers and build them (so `load_weights` restores their state); by default Adam with the
        loss's recommended settings (`kerasgen.gan.recipes.RECOMMENDED`: Adam(1e-4, 0, 0.9) for `wasserstein`,
        DCGAN's Adam(2e-4, 0.5) for the others), wrapped for loss scaling under `mixed_float16`. `loss`, if given,
        replaces the constructor's (and `d_steps` follows it, if the constructor was not given one).

        Example:
            >>> gan.compile(d_optimizer=keras.optimizers.Adam(1e-4), loss="hinge")
        """
        if loss is not None:
            gan_losses.check_loss(loss)
            check_smoothing(loss, self.label_smoothing)
            self.adversarial_loss = loss
            if not self._d_steps_chosen:
                self.d_steps = gan_losses.RECOMMENDED[loss]["d_steps"]
        super().compile(**kwargs)
        d_optimizer = d_optimizer or recommended_adam(self.adversarial_loss)
        g_optimizer = g_optimizer or recommended_adam(self.adversarial_loss)
        self.d_optimizer = with_loss_scaling(d_optimizer, self.dtype_policy)
        self.g_optimizer = with_loss_scaling(g_optimizer, self.dtype_policy)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    def images_per_step(self, batch_size):
        """Real images one `train_step` needs: `d_steps * batch_size`, a fresh `batch_size` per discriminator update.

        The training pipeline batches its data by this number; `batch_size`
        is the minibatch of each update (and the generator's noise batch).

        Example:
            >>> GAN(loss="wasserstein").images_per_step(64)  # d_steps = 5
            320
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1. Received: batch_size={batch_size}")
        return self.d_steps * batch_size

    @property
    def metrics(self):
        accuracies = [self.real_accuracy_tracker, self.fake_accuracy_tracker]
        if gan_losses.decision_boundary(self.adversarial_loss) is None:
            accuracies = []
        r1 = [self.r1_tracker] if self.r1_gamma else []
        return [self.d_loss_tracker, self.g_loss_tracker, *accuracies, self.penalty_tracker, *r1]

    def _inputs(self, tensors, labels):
        return [tensors, labels] if self.num_classes else tensors

    def call(self, inputs, training=False):
        """Images in [0, 1] from latents (and labels, for a conditional GAN)."""
        return (self.sampling_generator(inputs, training=training) + 1.0) / 2.0

    def generate(self, count, labels=None, seed=None):
        """`count` images in [0, 1]; `seed` makes them repeatable, `labels` picks classes.

        Example:
            >>> digits = cgan.generate(10, labels=list(range(10)), seed=0)
        """
        latents = keras.random.normal((checked_count(count), self.latent_dim), seed=seed)
        labels = checked_labels(labels, self.num_classes, count)
        return self(latents if labels is None else [latents, ops.convert_to_tensor(labels)])

    @property
    def sampling_generator(self):
        """The network samples come from: the moving-average generator if there is one."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def interpolate(self, steps=10, seed=None, label=0):
        """Images along a straight line between two random latents.

        Example:
            >>> strip = gan.interpolate(steps=10, seed=0)
        """
        if self.num_classes:
            checked_labels([label], self.num_classes, 1)
        ends = keras.random.normal((2, self.latent_dim), seed=seed)
        weights = ops.reshape(ops.linspace(0.0, 1.0, steps), (steps, 1))
        latents = ends[0] * (1.0 - weights) + ends[1] * weights
        return self(self._inputs(latents, ops.full((steps,), label, "int32")))

    def _score(self, labels):
        return lambda images: self.discriminator(self._inputs(images, labels), training=True)

    def _penalty(self, real, fake, labels):
        mix = self._draw(keras.random.uniform, (ops.shape(real)[0], 1, 1, 1))
        return penalties.interpolates_penalty(self._score(labels), real, fake, mix)

    def r1_penalty(self, real, labels=None):
        """R1's mean squared gradient norm E[|grad_x D(x)|^2] on `real` images in [-1, 1]; the discriminator's loss
        adds `r1_gamma / 2` times it (Mescheder et al. 2018, eq. 9).

        Example:
            >>> gan.r1_penalty(images * 2.0 - 1.0)
        """
        labels = None if labels is None else ops.convert_to_tensor(labels, "int32")
        real = ops.convert_to_tensor(real, "float32")
        return penalties.scores_and_r1(self._score(labels), real, with_r1=True)[1]

    def _draw(self, random_op, shape):
        return draw_for_replica_batch(lambda global_shape: random_op(global_shape, seed=self.seed_generator), shape)

    def _discriminator_step(self, real, labels, batch):
        latents = self._draw(keras.random.normal, (batch, self.latent_dim))
        fake = self.generator(self._inputs(latents, labels), training=True)
        with tf.GradientTape() as tape:
            real_scores, r1 = penalties.scores_and_r1(self._score(labels), real, with_r1=bool(self.r1_gamma))
            fake_scores = self._score(labels)(fake)
            loss = gan_losses.discriminator_loss(
                self.adversarial_loss, real_scores, fake_scores, 1.0 - self.label_smoothing
            )
            penalty = self._penalty(real, fake, labels) if self.adversarial_loss == "wasserstein" else ops.zeros(())
            total = loss + self.gradient_penalty * penalty + self.r1_gamma / 2 * r1
            scaled_total = self.d_optimizer.scale_loss(scale_loss_for_replicas(total))
        gradients = tape.gradient(scaled_total, self.discriminator.trainable_weights)
        self.d_optimizer.apply(gradients, self.discriminator.trainable_weights)
        logs = {"d_loss": total, "gradient_penalty": penalty, **({"r1_penalty": r1} if self.r1_gamma else {})}
        boundary = gan_losses.decision_boundary(self.adversarial_loss, 1.0 - self.label_smoothing)
        if boundary is not None:
            logs["d_real_accuracy"] = ops.mean(ops.cast(real_scores > boundary, "float32"))
            logs["d_fake_accuracy"] = ops.mean(ops.cast(fake_scores < boundary, "float32"))
        return logs

    def _generator_step(self, labels, batch):
        latents = self._draw(keras.random.normal, (batch, self.latent_dim))
        with tf.GradientTape() as tape:
            fake = self.generator(self._inputs(latents, labels), training=True)
            scores = self.discriminator(self._inputs(fake, labels), training=True)
            loss = gan_losses.generator_loss(self.adversarial_loss, scores)
            scaled_loss = self.g_optimizer.scale_loss(scale_loss_for_replicas(loss))
        gradients = tape.gradient(scaled_loss, self.generator.trainable_weights)
        self.g_optimizer.apply(gradients, self.generator.trainable_weights)
        return loss

    def _update_moving_average(self):
        # Warm-up as in tf.train.ExponentialMovingAverage(num_updates=...): early averages
        # would otherwise be dominated by the random initial weights.
        step = ops.cast(self.g_optimizer.iterations, "float32")
        decay = ops.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))
        for average, current in zip(self.ema_generator.weights, self.generator.weights, strict=True):
            average.assign(decay * average + (1.0 - decay) * current)

    def train_step(self, data):
        images, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        if self.num_classes and labels is None:
            raise ValueError("A conditional GAN trains on (images, labels) batches.")
        all_real = images * 2.0 - 1.0
        all_labels = ops.cast(labels, "int32") if self.num_classes else None
        batch = ops.shape(all_real)[0] // self.d_steps
        if isinstance(batch, int) and batch == 0:
            raise ValueError(
                f"A step needs d_steps * batch_size real images (d_steps={self.d_steps}); "
                f"batch the data by images_per_step(batch_size). Received: {ops.shape(all_real)[0]} images"
            )
        # Algorithm 1: each of the k updates on its own real minibatch. Strided slices (update i takes images
        # i, i + k, i + 2k, ...) give each replica of a strategy its share of every update's minibatch, the share
        # one device would give it, as a contiguous slice would not.
        all_real = all_real[: batch * self.d_steps]
        all_labels = None if all_labels is None else all_labels[: batch * self.d_steps]
        updates = []
        for step in range(self.d_steps):
            real = all_real[step :: self.d_steps]
            labels = None if all_labels is None else all_labels[step :: self.d_steps]
            updates.append(self._discriminator_step(real, labels, batch))
        # The logs of the step: d_loss, gradient_penalty and the accuracies averaged over the k updates.
        logs = {key: ops.mean(ops.stack([update[key] for update in updates])) for key in updates[0]}
        logs["g_loss"] = self._generator_step(labels, batch)
        if self.ema_generator is not None:
            self._update_moving_average()
        for tracker in self.metrics:
            tracker.update_state(logs[tracker.name])
        return reducible_logs({metric.name: metric.result() for metric in self.metrics})

    def get_config(self):
        config = super().get_config()
        config.update(
            image_shape=self.image_shape,
            latent_dim=self.latent_dim,
            num_classes=self.num_classes,
            generator_filters=self.generator_filters,
            discriminator_filters=self.discriminator_filters,
            loss=self.adversarial_loss,
            d_steps=self.d_steps,
            gradient_penalty=self.gradient_penalty,
            label_smoothing=self.label_smoothing,
            ema_decay=self.ema_decay,
            spectral_norm=self.spectral_norm,
            r1_gamma=self.r1_gamma,
            minibatch_std=self.minibatch_std,
            seed=self.seed,
        )
        return config

    def compile_for_recipe(self, recipe, jit_compile="auto"):
        """Compile as `kerasgen train gan` does: two Adam with the loss's recommended settings, the recipe's
        `learning_rate`, `beta_1`, `beta_2` and the discriminator's own `d_learning_rate` (TTUR, Heusel et al.
        2017) where not None; returns the optimizers' settings, for the card.

        Example:
            >>> gan.compile_for_recipe({"learning_rate": 1e-4, "d_learning_rate": 4e-4})  # TTUR
        """
        given = {key: recipe.get(key) for key in ("learning_rate", "beta_1", "beta_2")}
        d_given = {**given, "learning_rate": recipe.get("d_learning_rate") or given["learning_rate"]}
        loss = self.adversarial_loss
        self.compile(
            d_optimizer=recommended_adam(loss, **d_given),
            g_optimizer=recommended_adam(loss, **given),
            jit_compile=jit_compile,
        )
        settings = optimizer_recipe(recommended_adam(loss, **given))
        d_learning_rate = optimizer_recipe(recommended_adam(loss, **d_given))["learning_rate"]
        own_rate = {"d_learning_rate": d_learning_rate} if d_learning_rate != settings["learning_rate"] else {}
        return {**settings, **own_rate, "d_steps": self.d_steps}

    def preview(self, count=64, seed=0, images=None):
        """`count` samples from a fixed seed; a conditional GAN a column per class."""
        return sample_grid(self, count, seed)

    def sample(self, count, seed=None):
        """`generate(count, seed=seed)`, labels cycling through the classes: what `kerasgen sample` draws."""
        return self.generate(count, seed=seed)

    def figures(self, card, samples=None, test_images=None):
        """`kerasgen.gan.figures.gan_figures` on the card's test digits (see there)."""
        from kerasgen.gan.figures import evaluate

        return evaluate(self, card, test_images)

    def validation_figure(self, data_card):
        """`kerasgen.gan.figures.validation_fid`: MNIST FID of samples against validation digits."""
        from kerasgen.gan.figures import validation_fid

        return validation_fid(self, data_card)

    def extra_pictures(self, folder, name_or_dir="NAME", rows=6, steps=10):
        """`kerasgen.gan.figures.interpolation_picture`: latent interpolations beside the sample grid."""
        from kerasgen.gan.figures import interpolation_picture

        return interpolation_picture(self, folder, name_or_dir, rows, steps)

    def serving_counterpart(self, count, seed=0):
        """`kerasgen.gan.serving.serving_counterpart`: `sampling_generator` and `count` random latents (and labels)."""
        from kerasgen.gan.serving import serving_counterpart

        return serving_counterpart(self, count, seed)

    def serving_functions(self):
        """`generate` (default) and `generate_seeded`, with `labels` if conditional; see `kerasgen.gan.serving`."""
        from kerasgen.gan.serving import serving_functions

        return serving_functions(self)
