"""Adversarial losses, chosen by name, on the discriminator's raw outputs (logits or critic scores).

Each entry gives `(discriminator_loss(real, fake), generator_loss(fake))`,
batch means of per-example losses. `wasserstein` is the critic loss of WGAN;
its gradient penalty (WGAN-GP) is added by the model, which owns the critic.
Under a distribution strategy these are means over a replica's share of the
batch; the models divide them by the number of replicas before
differentiating (`kerasgen.distribute.scale_loss_for_replicas`).
Scores are cast to float32 first, so the losses are float32 under every
dtype policy (kerasgen's discriminators already give float32 scores).

Beside the losses, as plain data: each loss's recommended training settings
(`RECOMMENDED`), which losses have a target that label smoothing can move
(`SMOOTHABLE`), and the score that separates "real" from "fake" for the
discriminator's accuracy (`decision_boundary`).
"""

from keras import ops

LOSSES = ("minimax", "non_saturating", "least_squares", "hinge", "wasserstein")

_DCGAN = {"d_steps": 1, "learning_rate": 2e-4, "beta_1": 0.5, "beta_2": 0.999}
RECOMMENDED = {
    "minimax": dict(_DCGAN),
    "non_saturating": dict(_DCGAN),
    "least_squares": dict(_DCGAN),
    "hinge": dict(_DCGAN),
    "wasserstein": {"d_steps": 5, "learning_rate": 1e-4, "beta_1": 0.0, "beta_2": 0.9},
}
"""Training settings per loss, for when the user gives none: discriminator
updates per generator update (`d_steps`) and Adam's `learning_rate`, `beta_1`
and `beta_2` for both networks. `wasserstein` (WGAN-GP) has its paper's
n_critic = 5 and Adam(1e-4, 0, 0.9) (Gulrajani et al. 2017, Algorithm 1);
the others DCGAN's Adam(2e-4, 0.5, 0.999) with one discriminator update
(Radford et al. 2016)."""

SMOOTHABLE = ("minimax", "non_saturating", "least_squares")
"""Losses with a real target that one-sided label smoothing can lower; hinge and Wasserstein have none."""


def recommended(loss, **given):
    """The recommended settings of `loss` (`RECOMMENDED`), with every value in `given` that is not None instead.

    Args:
        loss: one of `LOSSES`.
        **given: settings the user chose (`d_steps`, `learning_rate`,
            `beta_1`, `beta_2`); None means "not chosen".

    Example:
        >>> recommended("wasserstein", learning_rate=None, d_steps=3)
        {'d_steps': 3, 'learning_rate': 0.0001, 'beta_1': 0.0, 'beta_2': 0.9}
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}. Received: loss={loss!r}")
    unknown = sorted(set(given) - set(RECOMMENDED[loss]))
    if unknown:
        raise ValueError(f"Unknown settings {unknown}; choose among {sorted(RECOMMENDED[loss])}. Received: {given}")
    return {**RECOMMENDED[loss], **{key: value for key, value in given.items() if value is not None}}


def decision_boundary(name, real_target=1.0):
    """The score above which the discriminator calls an image real, or None if the loss has no such boundary.

    Logit losses (`minimax`, `non_saturating`) and `hinge` separate at 0;
    `least_squares` regresses to 0 (fake) and `real_target` (real), so it
    separates half-way, at `real_target / 2` (0.5 without smoothing); a
    Wasserstein critic's scores have no fixed boundary (only differences
    between them mean something), so it has none and no accuracy is logged.

    Example:
        >>> decision_boundary("least_squares")
        0.5
    """
    if name not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}. Received: loss={name!r}")
    if name == "wasserstein":
        return None
    return real_target / 2 if name == "least_squares" else 0.0


def discriminator_loss(name, real, fake, real_target=1.0):
    """Loss of the discriminator; `real_target` < 1 gives one-sided label smoothing (`SMOOTHABLE` losses only).

    Example:
        >>> discriminator_loss("non_saturating", d_real, d_fake, real_target=0.9)
    """
    if real_target != 1.0 and name not in SMOOTHABLE:
        raise ValueError(
            f"Label smoothing has no meaning for the {name} loss; use it with {', '.join(SMOOTHABLE)}. "
            f"Received: real_target={real_target}"
        )
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
