"""The GAN's figures: sample quality in a digit classifier's features, and the Parzen-window likelihood.

In the penultimate features of the zoo's digit classifier
(`classifier.mnist`): the Frechet distance (Heusel et al. 2017) between N =
5,000 samples and a fixed set of N test digits ("MNIST FID"), beside its
floor, the distance from N validation digits to the same N test digits. The
test digits are drawn once, seed 0, stratified by class (`fid_test_subset`),
and their indices' sha256 goes into the figures. The floor's digits are
validation digits because neither the generator nor the measuring classifier
trained on them: the classifier's features of its own training digits sit
tighter than those of unseen digits, so a floor of training digits would be
too low. Beside them: the classifier's mean confidence on samples and the
share of each class; for conditional GANs (samples requested in the chosen
test digits' class proportions, `requested_labels`) the share classified as
the requested label and the FID of each label's samples against the chosen
test digits of that class ("intra-FID", Miyato and Koyama 2018), each beside
its floor (the class's validation digits against the same test digits); and
the Parzen-window log-likelihood of all test digits under 10,000 samples,
its width chosen on the validation split (Goodfellow et al. 2014), beside
its ceiling: the same protocol with 10,000 real training digits in place of
the samples.

Example:
    >>> from kerasgen.gan.figures import evaluate
    >>> evaluate(kerasgen.zoo.load("dcgan.mnist"), kerasgen.zoo.card("dcgan.mnist"))["fid"]
"""

import numpy as np

from kerasgen import data
from kerasgen.errors import UserError
from kerasgen.metrics import (
    PARZEN_SIGMAS,
    SUBSET_SEED,
    frechet_distance,
    indices_digest,
    label_fids,
    matched_fid,
    parzen_figures,
    proportional_labels,
    stratified_subset,
)
from kerasgen.progress import progress

MEASURING_CLASSIFIER = "classifier.mnist"
GENERATED_IMAGES = 10_000
"""Samples generated: the Parzen window's (Goodfellow et al. 2014); the first `FID_IMAGES` of them make the FID."""
FID_IMAGES = 5_000
"""N of the FID, its floor and the fixed test digits: as many as the MNIST validation digits."""


def evaluate(model, card, test_images=None):
    """`gan_figures` measured with `MEASURING_CLASSIFIER` on the card's validation and test digits."""
    from kerasgen import zoo

    classifier = zoo.load(MEASURING_CLASSIFIER)
    validation, validation_labels = data.card_split(card, "validation", True)
    test, test_labels = data.card_test_split(card, test_images)
    training_digits = data.fixed_subset(data.card_split(card, "train"), GENERATED_IMAGES, SUBSET_SEED)
    return gan_figures(
        model,
        classifier,
        validation,
        test,
        validation_labels=validation_labels,
        test_labels=test_labels,
        training_digits=training_digits,
    )


def fid_test_subset(test_labels, count=FID_IMAGES, seed=SUBSET_SEED):
    """Indices of the fixed test digits of the FID: `count` of them, stratified by class (`stratified_subset`).

    Example:
        >>> indices = fid_test_subset(data.load_mnist("test")[1])  # 5,000 of the 10,000 MNIST test digits
    """
    return stratified_subset(test_labels, min(count, len(test_labels)), seed)


def requested_labels(subset_labels, count, num_classes):
    """Labels to ask a conditional GAN for: `count` in the class proportions of `subset_labels`.

    The first `len(subset_labels)` hold each class exactly as often as
    `subset_labels` (the FID's test digits), the rest follow the same
    proportions, each class spread evenly (`proportional_labels`).

    Example:
        >>> requested_labels(test_labels[fid_test_subset(test_labels)], 10_000, 10)  # 980 zeros, 1,136 ones, ...
    """
    counts = np.bincount(np.asarray(subset_labels, np.int64), minlength=num_classes)[:num_classes]
    first = min(count, int(counts.sum()))
    return np.concatenate([proportional_labels(counts, first), proportional_labels(counts, count - first)])


def generate_batches(model, count, seed=0, batch_size=500, labels=None):
    """`count` samples as numpy, and their labels (for a conditional GAN: `labels`, or cycling through the classes)."""
    if model.num_classes and labels is None:
        labels = np.arange(count) % model.num_classes
    labels = np.asarray(labels) if model.num_classes else None
    images = [
        np.asarray(
            model.generate(
                min(batch_size, count - start),
                labels=None if labels is None else labels[start : start + batch_size],
                seed=seed + start,
            )
        )
        for start in progress(range(0, count, batch_size), f"Sampling {count} images")
    ]
    return np.concatenate(images), labels


