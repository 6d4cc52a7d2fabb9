"""The digits CycleGAN's validation figure: the share of validation digits whose translations keep their labels.

Example:
    >>> from kerasgen.cyclegan.validation import validation_labels_kept
    >>> validation_labels_kept(cyclegan, card["data"]).measure()
"""

import numpy as np

from kerasgen import data
from kerasgen.errors import UserError

VALIDATION_IMAGES = 1_000
"""Validation digits per domain at most (the UCI validation split holds fewer)."""
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
    from kerasgen.cyclegan.figures import check_judges, resized

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
        kept = []
        for direction, (images, labels) in domains.items():
            translations = model.translate(images, direction, batch_size=500)
            judge = judges[direction]
            scores = judge.predict(resized(translations, judge.image_shape), batch_size=500, verbose=0)
            kept.append(np.mean(np.argmax(scores, axis=-1) == labels))
        return float(np.mean(kept))

    sizes = {direction: len(labels) for direction, (_, labels) in domains.items()}
    definition = (
        f"mean over both directions of the share of validation digits ({sizes['a2b']} UCI, {sizes['b2a']} MNIST) "
        f"whose translation the target domain's classifier ({JUDGES['a2b']} for a2b, {JUDGES['b2a']} for b2a) "
        "assigns to the source label"
    )
    return ValidationFigure("validation_labels_kept", False, measure, definition)
