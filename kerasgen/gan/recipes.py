"""The GAN's adversarial losses and their recommended settings, as plain data (no TensorFlow).

`kerasgen train gan --help` and the CycleGAN's spec read these without
importing the model; `kerasgen.gan.losses` computes the losses themselves.

Example:
    >>> from kerasgen.gan.recipes import recommended
    >>> recommended("wasserstein")
    {'d_steps': 5, 'learning_rate': 0.0001, 'beta_1': 0.0, 'beta_2': 0.9}
"""

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
    check_loss(loss)
    unknown = sorted(set(given) - set(RECOMMENDED[loss]))
    if unknown:
        raise ValueError(f"Unknown settings {unknown}; choose among {sorted(RECOMMENDED[loss])}. Received: {given}")
    return {**RECOMMENDED[loss], **{key: value for key, value in given.items() if value is not None}}


def check_loss(loss, allowed=LOSSES):
    """Refuse a loss name that is not one of `allowed` (ValueError naming the choices).

    Example:
        >>> check_loss("wasserstein", allowed=("least_squares", "hinge"))
        ValueError: loss must be one of ('least_squares', 'hinge'). Received: loss='wasserstein'
    """
    if loss not in allowed:
        raise ValueError(f"loss must be one of {allowed}. Received: loss={loss!r}")
