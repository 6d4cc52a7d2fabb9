"""The GAN family: DCGAN networks, unconditional or class-conditional, with a choice of adversarial losses.

This module is the family's TensorFlow-free spec; the model is `kerasgen.gan.model.GAN` and the losses
`kerasgen.gan.losses`, imported on first use of `kerasgen.gan.GAN`.

Example:
    >>> from kerasgen.gan import GAN
    >>> digits = GAN.from_preset("cgan.mnist").generate(10, labels=list(range(10)), seed=0)
"""

from kerasgen.families import IMAGES, Family, Option, lazy_classes, mnist_recipe, register
from kerasgen.gan.recipes import LOSSES, RECOMMENDED


def recommended_values(key):
    """`kerasgen.gan.recipes.RECOMMENDED[loss][key]` of every loss, for `--help`: "0.0002; wasserstein 0.0001"."""
    usual = RECOMMENDED["non_saturating"][key]
    others = [f"{loss} {settings[key]}" for loss, settings in RECOMMENDED.items() if settings[key] != usual]
    return "; ".join([str(usual), *others])


FAMILY = register(
    Family(
        name="gan",
        model="kerasgen.gan.model:GAN",
        data=IMAGES,
        summary="Train a DCGAN (add --conditional for a class-conditional one) on the embedded MNIST digits.",
        paper="Goodfellow et al. 2014, Generative Adversarial Nets; Radford et al. 2016, DCGAN; "
        "Mirza and Osindero 2014, Conditional GANs",
        headline=("fid", "MNIST FID"),
        recipe=mnist_recipe(
            epochs=30, batch_size=64, learning_rate=None, d_learning_rate=None, beta_1=None, beta_2=None
        ),
        options=(
            Option("latent_dim", "Size of the noise vector.", minimum=1, default=64),
            Option(
                "loss",
                "Adversarial loss (wasserstein: WGAN-GP).",
                kind="choice",
                choices=LOSSES,
                default="non_saturating",
            ),
            Option(
                "d_steps",
                "Discriminator updates per generator update [default: the loss's; 5 for wasserstein].",
                minimum=1,
            ),
            Option(
                "num_classes",
                "Class-conditional GAN on 10 classes (needs labelled data).",
                kind="flag",
                flag="conditional",
                flag_value=10,
                default=0,
            ),
            Option(
                "generator_filters", "Generator widths, widest first; one upsampling each.", "widths", default=(128, 64)
            ),
            Option(
                "discriminator_filters",
                "Discriminator widths; one stride-2 convolution each.",
                "widths",
                default=(64, 128),
            ),
            Option(
                "label_smoothing",
                "One-sided label smoothing of real targets.",
                "float",
                minimum=0,
                below=1,
                default=0.0,
            ),
            Option(
                "ema_decay",
                "Moving average of the generator for sampling (0: off).",
                "float",
                minimum=0,
                below=1,
                default=0.999,
            ),
            Option(
                "spectral_norm",
                "Spectral normalization of the discriminator (Miyato et al. 2018).",
                "switch",
                default=False,
            ),
            Option(
                "r1_gamma",
                "Weight gamma of the R1 penalty on real images, gamma/2 E|grad D|^2 (Mescheder et al. 2018; 0: off).",
                "float",
                minimum=0,
                default=0.0,
            ),
            Option(
                "minibatch_std",
                "Minibatch standard-deviation feature in the discriminator (Karras et al. 2018).",
                "switch",
                default=False,
            ),
        ),
        recipe_options=(
            Option(
                "d_learning_rate",
                "The discriminator's own learning rate (two time-scale updates, Heusel et al. 2017) "
                "[default: --learning-rate].",
                "float",
                above=0,
            ),
            *(
                Option(
                    key,
                    f"Adam's {key.replace('_', ' ')} [default: the loss's: {recommended_values(key)}].",
                    "float",
                    **bounds,
                )
                for key, bounds in (
                    ("learning_rate", {"above": 0}),
                    ("beta_1", {"minimum": 0, "below": 1}),
                    ("beta_2", {"minimum": 0, "below": 1}),
                )
            ),
        ),
        labels="num_classes",
        full_batches=True,
        benchmark_cases={"gan": "dcgan.mnist", "cgan": "cgan.mnist"},
    )
)

__getattr__ = lazy_classes(__name__, {"GAN": "model"})
