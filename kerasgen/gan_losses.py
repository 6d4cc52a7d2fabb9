"""Adversarial losses, chosen by name, on the discriminator's raw outputs (logits or critic scores).

Each entry gives `(discriminator_loss(real, fake), generator_loss(fake))`,
batch means of per-example losses. `wasserstein` is the critic loss of WGAN;
its gradient penalty (WGAN-GP) is added by the model, which owns the critic.
Under a distribution strategy these are means over a replica's share of the
batch; the models divide them by the number of replicas before
differentiating (`kerasgen.distribute.scale_loss_for_replicas`).
Scores are cast to float32 first, so the losses are float32 under every
dtype policy (kerasgen's discriminators already give float32 scores).
"""

from keras import ops

LOSSES = ("minimax", "non_saturating", "least_squares", "hinge", "wasserstein")


def discriminator_loss(name, real, fake, real_target=1.0):
    """Loss of the discriminator; `real_target` < 1 gives one-sided label smoothing.

    Example:
        >>> discriminator_loss("non_saturating", d_real, d_fake, real_target=0.9)
    """
    real, fake = ops.cast(real, "float32"), ops.cast(fake, "float32")
    if name in ("minimax", "non_saturating"):
        real_term = real_target * ops.softplus(-real) + (1.0 - real_target) * ops.softplus(real)
        return ops.mean(real_term) + ops.mean(ops.softplus(fake))
    if name == "least_squares":
        return 0.5 * ops.mean(ops.square(real - real_target)) + 0.5 * ops.mean(ops.square(fake))
    if name == "hinge":
        return ops.mean(ops.relu(1.0 - real)) + ops.mean(ops.relu(1.0 + fake))
    if name == "wasserstein":
        return ops.mean(fake) - ops.mean(real)
    raise ValueError(f"loss must be one of {LOSSES}. Received: loss={name!r}")


def generator_loss(name, fake):
    """Loss of the generator given the discriminator's outputs on its samples.

    `minimax` is the saturating min log(1 - D(G(z))) of Goodfellow et al. (2014);
    `non_saturating` is their recommended max log D(G(z)).

    Example:
        >>> generator_loss("least_squares", d_fake)
    """
    fake = ops.cast(fake, "float32")
    if name == "minimax":
        return -ops.mean(ops.softplus(fake))
    if name == "non_saturating":
        return ops.mean(ops.softplus(-fake))
    if name == "least_squares":
        return 0.5 * ops.mean(ops.square(fake - 1.0))
    if name in ("hinge", "wasserstein"):
        return -ops.mean(fake)
    raise ValueError(f"loss must be one of {LOSSES}. Received: loss={name!r}")
