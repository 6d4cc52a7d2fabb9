"""The GAN's gradient penalties: WGAN-GP's on interpolates (Gulrajani et al. 2017), R1 on real images (Mescheder
et al. 2018).

Each takes `score`, the discriminator as a function of images (labels bound), so both serve conditional GANs.

Example:
    >>> penalty = interpolates_penalty(lambda images: discriminator(images, training=True), real, fake, mix)
"""

import tensorflow as tf
from keras import ops


def squared_gradient_norms(gradients):
    return ops.sum(ops.square(gradients), axis=(1, 2, 3))


def interpolates_penalty(score, real, fake, mix):
    """WGAN-GP's E[(|grad D(x)| - 1)^2] at x = real + mix * (fake - real), `mix` one U(0, 1) draw per image.

    Not loss-scaled: the penalty keeps these gradients near norm 1, far from
    float16's underflow, and an overflow here would turn the logged loss (not
    only the gradients) non-finite and stop the run.

    Example:
        >>> interpolates_penalty(score, real, fake, keras.random.uniform((len(real), 1, 1, 1)))
    """
    interpolates = real + mix * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(interpolates)
        scores = score(interpolates)
    norms = ops.sqrt(squared_gradient_norms(tape.gradient(scores, interpolates)) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))


def scores_and_r1(score, real, with_r1):
    """The scores of `real` images and, `with_r1`, R1's E[|grad D(x)|^2] on them (else 0), from one forward pass.

    Called under the discriminator's tape, the penalty's gradient reaches the
    discriminator's weights (a second-order gradient).

    Example:
        >>> real_scores, r1 = scores_and_r1(score, real, with_r1=True)
    """
    if not with_r1:
        return score(real), ops.zeros(())
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(real)
        scores = score(real)
    return scores, ops.mean(squared_gradient_norms(tape.gradient(scores, real)))
