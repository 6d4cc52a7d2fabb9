"""One home per model family: everything the rest of kerasgen asks about a family, as plain data.

A `Family` names its model class, the kind of data it trains on, its recipe
(the training defaults that are not model hyperparameters), the model
hyperparameters the command line exposes, its headline figure and paper, and
the functions that compile, evaluate, export, preview and benchmark it, as
`"module:attribute"` paths imported on first use. Training, the zoo, export,
evaluation, the command line and the benchmarks all look families up here,
so this module imports neither TensorFlow nor Keras, and adding a family is
one `register(Family(...))` call.

A model's hyperparameter defaults are its constructor's defaults: the command
line reads them from the class's signature, so `CycleGAN()` and
`kerasgen train cyclegan` build the same networks.

Example:
    >>> from kerasgen import families
    >>> family = families.get("vae")
    >>> family.model_class()  # imports kerasgen.vae
    <class 'kerasgen.vae.VAE'>
    >>> families.for_class("VAE").headline
    ('iwae_nll', 'NLL on the test set (nats)')
"""

import dataclasses
import importlib
import inspect

from kerasgen.errors import UserError

IMAGES = "images"  # single-domain images (with labels where the data set has them)
UNPAIRED = "unpaired"  # two unpaired image domains, A and B


@dataclasses.dataclass(frozen=True)
class Option:
    """A model hyperparameter exposed as a `kerasgen train FAMILY` option.

    Attributes:
        name: the constructor argument.
        default: the constructor's default, repeated here so that `--help`
            needs no TensorFlow; `tests/test_families.py` checks that they agree.
        help: one line for `--help`.
        kind: `int`, `float`, `str`, `widths` (comma-separated positive
            integers), `choice` or `flag` (a switch that sets `flag_value`).
        choices: the allowed values of a `choice`.
        minimum: the smallest allowed value of an `int` or `float`.
        below: a `float`'s bound that values must stay below.
        flag: the option's name on the command line if not `--NAME-WITH-DASHES`.
        flag_value: the value a `flag` sets when given.
    """

    name: str
    help: str = ""
    kind: str = "int"
    choices: tuple = ()
    minimum: float | None = None
    below: float | None = None
    flag: str | None = None
    flag_value: object = None
    default: object = None

    @property
    def command_line_name(self):
        return self.flag or self.name.replace("_", "-")


@dataclasses.dataclass(frozen=True)
class Family:
    """What kerasgen knows about one model family.

    Attributes:
        name: the family's name on the command line and in entry names
            (`kerasgen train NAME`, `NAME.TAG`).
        model: the model class, `"module:Class"`.
        data: `IMAGES` or `UNPAIRED`.
        summary: one line for `kerasgen train --help`.
        paper: the paper(s) the family follows, for cards.
        headline: `(metric key, label)` of the figure `kerasgen zoo list` shows.
        recipe: training defaults that are not model hyperparameters: `data`,
            `epochs`, `batch_size`, `learning_rate`, `image_size`,
            `max_shift` (images) or `channels`, `augment`, `decay_epochs`,
            `steps_per_epoch` (unpaired).
        options: the hyperparameters `kerasgen train NAME` exposes.
        compile: `"module:function"`, `function(model, recipe, jit_compile)`
            compiling the model for training as the recipe says, with every
            optimizer built; returns the optimizers' settings (plain data)
            for the card.
        evaluate: `"module:function"`, `function(model, card, samples,
            test_images)` -> the figures of a trained model (a dict), on
            the test split (or a fixed subset of `test_images` of it).
        serving: `"module:function"`, `function(model)` -> `(networks,
            {signature name: tf.function})` of what a SavedModel serves.
        preview: `"module:function"`, `function(model, count, seed, images)`
            -> `(images, columns)` of the grid a person wants to see.
        serving_counterpart: `"module:function"`, `function(model, count,
            seed)` -> `(Keras network, inputs)` that `serving_default`
            computes, for the serving benchmark.
        labels: a config key whose truthy value means the model trains on
            labels (`"num_classes"`), `"always"`, or None.
        full_batches: drop a last, smaller batch of each epoch.
        data_defaults: `{data source: {recipe key or hyperparameter: value}}`,
            defaults for one data source that replace the recipe's and the
            constructor's when the user gives none (the digits CycleGAN's
            epoch length and semantic classifier).
        closing_line: `"module:function"`, `function(folder)` -> a line
            `kerasgen train` prints last (None: nothing).
        images_per_step: `"module:function"`, `function(model, batch_size)`
            -> images one train step takes (a GAN: `d_steps` minibatches);
            None for `batch_size`.
        export_after_training: `kerasgen train NAME` ends with a SavedModel export.
        flops_passes: `(network attribute, plain passes, taped passes)` of one
            train step, for the analytic FLOP count.
        benchmark_cases: `{case name: zoo entry}` the benchmarks time this family at.
        extra_pictures: `"module:function"`, `function(model, path)` writing
            extra pictures for a published entry, returning `{card key: file
            name, card key + "_command": command}`; None for none.
    """

    name: str
    model: str
    data: str
    summary: str
    paper: str
    headline: tuple
    recipe: dict
    compile: str
    evaluate: str
    serving: str
    preview: str
    serving_counterpart: str
    options: tuple = ()
    labels: str | None = None
    full_batches: bool = False
    images_per_step: str | None = None
    data_defaults: dict = dataclasses.field(default_factory=dict)
    closing_line: str | None = None
    export_after_training: bool = False
    flops_passes: tuple = ()
    benchmark_cases: dict = dataclasses.field(default_factory=dict)
    extra_pictures: str | None = None

    @property
    def class_name(self):
        return self.model.rpartition(":")[2]

    def model_class(self):
        """The model class (imports its module, and TensorFlow with it)."""
        return resolve(self.model)

    def hook(self, name):
        """The function a hook attribute (`compile`, `evaluate`, `serving`, ...) names."""
        return resolve(getattr(self, name))

    def defaults(self):
        """The constructor's default hyperparameters, a subclass's over its bases' (imports the model class)."""
        defaults = {}
        for cls in reversed(self.model_class().__mro__):
            if "__init__" in vars(cls):
                parameters = inspect.signature(vars(cls)["__init__"]).parameters.items()
                defaults.update({key: p.default for key, p in parameters if p.default is not inspect.Parameter.empty})
        return defaults

    def uses_labels(self, config):
        return self.labels == "always" or bool(self.labels and config.get(self.labels))


