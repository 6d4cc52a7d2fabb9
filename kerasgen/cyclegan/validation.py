"""The CycleGAN's validation figures, which pick a run's published epoch.

On `digits`, the share of validation digits whose translations keep their
labels; on `mnist-mnistm`, a quick version of the adaptation protocol scored
on 1,000 labelled MNIST-M validation digits (the only MNIST-M labels a
choice may use, as in Bousmalis et al. 2017).

Example:
    >>> from kerasgen.cyclegan.validation import validation_labels_kept
    >>> validation_labels_kept(cyclegan, card["data"]).measure()
"""

import numpy as np

from kerasgen import data
from kerasgen.errors import UserError

VALIDATION_IMAGES = 1_000
"""Validation digits per domain at most (the UCI validation split holds fewer)."""
PROXY_TRAINING_DIGITS = 10_000
"""MNIST training digits translated for the quick adaptation figure (the first ones; the protocol takes all)."""
JUDGES = {"a2b": "classifier.mnist", "b2a": "classifier.uci"}
"""The classifier of each direction's target domain, the judges of the test figures (`figures.DOMAIN_CLASSIFIERS`)."""


def validation_labels_kept(model, data_card, count=VALIDATION_IMAGES):
    """The `ValidationFigure` of a digits CycleGAN: labels kept both ways on validation digits, averaged.

    The first `count` validation digits of each domain are translated; the
    target domain's classifier (`JUDGES`) reads each translation's label.
    The figure is the mean of the two directions' shares.

    Example:
        >>> figure = validation_labels_kept(cyclegan, {"dataset": "digits", "image_size": 32, "channels": 1})
        >>> figure.measure()
        0.91
    """
    from kerasgen import zoo
    from kerasgen.base import ValidationFigure
    from kerasgen.cyclegan.figures import check_judges, label_kept

    if data_card["dataset"] == "mnist-mnistm":
        return validation_adaptation(model)
    if data_card["dataset"] != "digits":
        raise UserError(
            f"Model selection needs labelled digits (--data digits); this run uses {data_card['dataset']!r}."
        )
    check_judges(model)
    domains = {}
    for direction, source in zip(JUDGES, data.DIGIT_DOMAINS, strict=True):  # a2b starts from UCI, b2a from MNIST
        images, labels = data.load_images(source, "validation", model.image_shape[0])
        domains[direction] = (data.to_unit_range(images[:count]), labels[:count])
    judges = {direction: zoo.load(name) for direction, name in JUDGES.items()}

    def measure():
        kept = [
            label_kept(judges[direction], model.translate(images, direction), labels, bar=None)
            for direction, (images, labels) in domains.items()
        ]
        return float(np.mean(kept))

    sizes = {direction: len(labels) for direction, (_, labels) in domains.items()}
    definition = (
        f"mean over both directions of the share of validation digits ({sizes['a2b']} UCI, {sizes['b2a']} MNIST) "
        f"whose translation the target domain's classifier ({JUDGES['a2b']} for a2b, {JUDGES['b2a']} for b2a) "
        "assigns to the source label"
    )
    return ValidationFigure("validation_labels_kept", False, measure, definition)


def validation_adaptation(model, count=VALIDATION_IMAGES, training_digits=PROXY_TRAINING_DIGITS, epochs=1):
    """The `ValidationFigure` of an `mnist-mnistm` CycleGAN: the adaptation protocol, quick, on validation digits.

    A fresh `Classifier` (seed 0) trains `epochs` epochs on the first
    `training_digits` MNIST training digits translated to MNIST-M, with
    their MNIST labels; the figure is its accuracy on the first `count`
    MNIST-M validation digits. No MNIST-M label trains anything.

    Example:
        >>> validation_adaptation(cyclegan, count=1_000).measure()
        0.71
    """
    from kerasgen.base import ValidationFigure
    from kerasgen.cyclegan.adaptation import (
        BATCH_SIZE,
        SOURCE,
        check_unsupervised,
        trained_classifier,
        translated_uint8,
    )
    from kerasgen.cyclegan.figures import label_kept
    from kerasgen.progress import Progress

    check_unsupervised(model)
    size, channels = model.image_shape[0], model.image_shape[2]
    (train_a, labels_a), _ = data.load_unpaired(SOURCE, "train", size, channels, True)
    train_a, labels_a = train_a[:training_digits], labels_a[:training_digits]
    images, labels = data.load_images("mnistm", "validation", size, channels)
    validation = data.to_unit_range(images[:count]), labels[:count]

    def measure():
        steps = data.steps_per_epoch(len(train_a), BATCH_SIZE) * epochs
        with Progress(len(train_a) + steps, "Validation: translating, training a classifier") as bar:
            translations = translated_uint8(model, train_a, bar)
            classifier = trained_classifier(translations, labels_a, 0, epochs, bar)
        return label_kept(classifier, *validation, bar=None)

    definition = (
        f"accuracy on the first {len(validation[1])} MNIST-M validation digits of a fresh Classifier (seed 0) "
        f"trained {epochs} epoch(s) on the first {len(train_a)} MNIST training digits translated to MNIST-M, with "
        "their MNIST labels: a quick version of the adaptation protocol"
    )
    return ValidationFigure("validation_adapted_accuracy", False, measure, definition)
