"""The family registry: what the rest of kerasgen knows about each model family, as plain data.

A family lives in one folder of the package (`kerasgen/autoencoder/`,
`kerasgen/vae/`, `kerasgen/gan/`, `kerasgen/classifier/`, `kerasgen/cyclegan/`):
its model class (a `kerasgen.base.FamilyModel`, whose methods say how it
compiles, previews, measures and serves itself) and its `Family` spec, which
the folder's `__init__.py` registers. The spec is TensorFlow-free: the
command line builds `kerasgen train NAME --help` from it without importing
the model. An installed package adds a family by naming its `Family` in the
entry-point group `kerasgen.families`:

    [project.entry-points."kerasgen.families"]
    denoiser = "my_package.spec:FAMILY"

An incomplete spec, or one whose name or class clashes with a registered
family, fails at once with a one-line `UserError`.

`Option.default` repeats the constructor's default so that `--help` needs no
TensorFlow; `tests/test_families.py` checks that they agree.

Example:
    >>> from kerasgen import families
    >>> family = families.get("vae")
    >>> family.model_class()  # imports kerasgen.vae.model
    <class 'kerasgen.vae.model.VAE'>
    >>> families.for_class("VAE").headline
    ('iwae_nll', 'NLL on the test set (nats)')
"""

import dataclasses
import importlib
import importlib.metadata
import inspect

from kerasgen.errors import UserError, first_line

IMAGES = "images"  # single-domain images (with labels where the data set has them)
UNPAIRED = "unpaired"  # two unpaired image domains, A and B
DATA_KINDS = (IMAGES, UNPAIRED)
BUILTIN = ("autoencoder", "vae", "gan", "classifier", "cyclegan")
ENTRY_POINT_GROUP = "kerasgen.families"
REQUIRED = ("name", "model", "data", "summary", "headline", "recipe")
RECIPE_KEYS = {
    IMAGES: ("data", "epochs", "batch_size", "image_size"),
    UNPAIRED: ("data", "epochs", "batch_size", "image_size"),
}


@dataclasses.dataclass(frozen=True)
class Option:
    """A model hyperparameter exposed as a `kerasgen train FAMILY` option.

    Attributes:
        name: the constructor argument.
        default: the constructor's default, repeated here so that `--help`
            needs no TensorFlow; `tests/test_families.py` checks that they agree.
        help: one line for `--help`.
        kind: `int`, `float`, `str`, `widths` (comma-separated positive
            integers), `choice`, `flag` (a switch that sets `flag_value`) or
            `switch` (`--NAME/--no-NAME`).
        choices: the allowed values of a `choice`.
        minimum: the smallest allowed value of an `int` or `float`.
        above: a `float`'s bound that values must stay above.
        below: a `float`'s bound that values must stay below.
        flag: the option's name on the command line if not `--NAME-WITH-DASHES`.
        flag_value: the value a `flag` sets when given.
    """

    name: str
    help: str = ""
    kind: str = "int"
    choices: tuple = ()
    minimum: float | None = None
    above: float | None = None
    below: float | None = None
    flag: str | None = None
    flag_value: object = None
    default: object = None

    @property
    def command_line_name(self):
        return self.flag or self.name.replace("_", "-")


@dataclasses.dataclass(frozen=True)
class Family:
    """What kerasgen knows about one model family before importing it.

    Attributes:
        name: the family's name on the command line and in entry names
            (`kerasgen train NAME`, `NAME.TAG`).
        model: where the model class lives, `"package.module:Class"`; the
            class extends `kerasgen.base.FamilyModel`.
        data: `IMAGES` or `UNPAIRED`.
        summary: one line for `kerasgen train --help`.
        headline: `(metric key, label)` of the figure `kerasgen zoo list` shows.
        data_headlines: `{data source: (metric key, label)}` where a data source's
            headline differs (`headline_of` picks by the card's data).
        recipe: training defaults that are not model hyperparameters: `data`,
            `epochs`, `batch_size`, `learning_rate`, `image_size`, and
            `max_shift` (images) or `channels`, `augment`, `decay_epochs`,
            `steps_per_epoch` (unpaired); a family may add its own (a GAN's betas).
        paper: the paper(s) the family follows, for cards.
        options: the hyperparameters `kerasgen train NAME` exposes.
        recipe_options: how `kerasgen train NAME` shows the family's own
            recipe keys (an `Option` each: help, kind, bounds; the default is
            the recipe's); `data`, `epochs`, `batch_size`, `learning_rate`,
            `image_size` and `max_shift` are described once for all families.
        labels: a config key whose truthy value means the model trains on
            labels (`"num_classes"`), `"always"`, or None.
        full_batches: drop a last, smaller batch of each epoch.
        data_defaults: `{data source: {recipe key or hyperparameter: value}}`,
            defaults for one data source that replace the recipe's and the
            constructor's when the user gives none.
        export_after_training: `kerasgen train NAME` ends with a SavedModel export.
        benchmark_cases: `{case name: zoo entry}` the benchmarks time this family at.
    """

    name: str = None
    model: str = None
    data: str = None
    summary: str = None
    headline: tuple = None
    data_headlines: dict = dataclasses.field(default_factory=dict)
    recipe: dict = None
    paper: str = ""
    options: tuple = ()
    recipe_options: tuple = ()
    labels: str | None = None
    full_batches: bool = False
    data_defaults: dict = dataclasses.field(default_factory=dict)
    export_after_training: bool = False
    benchmark_cases: dict = dataclasses.field(default_factory=dict)

    @property
    def class_name(self):
        return self.model.rpartition(":")[2]

    def model_class(self):
        """The model class (imports its module, and TensorFlow with it)."""
        module, _, name = self.model.partition(":")
        cls = getattr(importlib.import_module(module), name)
        from kerasgen.base import FamilyModel

        if not (isinstance(cls, type) and issubclass(cls, FamilyModel)):
            raise UserError(f"Family {self.name!r}: {self.model} is not a kerasgen.base.FamilyModel subclass.")
        return cls

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

    def missing(self):
        """What a usable spec lacks, as short phrases (empty if nothing)."""
        missing = [key for key in REQUIRED if not getattr(self, key)]
        if self.data and self.data not in DATA_KINDS:
            missing.append(f"data in {DATA_KINDS} (got {self.data!r})")
        if self.model and ":" not in self.model:
            missing.append(f"model as 'module:Class' (got {self.model!r})")
        if self.headline and len(self.headline) != 2:
            missing.append("headline as (metric key, label)")
        if self.recipe and self.data in RECIPE_KEYS:
            missing += [f"recipe[{key!r}]" for key in RECIPE_KEYS[self.data] if key not in self.recipe]
        return missing


