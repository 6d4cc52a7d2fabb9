"""A model's data: what its family trains on, and what a trained model's card says it was trained on.

A family trains on one of two kinds of data (`kerasgen.families.IMAGES` or
`kerasgen.families.UNPAIRED`); this module is the one place that tells them
apart. `training_data(kind, recipe)` is the training set of a run, with
everything training, the benchmarks and the card need: the model's image
shape, the loaded images, the card's `data` entry, the preview images, the
steps of an epoch and the `tf.data` pipeline. For a trained model, its card
names the data: `preview_images(card)` are the real images its preview grid
shows, `card_split(card, split)` and `card_test_split(card)` the splits its
figures are measured on.

Sources are loaded through `kerasgen.data.sources` (`sources.load_images`,
`sources.load_unpaired`), so a test that patches them there sees its patch
here too.

Example:
    >>> from kerasgen import data, families
    >>> recipe = {"data": "uci", "image_size": 16, "batch_size": 32, "max_shift": 0, "seed": 0, "epochs": 2}
    >>> source = data.training_data(families.IMAGES, recipe)
    >>> source.load(with_labels=False)
    >>> source.steps_per_epoch(strategy=None), source.card["images"]
    (43, 1347)
    >>> dataset = source.make_data(start_step=0)
"""

import pathlib

from kerasgen import families
from kerasgen.data import mnistm, pipelines, sources
from kerasgen.errors import UserError

DOMAINS = {
    "digits": {"a": "UCI digits (scikit-learn), upsampled", "b": "MNIST training digits"},
    "mnist-mnistm": {
        "a": "MNIST training digits, as three equal channels",
        "b": f"the same digits of {mnistm.DESCRIPTION}",
    },
}
DATA_LICENSES = {
    "mnist": "MNIST (LeCun, Cortes, Burges), CC BY-SA 3.0",
    "uci": "UCI Optical Recognition of Handwritten Digits (Alpaydin, Kaynak), CC BY 4.0, via scikit-learn",
    "mnistm": mnistm.LICENSE,
}
DATA_LICENSES.update(
    {name: f"A: {DATA_LICENSES[a]}; B: {DATA_LICENSES[b]}" for name, (a, b) in sources.UNPAIRED_DOMAINS.items()}
)
UNPAIRED_DEFAULTS = {
    "digits": {"channels": 1, "augment": False},
    "mnist-mnistm": {"channels": 3, "augment": False},
}
"""`channels` and `augment` of a named unpaired source, where the recipe gives None; others: 3 channels, augmented."""
PHOTO_DEFAULTS = {"channels": 3, "augment": True}
SUBSET_SEED = 0  # the fixed subset of `card_test_split(card, test_images)`
PREVIEW_IMAGES = 32 * 10  # real images for a single-domain preview: enough to fill a row per class


class TrainingData:
    """The training set of a run, as training, previews and the benchmarks use it.

    Built from the run's recipe (`data`, `image_size`, `batch_size`, `seed`,
    `epochs` and the keys of its kind); `load` reads the images and sets
    `card` and `preview`; `steps_per_epoch` then `make_data` give the
    pipeline. The recipe is read when the pipeline is made, so `epochs` may
    be set after `steps_per_epoch`.

    Attributes:
        recipe: the run's recipe (a kind may fill in its defaults).
        name: the data source; after `load`, a folder's absolute path.
        image_shape: `(size, size, channels)` of the model.
        batch_size: images per train step (image pairs for two domains);
            the recipe's `batch_size` unless the caller sets the model's
            images per step (a GAN's `d_steps` minibatches).
        card: after `load`, the card's `data` entry.
        preview: after `load`, the real images of the preview grid.

    Example:
        >>> source = training_data(families.UNPAIRED, recipe)
        >>> source.load(with_labels=False)
        >>> dataset = source.make_data(start_step=0)
    """

    def __init__(self, recipe):
        self.recipe = recipe
        self.name = recipe["data"]
        self.batch_size = recipe["batch_size"]
        self.card = self.preview = None

    def load(self, with_labels):
        """Read the training images (and, `with_labels`, labels), and set `card` and `preview`."""
        raise NotImplementedError

    def steps_per_epoch(self, strategy):
        """Train steps in one epoch under a `tf.distribute` strategy (None: one replica)."""
        raise NotImplementedError

    def make_data(self, start_step):
        """The `tf.data` pipeline from step `start_step` to the end of the recipe's `epochs`."""
        raise NotImplementedError


