"""Datasets, image files, the `tf.data` pipelines, and the data each model family trains on.

Value range convention: every image that leaves this package for a model is
float32 in [0, 1], shape (height, width, channels) (the loaders return uint8;
`to_unit_range` and the pipelines scale it). Models that want another range
(a GAN's tanh output in [-1, 1]) convert at their own boundary.

Splits: every labelled source has `train`, `validation` (a fixed, seeded part
of the training digits, never trained on, for any choice made from data:
early stopping, a Parzen window's width), `test` (where figures are measured,
and nothing else) and `all`.

One module per job, their public names re-exported here:

* `kerasgen.data.sources`: the named sources and their splits, resolved by
  `load_images(name, split)` (`mnist`, `uci`, `mnistm`, `digits`,
  `mnist-mnistm`, `tfds:NAME`, a folder) and, for two unpaired domains,
  `load_unpaired(source, split)` (`digits`, `mnist-mnistm`,
  `tfds:cycle_gan/NAME`, a folder with `trainA/ trainB/ testA/ testB/`).
* `kerasgen.data.mnistm`: MNIST-M built from scikit-image's photographs
  (`load_mnistm(split)`), built on first use and cached in `$KERASGEN_HOME`.
* `kerasgen.data.images`: image files: `list_image_files`,
  `load_image_folder`, `read_image` (any Pillow mode converted, decompression
  bombs refused before decoding: `MAX_IMAGE_PIXELS`).
* `kerasgen.data.pipelines`: `make_dataset` and `make_unpaired_dataset`
  (resumable at any step), `steps_per_epoch`, `fixed_subset`, `to_unit_range`.
* `kerasgen.data.model_data`: the one place that tells single-domain images
  from two unpaired domains: `training_data(kind, recipe)` for training and
  the benchmarks, `preview_images(card)`, `card_split(card, split)` and
  `card_test_split(card)` for trained models.

`kerasgen.data.MAX_IMAGE_PIXELS` reads and sets the limit of
`kerasgen.data.images`. Other names are re-exported copies: to patch one (in
a test), patch it in its own module (`kerasgen.data.sources.load_images`);
assigning it here raises `AttributeError`, as it would change nothing.

Heavy imports (TensorFlow, scikit-learn, tfds) happen inside functions so that
importing this package stays cheap; no model family module is imported.

Example:
    >>> from kerasgen import data
    >>> images, labels = data.load_images("mnist", "train")
    >>> dataset = data.make_dataset(images, batch_size=128, labels=labels)
    >>> data.MAX_IMAGE_PIXELS = 100_000_000  # read larger photos
"""

import sys
import types

from kerasgen.data import images, model_data, pipelines, sources
from kerasgen.data.images import IMAGE_SUFFIXES, SIXTEEN_BIT_MODES, list_image_files, load_image_folder, read_image
from kerasgen.data.model_data import (
    DATA_KINDS,
    DATA_LICENSES,
    DOMAINS,
    SingleDomainData,
    TrainingData,
    UnpairedData,
    card_kind,
    card_split,
    card_test_split,
    preview_images,
    training_data,
)
from kerasgen.data.pipelines import (
    fixed_subset,
    make_dataset,
    make_unpaired_dataset,
    steps_per_epoch,
    to_unit_range,
    unpaired_steps_per_epoch,
)
from kerasgen.data.sources import (
    ASSETS,
    DIGIT_DOMAINS,
    MNIST_FILE,
    MNIST_VALIDATION,
    SPLIT_SEED,
    SPLITS,
    TFDS_SPLITS,
    UCI_TEST,
    UCI_VALIDATION,
    UNPAIRED_DOMAINS,
    UNPAIRED_FOLDERS,
    UNPAIRED_SPLITS,
    canonical_split,
    has_test_split,
    load_images,
    load_mnist,
    load_tfds,
    load_uci_digits,
    load_unpaired,
)

__all__ = [
    "ASSETS",
    "DATA_KINDS",
    "DATA_LICENSES",
    "DIGIT_DOMAINS",
    "DOMAINS",
    "IMAGE_SUFFIXES",
    "MAX_IMAGE_PIXELS",
    "MNIST_FILE",
    "MNIST_VALIDATION",
    "SIXTEEN_BIT_MODES",
    "SPLITS",
    "SPLIT_SEED",
    "TFDS_SPLITS",
    "UCI_TEST",
    "UCI_VALIDATION",
    "UNPAIRED_DOMAINS",
    "UNPAIRED_FOLDERS",
    "UNPAIRED_SPLITS",
    "SingleDomainData",
    "TrainingData",
    "UnpairedData",
    "canonical_split",
    "card_kind",
    "card_split",
    "card_test_split",
    "fixed_subset",
    "has_test_split",
    "list_image_files",
    "load_image_folder",
    "load_images",
    "load_mnist",
    "load_tfds",
    "load_uci_digits",
    "load_unpaired",
    "make_dataset",
    "make_unpaired_dataset",
    "preview_images",
    "read_image",
    "steps_per_epoch",
    "to_unit_range",
    "training_data",
    "unpaired_steps_per_epoch",
]


class _Package(types.ModuleType):
    """`kerasgen.data` itself: `MAX_IMAGE_PIXELS` is `images.MAX_IMAGE_PIXELS`; other re-exports refuse assignment."""

    @property
    def MAX_IMAGE_PIXELS(self):
        return images.MAX_IMAGE_PIXELS

    @MAX_IMAGE_PIXELS.setter
    def MAX_IMAGE_PIXELS(self, value):
        images.MAX_IMAGE_PIXELS = value

    def __setattr__(self, name, value):
        if name in __all__ and not isinstance(getattr(type(self), name, None), property):
            owner = next(module for module in (sources, images, pipelines, model_data) if hasattr(module, name))
            raise AttributeError(
                f"kerasgen.data.{name} is a copy of {owner.__name__}.{name}; set or patch it there, not here."
            )
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