def headline_of(card):
    """`(metric key, label)` of the headline figure of a card: its family's, or its data source's where that has
    its own (`Family.data_headlines`).

    Example:
        >>> headline_of({"class": "CycleGAN", "data": {"dataset": "mnist-mnistm"}})
        ('adapted_accuracy', 'MNIST->MNIST-M adapted accuracy')
    """
    family = for_class(card["class"])
    return family.data_headlines.get(card.get("data", {}).get("dataset"), family.headline)


_FAMILIES = {}
_discovered = False


def register(family):
    """Add a family; returns it.

    Raises:
        UserError: the spec is incomplete, or its name or model class is
            already registered by another family.

    Example:
        >>> FAMILY = register(Family(name="denoiser", model="my_models:Denoiser", ...))
    """
    if not isinstance(family, Family):
        raise UserError(f"A family registers a kerasgen.families.Family, not a {type(family).__name__}.")
    missing = family.missing()
    if missing:
        raise UserError(f"Family {family.name or '(unnamed)'!r} is incomplete: it needs {', '.join(missing)}.")
    known = _FAMILIES.get(family.name)
    if known is family:
        return family
    if known is not None:
        raise UserError(f"Family {family.name!r} ({family.model}) clashes with the registered {known.model}.")
    for other in _FAMILIES.values():
        if other.class_name == family.class_name:
            raise UserError(
                f"Family {family.name!r}: model class {family.class_name} is already family {other.name!r}'s."
            )
    _FAMILIES[family.name] = family
    return family


def unregister(name):
    _FAMILIES.pop(name, None)


def _discover():
    """Import the built-in family folders and the installed `kerasgen.families` entry points, once."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    for name in BUILTIN:
        importlib.import_module(f"kerasgen.{name}")
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            family = entry_point.load()
        except Exception as error:  # an outside package's import error, whatever it is, in one line
            reason = first_line(error)
            raise UserError(
                f"Family entry point {entry_point.name!r} ({entry_point.value}) fails to load: {reason}"
            ) from None
        register(family)


def names():
    """Registered family names: the built-in ones first, then others in registration order."""
    _discover()
    rank = {name: index for index, name in enumerate(BUILTIN)}
    return sorted(_FAMILIES, key=lambda name: rank.get(name, len(rank)))


def get(name):
    """The family called `name` (`kerasgen train NAME`); a UserError naming the choices if none."""
    _discover()
    if name not in _FAMILIES:
        raise UserError(f"Unknown family {name!r}; choose one of {', '.join(names())}.")
    return _FAMILIES[name]


def for_class(class_name):
    """The family whose model class is called `class_name` (as cards store it)."""
    _discover()
    for family in _FAMILIES.values():
        if family.class_name == class_name:
            return family
    known = ", ".join(family.class_name for family in _FAMILIES.values())
    raise UserError(f"Unknown model class {class_name!r}; known: {known}.")


def for_model(model):
    """The family of a model instance."""
    return for_class(type(model).__name__)


def lazy_classes(package, classes):
    """A module `__getattr__` for a family package: its public classes, imported (with TensorFlow) on first use.

    Example:
        >>> __getattr__ = lazy_classes(__name__, {"VAE": "model", "Sampling": "model"})
    """

    def __getattr__(name):
        if name in classes:
            return getattr(importlib.import_module(f"{package}.{classes[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


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