class SingleDomainData(TrainingData):
    """A family's training images (and labels) from `mnist`, `uci`, `digits`, `tfds:NAME` or a folder.

    Args:
        recipe: the run's recipe, with `max_shift`.
        full_batches: drop a last, smaller batch of each epoch (the family's
            `full_batches`); always done with several replicas.

    Example:
        >>> source = SingleDomainData({"data": "uci", "image_size": 16, "batch_size": 32, ...})
        >>> source.load(with_labels=True)
        >>> dataset = source.make_data(start_step=0)
    """

    def __init__(self, recipe, full_batches=False):
        super().__init__(recipe)
        self.full_batches = full_batches
        self.image_shape = (recipe["image_size"], recipe["image_size"], 1)

    def load(self, with_labels):
        images, labels = sources.load_images(self.name, "train", self.recipe["image_size"])
        if with_labels and labels.min() < 0:
            raise UserError(f"This model needs labelled data (mnist, uci, digits, tfds:NAME); {self.name!r} has none.")
        if not sources.has_test_split(self.name):
            self.name = str(pathlib.Path(self.name).resolve())
        self.images, self.labels = images, labels if with_labels else None
        self.preview = pipelines.to_unit_range(pipelines.fixed_subset(images, 64))
        max_shift = self.recipe["max_shift"]
        self.card = {
            "dataset": self.name,
            "split": "train",
            "images": len(images),
            "image_size": self.recipe["image_size"],
            "augmentation": f"random shifts of up to {max_shift} pixels" if max_shift else "none",
            "license": DATA_LICENSES.get(self.name, "the user's"),
        }

    def steps_per_epoch(self, strategy):
        replicas = strategy.num_replicas_in_sync if strategy is not None else 1
        full = self.full_batches or replicas > 1
        self.drop_remainder = full and len(self.images) >= self.batch_size
        return pipelines.steps_per_epoch(len(self.images), self.batch_size, self.drop_remainder)

    def make_data(self, start_step):
        recipe = self.recipe
        return pipelines.make_dataset(
            self.images,
            self.batch_size,
            seed=recipe["seed"],
            max_shift=recipe["max_shift"],
            labels=self.labels,
            drop_remainder=self.drop_remainder,
            epochs=recipe["epochs"],
            start_step=start_step,
        )


class UnpairedData(TrainingData):
    """Two unpaired domains, A and B, from `digits`, a `trainA/ trainB/` folder or `tfds:cycle_gan/NAME`.

    Fills in the recipe's `channels` and `augment` where they are None:
    `UNPAIRED_DEFAULTS` for named sources (`digits`: 1 channel;
    `mnist-mnistm`: 3; neither augmented), else 3 channels, augmented.

    Args:
        recipe: the run's recipe, with `channels`, `augment` and `steps_per_epoch`.
        full_batches: ignored: an epoch of two domains is a number of steps of full batches.

    Example:
        >>> source = UnpairedData({"data": "digits", "image_size": 32, "channels": None, ...})
        >>> source.load(with_labels=False)
    """

    def __init__(self, recipe, full_batches=False):
        super().__init__(recipe)
        defaults = UNPAIRED_DEFAULTS.get(self.name, PHOTO_DEFAULTS)
        recipe["channels"] = int(recipe["channels"] or defaults["channels"])
        recipe["augment"] = defaults["augment"] if recipe["augment"] is None else bool(recipe["augment"])
        self.image_shape = (recipe["image_size"], recipe["image_size"], recipe["channels"])

    def load(self, with_labels, pair=None):
        """Read both domains' training images; `pair`, `(images_a, images_b)`, is used instead if given."""
        recipe = self.recipe
        if pair is None:
            pair = sources.load_unpaired(self.name, "train", recipe["image_size"], recipe["channels"])
            if not sources.has_test_split(self.name):
                self.name = str(pathlib.Path(self.name).resolve())
        self.images_a, self.images_b = pair
        for domain, images in (("A", self.images_a), ("B", self.images_b)):
            if not len(images):
                raise UserError(f"Domain {domain} of {recipe['data']!r} has no training images.")
        self.preview = (
            pipelines.to_unit_range(pipelines.fixed_subset(self.images_a, 8)),
            pipelines.to_unit_range(pipelines.fixed_subset(self.images_b, 8)),
        )
        self.card = {
            "dataset": self.name,
            "domains": DOMAINS.get(self.name, {"a": "trainA", "b": "trainB"}),
            "split": "train",
            "images": {"a": len(self.images_a), "b": len(self.images_b)},
            "image_size": recipe["image_size"],
            "channels": recipe["channels"],
            "augmentation": "resize to 286/256 of the size, random crop, random horizontal flip"
            if recipe["augment"]
            else "none",
            "license": DATA_LICENSES.get(self.name, "the user's"),
        }

    def steps_per_epoch(self, strategy):
        return pipelines.unpaired_steps_per_epoch(
            len(self.images_a), len(self.images_b), self.batch_size, self.recipe["steps_per_epoch"]
        )

    def make_data(self, start_step):
        recipe = self.recipe
        return pipelines.make_unpaired_dataset(
            self.images_a,
            self.images_b,
            self.batch_size,
            recipe["steps_per_epoch"],
            seed=recipe["seed"],
            augment=recipe["augment"],
            epochs=recipe["epochs"],
            start_step=start_step,
        )


