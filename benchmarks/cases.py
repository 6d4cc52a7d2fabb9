"""What is measured: one case per family at its zoo configuration, and CycleGAN at the paper's sizes.

A case knows how to build its model, compile it for training, and make its
real training pipeline (the one `kerasgen.training` uses) and one batch of it.
"""

import dataclasses

from kerasgen import families


def zoo_cases():
    """Case name -> zoo entry, for every registered family's `benchmark_cases`."""
    return {case: entry for name in families.names() for case, entry in families.get(name).benchmark_cases.items()}


def training_families():
    """Case name -> the family whose training it times."""
    return {case: name for name in families.names() for case in families.get(name).benchmark_cases}


SYNTHETIC_IMAGES = 16  # random RGB images per domain for the photo-sized CycleGANs
QUICK_FILTERS = 8  # first-layer filters of the photo-sized CycleGANs in a --quick smoke run


@dataclasses.dataclass
class Case:
    """One benchmarked configuration.

    Attributes:
        name: the case's name (`autoencoder`, `cyclegan.128`, ...).
        class_name: the model class (`AutoEncoder`, `GAN`, `CycleGAN`, ...).
        config: the model's constructor arguments.
        batch_size: images (CycleGAN: image pairs) per training step.
        learning_rate: Adam's rate, as in the entry's recipe.
        entry: the zoo entry it reproduces, if any.
        data: how the pipeline is made: `source`, `max_shift`, `labels`,
            `drop_remainder` (the family's `full_batches`; single domain) or
            `source` (`synthetic`: random images), `augment` (CycleGAN).
        warmup: steps skipped before timing (tracing and compilation).
        steps: timed steps per feed.
    """

    name: str
    class_name: str
    config: dict
    batch_size: int
    learning_rate: float
    entry: str | None = None
    data: dict = dataclasses.field(default_factory=dict)
    warmup: int = 3
    steps: int = 10

    @property
    def family(self):
        """The first part of the name: `cyclegan` for every CycleGAN case."""
        return self.name.split(".")[0]

    def image_shape(self):
        return tuple(self.config["image_shape"])

    def build(self):
        """A fresh, untrained model of this case (in the current dtype policy)."""
        from kerasgen import zoo

        return zoo.build({"class": self.class_name, "config": self.config})

    @property
    def family_spec(self):
        return families.for_class(self.class_name)

    def compile(self, model, jit_compile):
        """Compile `model` for training as `kerasgen.training` does (a CycleGAN with a 1-epoch, 1000-step schedule)."""
        recipe = {"learning_rate": self.learning_rate, "epochs": 1, "steps_per_epoch": 1000}
        model.compile_for_recipe(recipe, jit_compile)

    def images_per_step(self, model=None):
        """Images one train step takes, as `kerasgen.training` batches them: the model's `images_per_step`
        (a GAN's `d_steps` minibatches), asked of `model` or of a fresh one built here."""
        if model is None:
            from kerasgen.base import FamilyModel

            if self.family_spec.model_class().images_per_step is FamilyModel.images_per_step:
                return self.batch_size
            model = self.build()
        return model.images_per_step(self.batch_size)

    def pipeline(self, batches, images_per_step=None):
        """The real `tf.data` training pipeline (`kerasgen.data.training_data`), holding at least `batches` batches.

        Args:
            batches: steps the pipeline must hold.
            images_per_step: images (pairs) per batch; None for `images_per_step()`.
        """
        from kerasgen import data

        size, _, channels = self.image_shape()
        recipe = {"data": self.data["source"], "image_size": size, "batch_size": self.batch_size, "seed": 0}
        if self.family_spec.data == families.UNPAIRED:
            recipe.update(channels=channels, augment=self.data["augment"], steps_per_epoch=None)
            source = data.training_data(families.UNPAIRED, recipe)
            source.load(False, self._synthetic_images() if self.data["source"] == "synthetic" else None)
        else:
            recipe["max_shift"] = self.data["max_shift"]
            source = data.training_data(families.IMAGES, recipe, full_batches=self.data["drop_remainder"])
            source.load(self.data["labels"])
        source.batch_size = images_per_step or self.images_per_step()
        recipe["epochs"] = -(-batches // source.steps_per_epoch(None))
        return source.make_data(0)

    def _synthetic_images(self):
        import numpy as np

        rng = np.random.default_rng(0)
        shape = (SYNTHETIC_IMAGES, *self.image_shape())
        return rng.integers(0, 256, shape, dtype=np.uint8), rng.integers(0, 256, shape, dtype=np.uint8)


def zoo_case(name, entry):
    """The case of a zoo entry: its card's config, batch size, learning rate and data pipeline."""
    from kerasgen import zoo

    card = zoo.card(entry)
    training = card["training"]
    family = families.for_class(card["class"])
    config = dict(card["config"])
    if family.data == families.UNPAIRED:
        data = {"source": card["data"]["dataset"], "augment": card["data"].get("augmentation", "none") != "none"}
    else:
        data = {
            "source": card["data"]["dataset"],
            "max_shift": training["max_shift"],
            "labels": family.uses_labels(config),
            "drop_remainder": family.full_batches,
        }
    return Case(
        name=name,
        class_name=card["class"],
        config=config,
        batch_size=training["batch_size"],
        learning_rate=training["learning_rate"],
        entry=entry,
        data=data,
    )


def photo_cyclegan_case(size, batch_size=1):
    """CycleGAN with the paper's networks on `size` px RGB, fed random images through the photo pipeline."""
    suffix = "" if batch_size == 1 else f".b{batch_size}"
    return Case(
        name=f"cyclegan.{size}{suffix}",
        class_name=families.get("cyclegan").class_name,
        config={"image_shape": [size, size, 3], "generator_filters": 64, "discriminator_filters": 64, "seed": 0},
        batch_size=batch_size,
        learning_rate=2e-4,
        data={"source": "synthetic", "augment": True},
        warmup=1,
        steps=3 if size <= 128 else 2,
    )


def all_cases(extended=False):
    """Every case of a full run, in the order they run; `extended` adds CycleGAN 128 px at batch 4."""
    cases = [zoo_case(name, entry) for name, entry in zoo_cases().items()]
    cases += [photo_cyclegan_case(128), photo_cyclegan_case(256)]
    if extended:
        cases.insert(-1, photo_cyclegan_case(128, batch_size=4))
    return cases


def select(cases, only):
    """The cases named in `only` (case names or families, e.g. `gan,cyclegan.128`); all if `only` is empty.

    Example:
        >>> [case.name for case in select(all_cases(), ["cyclegan"])]
        ['cyclegan.digits', 'cyclegan.128', 'cyclegan.256']
    """
    if not only:
        return list(cases)
    wanted = set(only)
    known = {case.name for case in cases} | {case.family for case in cases}
    unknown = wanted - known
    if unknown:
        raise ValueError(f"Unknown cases {sorted(unknown)}; choose among {sorted(known)}.")
    return [case for case in cases if case.name in wanted or case.family in wanted]


def quick(case):
    """The case with tiny step counts for a smoke run; photo-sized CycleGANs also get 8-filter networks.

    The networks keep their image size and layers, so the smoke run goes
    through the same code, only with far less arithmetic.
    """
    config = dict(case.config)
    if case.data.get("source") == "synthetic":
        config.update(generator_filters=QUICK_FILTERS, discriminator_filters=QUICK_FILTERS)
    return dataclasses.replace(case, config=config, warmup=1, steps=2 if case.warmup > 1 else 1)