def resolve(path):
    """The attribute a `"module:attribute"` path names."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


_FAMILIES = {}


def register(family):
    """Add a family (or replace one of the same name); returns it.

    Example:
        >>> register(Family(name="denoiser", model="my_models:Denoiser", ...))
    """
    _FAMILIES[family.name] = family
    return family


def unregister(name):
    _FAMILIES.pop(name, None)


def names():
    """Registered family names, in registration order."""
    return list(_FAMILIES)


def get(name):
    """The family called `name` (`kerasgen train NAME`); a UserError naming the choices if none."""
    if name not in _FAMILIES:
        raise UserError(f"Unknown family {name!r}; choose one of {', '.join(_FAMILIES)}.")
    return _FAMILIES[name]


def for_class(class_name):
    """The family whose model class is called `class_name` (as cards store it)."""
    for family in _FAMILIES.values():
        if family.class_name == class_name:
            return family
    known = ", ".join(family.class_name for family in _FAMILIES.values())
    raise UserError(f"Unknown model class {class_name!r}; known: {known}.")


def for_model(model):
    """The family of a model instance."""
    return for_class(type(model).__name__)


def mnist_recipe(epochs, batch_size=128, learning_rate=1e-3, max_shift=0, **extra):
    """The recipe of a family trained on the embedded MNIST digits, in the order the command line shows it."""
    return {
        "data": "mnist",
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        **extra,
        "image_size": 28,
        "max_shift": max_shift,
    }


def convolutional_options(latent_dim):
    """The encoder-decoder options of the autoencoder families."""
    return (
        Option("latent_dim", "Size of the code.", minimum=1, default=latent_dim),
        Option(
            "architecture", "Encoder and decoder networks.", kind="choice", choices=("conv", "dense"), default="conv"
        ),
        Option("hidden_units", "Dense widths, outermost first (dense architecture).", kind="widths", default=(512,)),
        Option("filters", "Filters of the stride-2 convolutions (conv architecture).", kind="widths", default=(32, 64)),
    )


register(
    Family(
        name="autoencoder",
        model="kerasgen.autoencoder:AutoEncoder",
        data=IMAGES,
        summary="Train an AutoEncoder (default: 30-d code, on the embedded MNIST digits).",
        paper="Hinton and Salakhutdinov 2006, Reducing the Dimensionality of Data with Neural Networks",
        headline=("squared_error", "test squared error / image"),
        recipe=mnist_recipe(epochs=20, max_shift=2),
        options=(
            *convolutional_options(latent_dim=30),
            Option(
                "reconstruction_loss",
                "Reconstruction loss.",
                kind="choice",
                choices=("binary_crossentropy", "squared_error"),
                flag="loss",
                default="binary_crossentropy",
            ),
        ),
        compile="kerasgen.training:compile_with_adam",
        evaluate="kerasgen.evaluation:evaluate_autoencoder",
        serving="kerasgen.autoencoder:serving_functions",
        preview="kerasgen.imaging:reconstruction_rows",
        serving_counterpart="kerasgen.export:model_on_random_images",
        flops_passes=(("encoder", 0, 1), ("decoder", 0, 1)),
        benchmark_cases={"autoencoder": "autoencoder.mnist"},
    )
)
register(
    Family(
        name="vae",
        model="kerasgen.vae:VAE",
        data=IMAGES,
        summary="Train a variational autoencoder on binarized digits.",
        paper="Kingma and Welling 2014, Auto-Encoding Variational Bayes",
        headline=("iwae_nll", "NLL on the test set (nats)"),
        recipe=mnist_recipe(epochs=20),
        options=(
            *convolutional_options(latent_dim=32),
            Option("beta", "Weight of the KL term (1: VAE; others: beta-VAE).", "float", minimum=0, default=1.0),
        ),
        compile="kerasgen.training:compile_with_adam",
        evaluate="kerasgen.evaluation:evaluate_vae",
        serving="kerasgen.vae:serving_functions",
        preview="kerasgen.imaging:sample_grid",
        serving_counterpart="kerasgen.vae:serving_counterpart",
        flops_passes=(("encoder", 0, 1), ("decoder", 0, 1)),
        benchmark_cases={"vae": "vae.mnist"},
    )
)
register(
    Family(
        name="gan",
        model="kerasgen.gan:GAN",
        data=IMAGES,
        summary="Train a DCGAN (add --conditional for a class-conditional one) on the embedded MNIST digits.",
        paper="Goodfellow et al. 2014, Generative Adversarial Nets; Radford et al. 2016, DCGAN; "
        "Mirza and Osindero 2014, Conditional GANs",
        headline=("fid", "MNIST FID"),
        recipe=mnist_recipe(epochs=30, batch_size=64, learning_rate=None, beta_1=None, beta_2=None),
        options=(
            Option("latent_dim", "Size of the noise vector.", minimum=1, default=64),
            Option(
                "loss",
                "Adversarial loss (wasserstein: WGAN-GP).",
                kind="choice",
                choices=("non_saturating", "minimax", "least_squares", "hinge", "wasserstein"),
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
        ),
        compile="kerasgen.gan:compile_for_training",
        evaluate="kerasgen.evaluation:evaluate_gan",
        serving="kerasgen.gan:serving_functions",
        preview="kerasgen.imaging:sample_grid",
        serving_counterpart="kerasgen.gan:serving_counterpart",
        labels="num_classes",
        full_batches=True,
        images_per_step="kerasgen.gan:images_per_step",
        flops_passes=(("generator", 1, 1), ("discriminator", 0, 3)),
        benchmark_cases={"gan": "dcgan.mnist", "cgan": "cgan.mnist"},
        extra_pictures="kerasgen.imaging:save_interpolation_strips",
    )
)
register(
    Family(
        name="classifier",
        model="kerasgen.classifier:Classifier",
        data=IMAGES,
        summary="Train the digit classifier the zoo measures generated digits with.",
        paper="LeCun et al. 1998, Gradient-Based Learning Applied to Document Recognition",
        headline=("accuracy", "test accuracy"),
        recipe=mnist_recipe(epochs=15, max_shift=2),
        options=(
            Option("filters", "Filters per convolution block.", kind="widths", default=(32, 64)),
            Option("feature_units", "Width of the feature layer.", minimum=1, default=128),
        ),
        compile="kerasgen.classifier:compile_for_training",
        evaluate="kerasgen.evaluation:evaluate_classifier",
        serving="kerasgen.classifier:serving_functions",
        preview="kerasgen.imaging:by_predicted_class",
        serving_counterpart="kerasgen.export:model_on_random_images",
        labels="always",
        flops_passes=(("feature_network", 0, 1), ("output_layer", 0, 1)),
        benchmark_cases={"classifier": "classifier.mnist"},
    )
)
register(
    Family(
        name="cyclegan",
        model="kerasgen.cyclegan:CycleGAN",
        data=UNPAIRED,
        summary="Train a CycleGAN (default: UCI digits <-> MNIST digits, 32x32, about 10 minutes on 2 CPU cores).",
        paper="Zhu et al. 2017, Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks",
        headline=("a2b_label_kept", "UCI->MNIST labels kept"),
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
                choices=("least_squares", "non_saturating", "minimax", "hinge"),
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
        data_defaults={"digits": {"steps_per_epoch": 600, "semantic_classifier": "classifier.digits"}},
        closing_line="kerasgen.evaluation:closing_line",
        compile="kerasgen.cyclegan:compile_for_training",
        evaluate="kerasgen.evaluation:evaluate_cyclegan",
        serving="kerasgen.cyclegan:serving_functions",
        preview="kerasgen.imaging:translation_rows",
        serving_counterpart="kerasgen.cyclegan:serving_counterpart",
        export_after_training=True,
        flops_passes=(
            ("generator_a2b", 0, 3),
            ("generator_b2a", 0, 3),
            ("discriminator_a", 0, 3),
            ("discriminator_b", 0, 3),
        ),
        benchmark_cases={"cyclegan.digits": "cyclegan.digits"},
    )
)
