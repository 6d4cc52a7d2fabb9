"""Adversarial losses, chosen by name, on the discriminator's raw outputs (logits or critic scores).

Each entry gives `(discriminator_loss(real, fake), generator_loss(fake))`,
batch means of per-example losses. `wasserstein` is the critic loss of WGAN;
its gradient penalty (WGAN-GP) is added by the model, which owns the critic.
Under a distribution strategy these are means over a replica's share of the
batch; the models divide them by the number of replicas before
differentiating (`kerasgen.distribute.scale_loss_for_replicas`).
Scores are cast to float32 first, so the losses are float32 under every
dtype policy (kerasgen's discriminators already give float32 scores).

Beside the losses: the score that separates "real" from "fake" for the
discriminator's accuracy (`decision_boundary`). The losses' names and
recommended settings are plain data in `kerasgen.gan.recipes`.
"""

import keras
from keras import ops

from kerasgen.gan.recipes import (  # noqa: F401 - part of this API
    LOSSES,
    RECOMMENDED,
    SMOOTHABLE,
    check_loss,
    check_smoothing,
    recommended,
)


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
    check_loss(name)
    if name == "wasserstein":
        return None
    return real_target / 2 if name == "least_squares" else 0.0


def _logistic_discriminator(real, fake, real_target):
    real_term = real_target * ops.softplus(-real) + (1.0 - real_target) * ops.softplus(real)
    return ops.mean(real_term) + ops.mean(ops.softplus(fake))


_DISCRIMINATOR = {
    "minimax": _logistic_discriminator,
    "non_saturating": _logistic_discriminator,
    "least_squares": lambda real, fake, target: (
        0.5 * ops.mean(ops.square(real - target)) + 0.5 * ops.mean(ops.square(fake))
    ),
    "hinge": lambda real, fake, target: ops.mean(ops.relu(1.0 - real)) + ops.mean(ops.relu(1.0 + fake)),
    "wasserstein": lambda real, fake, target: ops.mean(fake) - ops.mean(real),
}
_GENERATOR = {
    "minimax": lambda fake: -ops.mean(ops.softplus(fake)),
    "non_saturating": lambda fake: ops.mean(ops.softplus(-fake)),
    "least_squares": lambda fake: 0.5 * ops.mean(ops.square(fake - 1.0)),
    "hinge": lambda fake: -ops.mean(fake),
    "wasserstein": lambda fake: -ops.mean(fake),
}


def discriminator_loss(name, real, fake, real_target=1.0):
    """Loss of the discriminator; `real_target` < 1 gives one-sided label smoothing (`SMOOTHABLE` losses only).

    Example:
        >>> discriminator_loss("non_saturating", d_real, d_fake, real_target=0.9)
    """
    check_loss(name)
    if real_target != 1.0 and name not in SMOOTHABLE:
        raise ValueError(
            f"Label smoothing has no meaning for the {name} loss; use it with {', '.join(SMOOTHABLE)}. "
            f"Received: real_target={real_target}"
        )
    return _DISCRIMINATOR[name](ops.cast(real, "float32"), ops.cast(fake, "float32"), real_target)


def generator_loss(name, fake):
    """Loss of the generator given the discriminator's outputs on its samples.

    `minimax` is the saturating min log(1 - D(G(z))) of Goodfellow et al. (2014);
    `non_saturating` is their recommended max log D(G(z)).

    Example:
        >>> generator_loss("least_squares", d_fake)
    """
    check_loss(name)
    return _GENERATOR[name](ops.cast(fake, "float32"))


def recommended_adam(loss, **given):
    """An Adam optimizer with the recommended settings of `loss` (`RECOMMENDED`), `given` values first.

    Args:
        loss: one of `LOSSES`.
        **given: `learning_rate`, `beta_1` or `beta_2` to use instead of the
            recommended value (None keeps it).

    Example:
        >>> recommended_adam("wasserstein")  # Adam(1e-4, beta_1=0.0, beta_2=0.9)
        >>> recommended_adam("non_saturating", learning_rate=1e-3)  # Adam(1e-3, beta_1=0.5, beta_2=0.999)
    """
    settings = recommended(loss, **given)
    del settings["d_steps"]
    return keras.optimizers.Adam(**settings)