def gan_figures(
    model,
    classifier,
    validation,
    test,
    count=GENERATED_IMAGES,
    seed=0,
    validation_labels=None,
    test_labels=None,
    fid_images=FID_IMAGES,
    training_digits=None,
):
    """Sample quality of a GAN measured with a digit classifier, and Parzen log-likelihood.

    Args:
        model: a `kerasgen.gan.GAN`.
        classifier: the measuring `kerasgen.classifier.Classifier`.
        validation: validation images in [0, 1], never trained on by the GAN
            or the classifier: the FID's floor, and the Parzen window's width.
        test: test images (every figure is measured on them).
        count: samples to generate (10,000 in Goodfellow et al. 2014).
        seed: seed of the samples.
        validation_labels, test_labels: classes of `validation` and `test`;
            with `test_labels` the FID's test digits are stratified by class
            and a conditional GAN's samples are requested in their
            proportions; with both, a conditional GAN also gets its per-label
            FIDs (`label_fids`).
        fid_images: N of the FID and its floor (capped by `count` and the
            sizes of `validation` and `test`).
        training_digits: real training images that take the samples' place
            in the Parzen protocol, its ceiling (`parzen_ceiling`); None for none.

    Example:
        >>> gan_figures(gan, kerasgen.zoo.load("classifier.mnist"), validation, test, test_labels=labels)["fid"]
    """
    size = min(fid_images, count, len(validation), len(test))
    if size < 2:
        raise ValueError(f"A Frechet distance needs at least 2 images per set. Received: fid_images={size}")
    if test_labels is None:
        chosen, subset_labels = data.fixed_subset(np.arange(len(test)), size, SUBSET_SEED), None
    else:
        chosen = fid_test_subset(test_labels, size)
        subset_labels = np.asarray(test_labels)[chosen]
    floor_digits = data.fixed_subset(np.arange(len(validation)), size, SUBSET_SEED)
    requested = None
    if model.num_classes and subset_labels is not None:
        requested = requested_labels(subset_labels, count, model.num_classes)
    generated, requested = generate_batches(model, count, seed, labels=requested)
    if generated.shape[1:] != classifier.image_shape:
        raise UserError(
            f"The classifier measures {classifier.image_shape} images; this GAN makes {generated.shape[1:]}."
        )
    generated_features = classifier.features(generated)
    probabilities = np.asarray(classifier.output_layer(generated_features))
    predicted = np.argmax(probabilities, axis=-1)
    floor_features, test_features = classifier.features(validation[floor_digits]), classifier.features(test[chosen])
    fid, floor, _ = matched_fid(generated_features[:size], floor_features, test_features)
    shares = np.bincount(predicted, minlength=classifier.num_classes) / count
    parzen, parzen_error, sigma = parzen_figures(generated, validation, test)
    figures = {
        "fid": round(fid, 3),
        "fid_floor": round(floor, 3),
        "fid_to_floor_ratio": round(fid / floor, 2),
        "fid_images": size,
        "fid_test_subset_sha256": indices_digest(chosen),
        "mean_confidence": round(float(np.mean(np.max(probabilities, axis=-1))), 4),
        "class_shares": [round(float(share), 4) for share in shares],
        "min_class_share": round(float(shares.min()), 4),
        "max_class_share": round(float(shares.max()), 4),
        "parzen_log_likelihood": round(parzen, 1),
        "parzen_standard_error": round(parzen_error, 1),
        "parzen_sigma": round(sigma, 4),
        "generated_images": count,
        "validation_images": len(validation),
        "test_images": len(test),
        "definition": f"features: penultimate layer of {MEASURING_CLASSIFIER}; FID: the first {size} samples vs "
        f"{size} test digits drawn once (seed {SUBSET_SEED}"
        + (", stratified by class" if subset_labels is not None else "")
        + f"; sha256 of their indices, written as decimal numbers joined by commas: fid_test_subset_sha256); floor: "
        f"{size} validation digits (trained on by neither the generator nor {MEASURING_CLASSIFIER}) vs the same "
        f"test digits; Parzen (Goodfellow et al. 2014): window on the {count} samples, sigma chosen among "
        f"{len(PARZEN_SIGMAS)} log-spaced values in [0.1, 1] on the {len(validation)} validation digits, mean ± "
        f"standard error of the log-likelihood of the {len(test)} test digits",
    }
    if training_digits is not None:
        ceiling, ceiling_error, ceiling_sigma = parzen_figures(training_digits, validation, test)
        figures.update(
            parzen_ceiling=round(ceiling, 1),
            parzen_ceiling_standard_error=round(ceiling_error, 1),
            parzen_ceiling_sigma=round(ceiling_sigma, 4),
            parzen_ceiling_images=len(training_digits),
        )
        figures["definition"] += (
            f"; Parzen ceiling: the same protocol with {len(training_digits)} real training digits (drawn once, "
            f"seed {SUBSET_SEED}) in place of the samples"
        )
    if subset_labels is not None:
        figures["fid_test_subset_class_counts"] = np.bincount(subset_labels).tolist()
    if model.num_classes:
        figures["conditional_accuracy"] = round(float(np.mean(predicted == requested)), 4)
        if subset_labels is not None:
            figures["definition"] += "; samples requested in the class proportions of the FID's test digits"
    if model.num_classes and subset_labels is not None and validation_labels is not None:
        floor_labels = np.asarray(validation_labels)[floor_digits]
        per_label = [
            np.bincount(labels, minlength=model.num_classes)
            for labels in (requested[:size], floor_labels, subset_labels)
        ]
        if min(counts.min() for counts in per_label) >= 2:  # a Frechet distance needs two images a set
            fids, floors, counts = label_fids(
                generated_features[:size], requested[:size], floor_features, floor_labels, test_features, subset_labels
            )
            worst = int(np.argmax(fids / floors))
            figures.update(
                intra_fid=round(float(fids.mean()), 3),
                intra_fid_floor=round(float(floors.mean()), 3),
                label_fids=[round(float(fid), 3) for fid in fids],
                label_fid_floors=[round(float(floor), 3) for floor in floors],
                label_fid_images=[int(count) for count in counts],
                worst_label=worst,
                worst_label_fid_to_floor_ratio=round(float(fids[worst] / floors[worst]), 2),
            )
            figures["definition"] += (
                f"; intra-FID (Miyato and Koyama 2018): mean over labels of the FID of the label's samples among the "
                f"first {size} against the FID's test digits of that class, floor: the class's validation digits "
                "against the same test digits, each with as many images as the smallest of the three sets holds "
                "(label_fid_images)"
            )
    return figures


