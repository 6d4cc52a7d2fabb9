"""The GAN's adversarial losses and their recommended settings, as plain data (no TensorFlow).

`kerasgen train gan --help` and the CycleGAN's spec read these without
importing the model; `kerasgen.gan.losses` computes the losses themselves.

Example:
    >>> from kerasgen.gan.recipes import recommended
    >>> recommended("wasserstein")
    {'d_steps': 5, 'learning_rate': 0.0001, 'beta_1': 0.0, 'beta_2': 0.9}
"""

import numpy as np

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


def check_hyperparameters(loss, d_steps, label_smoothing, ema_decay, r1_gamma):
    """Refuse GAN hyperparameters out of their range (ValueError naming the value).

    Example:
        >>> check_hyperparameters("hinge", None, 0.1, 0.999, 0.0)
        ValueError: label_smoothing has no meaning for the hinge loss ...
    """
    check_loss(loss)
    if d_steps is not None and d_steps < 1:
        raise ValueError(f"d_steps must be at least 1. Received: d_steps={d_steps}")
    if not 0 <= label_smoothing < 1:
        raise ValueError(f"label_smoothing must be in [0, 1). Received: label_smoothing={label_smoothing}")
    check_smoothing(loss, label_smoothing)
    if not 0 <= ema_decay < 1:
        raise ValueError(f"ema_decay must be in [0, 1). Received: ema_decay={ema_decay}")
    if r1_gamma < 0:
        raise ValueError(f"r1_gamma must be at least 0. Received: r1_gamma={r1_gamma}")


def check_networks(image_shape, latent_dim, num_classes, generator_filters, gradient_penalty):
    """Refuse network sizes a GAN cannot be built with (ValueError naming the value).

    Example:
        >>> check_networks((28, 28, 1), 0, 0, (128, 64), 10.0)
        ValueError: latent_dim must be an integer of at least 1. Received: latent_dim=0
    """
    for name, value, least in (("latent_dim", latent_dim, 1), ("num_classes", num_classes, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be an integer of at least {least}. Received: {name}={value!r}")
    if gradient_penalty < 0:
        raise ValueError(f"gradient_penalty must be at least 0. Received: gradient_penalty={gradient_penalty}")
    if len(image_shape) != 3 or not generator_filters:  # no discriminator_filters: a linear discriminator
        raise ValueError(
            "image_shape must be (height, width, channels) and generator_filters non-empty. Received: "
            f"{image_shape=}, {generator_filters=}"
        )


def checked_count(count):
    """`count` if it is a whole number of images (0 or more); a ValueError otherwise."""
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
        raise ValueError(f"count must be a non-negative integer. Received: count={count!r}")
    return count


def checked_labels(labels, num_classes, count):
    """A conditional GAN's `count` labels as int32 (None: cycling through the classes); None without classes.

    Raises:
        ValueError: labels for a GAN without classes, or not `count` whole numbers in [0, num_classes).

    Example:
        >>> checked_labels([7, 7.0], 10, 2)
        array([7, 7], dtype=int32)
    """
    if not num_classes:
        if labels is not None:
            raise ValueError("labels are for a conditional GAN (num_classes > 0); this GAN has no classes.")
        return None
    labels = np.arange(count) % num_classes if labels is None else np.asarray(labels)
    whole = labels.dtype.kind in "iu" or (labels.dtype.kind == "f" and np.all(labels == np.round(labels)))
    if labels.size and (not whole or labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must be whole numbers in [0, {num_classes}). Received: {labels.ravel()[:8].tolist()}")
    if labels.shape != (count,):
        raise ValueError(f"labels must have shape ({count},). Received: shape={labels.shape}")
    return labels.astype(np.int32)


def check_smoothing(loss, label_smoothing):
    if label_smoothing and loss not in SMOOTHABLE:
        raise ValueError(
            f"label_smoothing has no meaning for the {loss} loss (no real target to smooth); use 0 or one of "
            f"{', '.join(SMOOTHABLE)}. Received: label_smoothing={label_smoothing}, loss={loss!r}"
        )
