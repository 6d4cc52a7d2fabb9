"""The GAN's figures: sample quality in a digit classifier's features, and the Parzen-window likelihood.

In the penultimate features of the zoo's digit classifier
(`classifier.mnist`): the Frechet distance (Heusel et al. 2017) between N
samples and N test digits ("MNIST FID"), beside its floor, the same distance
from N training digits to the same N test digits; the classifier's mean
confidence on samples and the share of each class; for conditional GANs the
share classified as the requested label and the FID of each label's samples
against the test digits of that class ("intra-FID", Miyato and Koyama 2018),
each beside its floor; and the Parzen-window log-likelihood of the test
digits under the samples, its width chosen on the validation split
(Goodfellow et al. 2014).

Example:
    >>> from kerasgen.gan.figures import evaluate
    >>> evaluate(kerasgen.zoo.load("dcgan.mnist"), kerasgen.zoo.card("dcgan.mnist"))["fid"]
"""

import numpy as np

from kerasgen import data
from kerasgen.errors import UserError
from kerasgen.metrics import PARZEN_SIGMAS, label_fids, matched_fid, parzen_figures

MEASURING_CLASSIFIER = "classifier.mnist"
GENERATED_IMAGES = 10_000


def evaluate(model, card, test_images=None):
    """`gan_figures` measured with `MEASURING_CLASSIFIER`, Parzen's sigma chosen on the validation digits."""
    from kerasgen import zoo

    classifier = zoo.load(MEASURING_CLASSIFIER)
    (train, train_labels), validation = data.card_split(card, "train", True), data.card_split(card, "validation")
    test, test_labels = data.card_test_split(card, test_images)
    return gan_figures(model, classifier, train, validation, test, train_labels=train_labels, test_labels=test_labels)


def generate_batches(model, count, seed=0, batch_size=500):
    """`count` samples (labels cycling through the classes for a conditional GAN) as numpy, and their labels."""
    labels = np.arange(count) % model.num_classes if model.num_classes else None
    images = [
        np.asarray(
            model.generate(
                min(batch_size, count - start),
                labels=None if labels is None else labels[start : start + batch_size],
                seed=seed + start,
            )
        )
        for start in range(0, count, batch_size)
    ]
    return np.concatenate(images), labels


def gan_figures(
    model, classifier, train, validation, test, count=GENERATED_IMAGES, seed=0, train_labels=None, test_labels=None
):
    """Sample quality of a GAN measured with a digit classifier, and Parzen log-likelihood.

    Args:
        model: a `kerasgen.gan.GAN`.
        classifier: the measuring `kerasgen.classifier.Classifier`.
        train: training images in [0, 1] (the FID floor).
        validation: validation images (choose the Parzen window's width).
        test: test images (every figure is measured on them).
        count: samples to generate (10,000 in Goodfellow et al. 2014).
        seed: seed of the samples.
        train_labels, test_labels: classes of `train` and `test`; with them, a
            conditional GAN also gets its per-label FIDs (`label_fids`).

    Example:
        >>> gan_figures(gan, kerasgen.zoo.load("classifier.mnist"), train, validation, test)["fid"]
    """
    generated, requested = generate_batches(model, count, seed)
    if generated.shape[1:] != classifier.image_shape:
        raise UserError(
            f"The classifier measures {classifier.image_shape} images; this GAN makes {generated.shape[1:]}."
        )
    generated_features = classifier.features(generated)
    probabilities = np.asarray(classifier.output_layer(generated_features))
    predicted = np.argmax(probabilities, axis=-1)
    fid_images = min(count, len(train), len(test))
    train_features, test_features = classifier.features(data.fixed_subset(train, fid_images)), classifier.features(test)
    fid, floor, fid_images = matched_fid(generated_features, train_features, test_features)
    shares = np.bincount(predicted, minlength=classifier.num_classes) / count
    parzen, parzen_error, sigma = parzen_figures(generated, validation, test)
    figures = {
        "fid": round(fid, 3),
        "fid_floor": round(floor, 3),
        "fid_to_floor_ratio": round(fid / floor, 2),
        "fid_images": fid_images,
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
        "definition": f"features: penultimate layer of {MEASURING_CLASSIFIER}; FID: {fid_images} samples vs "
        f"{fid_images} test digits; floor: {fid_images} training digits vs the same test digits; Parzen "
        f"(Goodfellow et al. 2014): window on the {count} samples, sigma chosen among {len(PARZEN_SIGMAS)} "
        f"log-spaced values in [0.1, 1] on the {len(validation)} validation digits, mean ± standard error of "
        f"the log-likelihood of the {len(test)} test digits",
    }
    if model.num_classes:
        figures["conditional_accuracy"] = round(float(np.mean(predicted == requested)), 4)
    if model.num_classes and train_labels is not None and test_labels is not None:
        subset_labels = data.fixed_subset(np.asarray(train_labels), fid_images)
        per_label = [
            np.bincount(labels, minlength=model.num_classes) for labels in (requested, subset_labels, test_labels)
        ]
        if min(counts.min() for counts in per_label) >= 2:  # a Frechet distance needs two images a set
            fids, floors = label_fids(
                generated_features, requested, train_features, subset_labels, test_features, test_labels
            )
            worst = int(np.argmax(fids / floors))
            figures.update(
                intra_fid=round(float(fids.mean()), 3),
                intra_fid_floor=round(float(floors.mean()), 3),
                label_fids=[round(float(fid), 3) for fid in fids],
                label_fid_floors=[round(float(floor), 3) for floor in floors],
                worst_label=worst,
                worst_label_fid_to_floor_ratio=round(float(fids[worst] / floors[worst]), 2),
            )
            figures["definition"] += (
                "; intra-FID (Miyato and Koyama 2018): mean over labels of the FID of the label's samples against the "
                "test digits of that class, floor the same with as many training digits of the class"
            )
    return figures
