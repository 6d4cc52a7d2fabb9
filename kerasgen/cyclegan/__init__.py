"""The CycleGAN family (Zhu et al. 2017): unpaired image-to-image translation with cycle consistency.

This module is the family's TensorFlow-free spec; the model is `kerasgen.cyclegan.model.CycleGAN`, its image
pool `kerasgen.cyclegan.pool` and learning-rate schedule `kerasgen.cyclegan.schedule`, imported on first use.

Example:
    >>> from kerasgen.cyclegan import CycleGAN
    >>> translated = CycleGAN.from_preset("cyclegan.digits").translate(images, "a2b")
"""

from kerasgen.families import UNPAIRED, Family, Option, lazy_classes, register
from kerasgen.gan.recipes import LOSSES as GAN_LOSSES

# A Wasserstein critic needs a Lipschitz constraint (WGAN-GP's penalty), which CycleGAN does not have.
LOSSES = tuple(name for name in GAN_LOSSES if name != "wasserstein")
DIGITS_DEFAULTS = {"steps_per_epoch": 600, "semantic_classifier": "classifier.digits"}
"""What `--data digits` changes when the user gives none: 600 steps an epoch, CyCADA's term with `classifier.digits`."""
MNIST_MNISTM_DEFAULTS = {"steps_per_epoch": 600}
"""What `--data mnist-mnistm` changes when the user gives none: 600 steps an epoch, as digits (no semantic term:
`classifier.digits` reads grey images)."""

FAMILY = register(
    Family(
        name="cyclegan",
        model="kerasgen.cyclegan.model:CycleGAN",
        data=UNPAIRED,
        summary="Train a CycleGAN (default: UCI digits <-> MNIST digits, 32x32, about 5 minutes on 2 CPU cores).",
        paper="Zhu et al. 2017, Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks",
        headline=("a2b_cycle_error", "A->B->A cycle error"),
        data_headlines={
            "digits": ("a2b_label_kept", "UCI->MNIST labels kept"),
            "mnist-mnistm": ("adapted_accuracy", "MNIST->MNIST-M adapted accuracy"),
        },
        recipe={
            "data": "digits",
            "epochs": 2,
            "steps_per_epoch": None,
            "batch_size": 8,
            "learning_rate": 2e-4,
            "decay_epochs": None,
            "image_size": 32,
            "channels": None,
            "augment": None,
        },
        options=(
            Option("generator", "Generator architecture.", kind="choice", choices=("resnet", "unet"), default="resnet"),
            Option("generator_filters", "Filters of the generators' first layer.", minimum=1, default=16),
            Option(
                "residual_blocks",
                "Residual blocks of the ResNet generator [default: 6 up to 128 px, 9 above].",
                minimum=0,
            ),
            Option("discriminator_filters", "Filters of the PatchGAN's first layer.", minimum=1, default=32),
            Option(
                "loss",
                "Adversarial loss.",
                kind="choice",
                choices=LOSSES,
                default="least_squares",
            ),
            Option("lambda_cycle", "Weight of the cycle-consistency loss.", "float", minimum=0, default=10.0),
            Option(
                "lambda_identity",
                "Identity loss weight as a multiple of --lambda-cycle (0: off).",
                "float",
                minimum=0,
                default=0.5,
            ),
            Option("pool_size", "Generated images kept per domain for the discriminators.", minimum=0, default=50),
            Option(
                "semantic_classifier",
                "Classifier (zoo entry or folder) for CyCADA's semantic-consistency loss; `none` turns it off "
                "[default: classifier.digits for --data digits, else none].",
                kind="str",
            ),
            Option("lambda_semantic", "Weight of the semantic-consistency loss.", "float", minimum=0, default=1.0),
        ),
        data_defaults={"digits": DIGITS_DEFAULTS, "mnist-mnistm": MNIST_MNISTM_DEFAULTS},
        recipe_options=(
            Option(
                "steps_per_epoch",
                f"[default: {DIGITS_DEFAULTS['steps_per_epoch']} for --data digits and mnist-mnistm, "
                "else larger domain / batch size]",
                minimum=1,
            ),
            Option("decay_epochs", "Epochs of linear decay to 0 at the end [default: half of --epochs].", minimum=0),
            Option("channels", "[default: 1 for digits, 3 otherwise]", kind="choice", choices=("1", "3")),
            Option("augment", "Resize-crop-flip jitter [default: on for photos].", kind="switch"),
        ),
        export_after_training=True,
        benchmark_cases={"cyclegan.digits": "cyclegan.digits"},
    )
)

__getattr__ = lazy_classes(
    __name__,
    {
        "CycleGAN": "model",
        "ImagePool": "pool",
        "ConstantThenLinearDecay": "schedule",
        "linear_decay_schedule": "schedule",
    },
)
