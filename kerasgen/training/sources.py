"""Training data of a run (to be replaced by kerasgen.data's source abstraction)."""

import pathlib

from kerasgen import data, families
from kerasgen.errors import UserError

DOMAINS = {"digits": {"a": "UCI digits (scikit-learn), upsampled", "b": "MNIST training digits"}}
DATA_LICENSES = {
    "mnist": "MNIST (LeCun, Cortes, Burges), CC BY-SA 3.0",
    "uci": "UCI Optical Recognition of Handwritten Digits (Alpaydin, Kaynak), CC BY 4.0, via scikit-learn",
}
DATA_LICENSES["digits"] = f"A: {DATA_LICENSES['uci']}; B: {DATA_LICENSES['mnist']}"


class SingleDomainData:
    """A family's training images (and labels) from `mnist`, `uci`, `tfds:NAME` or a folder.

    Example:
        >>> source = SingleDomainData({"data": "uci", "image_size": 16, "batch_size": 32, ...})
        >>> source.load(with_labels=True)
        >>> dataset = source.make_data(start_step=0)
    """

    def __init__(self, recipe, family):
        self.recipe = recipe
        self.family = family
        self.name = recipe["data"]
        self.image_shape = (recipe["image_size"], recipe["image_size"], 1)
        self.batch_size = recipe["batch_size"]

    def load(self, with_labels):
        images, labels = data.load_images(self.name, "train", self.recipe["image_size"])
        if with_labels and labels.min() < 0:
            raise UserError(f"This model needs labelled data (mnist, uci, digits, tfds:NAME); {self.name!r} has none.")
        if not data.has_heldout_split(self.name):
            self.name = str(pathlib.Path(self.name).resolve())
        self.images, self.labels = images, labels if with_labels else None
        self.preview = data.to_unit_range(data.fixed_subset(images, 64))
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
        full = self.family.full_batches or strategy.num_replicas_in_sync > 1
        self.drop_remainder = full and len(self.images) >= self.batch_size
        return data.steps_per_epoch(len(self.images), self.batch_size, self.drop_remainder)

    def make_data(self, start_step):
        recipe = self.recipe
        return data.make_dataset(
            self.images,
            self.batch_size,
            seed=recipe["seed"],
            max_shift=recipe["max_shift"],
            labels=self.labels,
            drop_remainder=self.drop_remainder,
            epochs=recipe["epochs"],
            start_step=start_step,
        )


class UnpairedData:
    """Two unpaired domains, A and B, from `digits`, a `trainA/ trainB/` folder or `tfds:cycle_gan/NAME`.

    Example:
        >>> source = UnpairedData({"data": "digits", "image_size": 32, "channels": None, ...})
        >>> source.load(with_labels=False)
    """

    def __init__(self, recipe, family):
        self.recipe = recipe
        self.name = recipe["data"]
        digits = self.name == "digits"
        recipe["channels"] = int(recipe["channels"] or (1 if digits else 3))
        recipe["augment"] = (not digits) if recipe["augment"] is None else bool(recipe["augment"])
        self.image_shape = (recipe["image_size"], recipe["image_size"], recipe["channels"])

    def load(self, with_labels):
        recipe = self.recipe
        self.images_a, self.images_b = data.load_unpaired(self.name, "train", recipe["image_size"], recipe["channels"])
        for domain, images in (("A", self.images_a), ("B", self.images_b)):
            if not len(images):
                raise UserError(f"Domain {domain} of {self.name!r} has no training images.")
        if not (self.name == "digits" or self.name.startswith("tfds:")):
            self.name = str(pathlib.Path(self.name).resolve())
        self.preview = (
            data.to_unit_range(data.fixed_subset(self.images_a, 8)),
            data.to_unit_range(data.fixed_subset(self.images_b, 8)),
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
        recipe = self.recipe
        return data.unpaired_steps_per_epoch(
            len(self.images_a), len(self.images_b), recipe["batch_size"], recipe["steps_per_epoch"]
        )

    def make_data(self, start_step):
        recipe = self.recipe
        return data.make_unpaired_dataset(
            self.images_a,
            self.images_b,
            recipe["batch_size"],
            recipe["steps_per_epoch"],
            seed=recipe["seed"],
            augment=recipe["augment"],
            epochs=recipe["epochs"],
            start_step=start_step,
        )


DATA_KINDS = {families.IMAGES: SingleDomainData, families.UNPAIRED: UnpairedData}