DATA_KINDS = {families.IMAGES: SingleDomainData, families.UNPAIRED: UnpairedData}


def training_data(kind, recipe, full_batches=False):
    """The training set of a run of a family that trains on `kind` of data.

    Args:
        kind: the family's `data`, `kerasgen.families.IMAGES` or `kerasgen.families.UNPAIRED`.
        recipe: the run's recipe (see `TrainingData`); defaults of the kind
            are filled into it.
        full_batches: drop a last, smaller batch of each epoch (single-domain images).

    Returns:
        A `TrainingData`, not yet loaded.

    Example:
        >>> source = training_data(family.data, recipe, family.full_batches)
        >>> source.load(with_labels=family.uses_labels(config))
        >>> source.batch_size = model.real_images_per_step(recipe["batch_size"])  # a GAN
        >>> dataset = source.make_data(start_step=0)
    """
    if kind not in DATA_KINDS:
        raise ValueError(f"Unknown kind of data {kind!r}; choose one of {', '.join(DATA_KINDS)}.")
    return DATA_KINDS[kind](recipe, full_batches=full_batches)


def card_kind(card):
    """The kind of data the model of `card` trains on (`IMAGES` or `UNPAIRED`), from its class.

    Example:
        >>> card_kind(kerasgen.zoo.card("cyclegan.digits"))
        'unpaired'
    """
    return families.for_class(card["class"]).data


def preview_images(card, count=64, image_shape=None):
    """The real images a trained model's preview grid shows (`FamilyModel.preview`), as floats in [0, 1].

    Taken from the test split of the data the card names (a folder without
    one: all its images; two domains without `testA/ testB/`: their
    training images), a fixed subset of each.

    Args:
        card: the model's card (`kerasgen.zoo.card`).
        count: cells of the grid.
        image_shape: the model's image shape; None for the card's `image_size` (and `channels`).

    Returns:
        Images for single-domain models (`PREVIEW_IMAGES` of them, enough
        for a row per class); `(images_a, images_b)`, `count // 6` each, for
        two domains.

    Example:
        >>> images = preview_images(kerasgen.zoo.card("classifier.mnist"))
        >>> images.shape
        (320, 28, 28, 1)
    """
    source, size = card["data"]["dataset"], card["data"]["image_size"]
    if card_kind(card) == families.UNPAIRED:
        height, _, channels = image_shape or (size, size, card["data"]["channels"])
        try:
            pair = sources.load_unpaired(source, "test", height, channels)
        except UserError:  # a folder without testA/ testB/
            pair = sources.load_unpaired(source, "train", height, channels)
        return tuple(pipelines.to_unit_range(pipelines.fixed_subset(domain, max(1, count // 6))) for domain in pair)
    split = "test" if sources.has_test_split(source) else "all"
    images, _ = sources.load_images(source, split, size)
    return pipelines.to_unit_range(pipelines.fixed_subset(images, PREVIEW_IMAGES))


def card_split(card, split, with_labels=False):
    """A split of the data a card was trained on, as float images in [0, 1] (and labels).

    For two named domains (`digits`, `mnist-mnistm`), the split of both,
    domain A first, in the card's channels.

    Args:
        card: the model's card (`kerasgen.zoo.card`).
        split: `train`, `validation` or `test` (see `kerasgen.data.sources`).
        with_labels: also return the labels.

    Raises:
        UserError: the data has no validation and test splits (a folder).

    Example:
        >>> test = card_split(kerasgen.zoo.card("vae.mnist"), "test")
    """
    source = card["data"]["dataset"]
    if not sources.has_test_split(source):
        raise UserError(
            "evaluate needs a dataset with validation and test splits (mnist, uci, mnistm, tfds:NAME); "
            f"this model was trained on {source!r}."
        )
    images, labels = sources.load_images(source, split, card["data"]["image_size"], card["data"].get("channels", 1))
    return (pipelines.to_unit_range(images), labels) if with_labels else pipelines.to_unit_range(images)


def card_test_split(card, test_images=None):
    """The card's test images and labels, or a fixed subset (`SUBSET_SEED`) of `test_images` of them.

    Example:
        >>> images, labels = card_test_split(kerasgen.zoo.card("vae.mnist"), test_images=1000)
    """
    test, labels = card_split(card, "test", with_labels=True)
    if test_images is not None:
        test, labels = (
            pipelines.fixed_subset(test, test_images, SUBSET_SEED),
            pipelines.fixed_subset(labels, test_images, SUBSET_SEED),
        )
    return test, labels