VALIDATION_SEED = 1
"""Seed of the samples of the validation FID (the test figures' samples use seed 0)."""


def validation_fid(model, data_card, count=FID_IMAGES):
    """The GAN's `ValidationFigure`: MNIST FID of `count` samples against `count` validation digits.

    The digits are drawn once, stratified by class; a conditional GAN is
    asked for their labels. Features and samples are those of
    `gan_figures`, with another seed, and no test digit is touched.

    Example:
        >>> figure = validation_fid(gan, {"dataset": "mnist", "image_size": 28})
        >>> figure.measure()
    """
    from kerasgen import zoo
    from kerasgen.base import ValidationFigure

    classifier = zoo.load(MEASURING_CLASSIFIER)
    validation, labels = data.card_split({"data": data_card}, "validation", True)
    if validation.shape[1:] != classifier.image_shape:
        raise UserError(
            f"The validation FID is measured by {MEASURING_CLASSIFIER} on {classifier.image_shape} digits; "
            f"this GAN makes {validation.shape[1:]} images."
        )
    chosen = fid_test_subset(labels, count)
    reference = classifier.features(validation[chosen])
    requested = requested_labels(labels[chosen], len(chosen), model.num_classes) if model.num_classes else None

    def measure():
        generated, _ = generate_batches(model, len(chosen), VALIDATION_SEED, labels=requested)
        return frechet_distance(classifier.features(generated), reference)

    definition = (
        f"FID in {MEASURING_CLASSIFIER}'s features of {len(chosen)} samples (seed {VALIDATION_SEED}) against "
        f"{len(chosen)} validation digits drawn once (seed {SUBSET_SEED}, stratified by class)"
    )
    return ValidationFigure("validation_fid", True, measure, definition)


def interpolation_picture(model, folder, name_or_dir="NAME", rows=6, steps=10):
    """Write `rows` latent interpolations of `steps` images each to `folder/interpolation.png`.

    Returns:
        The card keys `interpolation` and `interpolation_command`.

    Example:
        >>> interpolation_picture(gan, "zoo/entries/dcgan.mnist", "dcgan.mnist")
    """
    from kerasgen.imaging import save_grid

    path = f"{folder}/interpolation.png"
    strips = [model.interpolate(steps, seed=row, label=row % max(1, model.num_classes)) for row in range(rows)]
    save_grid(np.concatenate([np.asarray(strip) for strip in strips]), path, steps)
    command = f"kerasgen sample {name_or_dir} --interpolate {steps} -n {rows} -o {path}"
    return {"interpolation": "interpolation.png", "interpolation_command": command}
