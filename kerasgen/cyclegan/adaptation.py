"""Unsupervised domain adaptation figures of a CycleGAN on `mnist-mnistm` (MNIST, domain A -> MNIST-M, domain B).

The pixel-level adaptation protocol of Bousmalis et al. (2017): a fresh
`kerasgen.classifier.Classifier` (at the CycleGAN's image shape, 32x32x3 for
`mnist-mnistm`) is trained on the MNIST training digits translated to
MNIST-M, with their MNIST labels, then tested on the MNIST-M test digits.
Beside it, the same classifier trained on MNIST as it is (source only) and
on the MNIST-M training digits with their labels (train on target, the
ceiling). Each of the three is trained `CLASSIFIER_EPOCHS` epochs with seeds
0, 1 and 2 (`SEEDS`), and reported as the mean, the sample standard
deviation over the seeds (ddof=1) and the per-seed values.

In the other direction, `classifier.mnist` reads the MNIST-M test digits
translated to MNIST (labels kept) and untranslated (baseline), both
converted to its 28x28 grey input (`judge_input`). How MNIST-M-like the
translations are: the Frechet distance, in the features of the seed-0
train-on-target classifier, from translated MNIST test digits to a fixed,
class-stratified half of the MNIST-M test digits, beside its floor, the
MNIST-M validation digits against the same half (`frechet_figures`).

No MNIST-M label trains the CycleGAN or anything it uses (a semantic
classifier trained on MNIST-M is refused); the MNIST-M labels here serve
only these figures. The source-only and train-on-target classifiers do not
depend on the CycleGAN, so their accuracies and the seed-0 target
classifier's weights are cached in `$KERASGEN_HOME/adaptation/`, keyed by
everything that defines them (`baseline_key`): a second evaluation trains
only the three adapted classifiers.

Example:
    >>> from kerasgen.cyclegan.adaptation import adaptation_figures
    >>> adaptation_figures(kerasgen.zoo.load("runs/cyclegan.mnistm"), kerasgen.zoo.card("runs/cyclegan.mnistm"))
    {'adapted_accuracy': ..., 'source_only_accuracy': ..., 'target_accuracy': ..., ...}
"""

import hashlib
import json

import keras
import numpy as np

from kerasgen import data, zoo
from kerasgen.cyclegan.baselines_cache import CACHE_VERSION, read_baselines, write_baselines
from kerasgen.cyclegan.figures import check_judges, label_kept, resized, translated
from kerasgen.errors import UserError
from kerasgen.metrics import frechet_distance, indices_digest, stratified_subset
from kerasgen.progress import Progress

SOURCE = "mnist-mnistm"
SEEDS = (0, 1, 2)
CLASSIFIER_EPOCHS = 3
"""Epochs of every protocol classifier. Train on target (seed 0, all 55,000 digits) read 0.969 of 1,000 MNIST-M
validation digits after one epoch, then 0.974 to 0.979 at every fifth of an epoch from 1.8 to 3 epochs (0.977 at
3; a standard error is 0.005): its plateau, reached by 2 epochs; 3 leave a margin for the translated digits."""
BATCH_SIZE = 128
LEARNING_RATE = 1e-3
FRECHET_IMAGES = 5_000
"""Images per set of the Frechet distances: as many as the MNIST-M validation digits of the floor."""
B2A_JUDGE = "classifier.mnist"
TRANSLATION_CHUNK = 5_000
"""Training digits translated per chunk, each stored as uint8 at once (55,000 float32 digits would take 0.7 GB)."""
ANCHORS = {
    "measured_on": "the original MNIST-M (BSDS500 photographs), not kerasgen's (scikit-image's photographs): "
    "the photos differ, so read these with care",
    "source_only_accuracy": {
        "value": 0.5225,
        "source": "Ganin et al. 2016 (JMLR) and Ganin and Lempitsky 2015, source only",
    },
    "dann_accuracy": {"value": 0.7666, "source": "Ganin et al. 2016 (JMLR) and Ganin and Lempitsky 2015, DANN"},
    "target_accuracy": {
        "value": 0.9596,
        "source": "Ganin et al. 2016 (JMLR) and Ganin and Lempitsky 2015, trained on target",
    },
    "pixelda_accuracy": {"value": 0.982, "source": "Bousmalis et al. 2017, PixelDA"},
}


class StepCounter(keras.callbacks.Callback):
    """Counts each training step on a `kerasgen.progress.Progress` bar (in place of Keras's own bar).

    Example:
        >>> with Progress(epochs * steps, "Training") as bar:
        ...     classifier.fit(dataset, epochs=epochs, verbose=0, callbacks=[StepCounter(bar)])
    """

    def __init__(self, bar):
        super().__init__()
        self.bar = bar

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(1)


def adaptation_figures(model, card, epochs=CLASSIFIER_EPOCHS, training_digits=None, test_translations=None):
    """The domain-adaptation figures of a CycleGAN trained on `mnist-mnistm`, measured on the MNIST-M test digits.

    Args:
        model: a CycleGAN of `mnist-mnistm` (A: MNIST, B: MNIST-M).
        card: its card (its data must be `mnist-mnistm`).
        epochs: epochs of every classifier of the protocol.
        training_digits: train the classifiers on a fixed subset of this many
            training digits (the same digits in both domains); None for all 55,000.
        test_translations: `(a2b, b2a)`, the test digits of domain A
            translated to B and of domain B translated to A, in [0, 1], if
            already computed (`cyclegan_figures` has them); None to translate here.

    Returns:
        A dict for the card's `metrics`: `adapted_accuracy`,
        `source_only_accuracy`, `target_accuracy` (each with `_spread`, the
        standard deviation over the seeds, and `_per_seed`), `b2a_label_kept`
        and `b2a_baseline`, `frechet_to_target` and `frechet_floor`, the
        sizes, `adaptation_definition` and `anchors`.

    Raises:
        UserError: the card's data is not `mnist-mnistm`; `B2A_JUDGE` was the
            CycleGAN's semantic classifier; its semantic classifier was
            trained on MNIST-M labels.

    Example:
        >>> figures = adaptation_figures(model, card, epochs=1, training_digits=500)
        >>> figures["adapted_accuracy"], figures["target_accuracy"]
    """
    if card["data"]["dataset"] != SOURCE:
        raise UserError(f"Domain-adaptation figures need a CycleGAN of {SOURCE!r}, not {card['data']['dataset']!r}.")
    check_judges(model, [B2A_JUDGE])
    check_unsupervised(model)
    size, channels = model.image_shape[0], model.image_shape[2]
    (train_a, labels_a), (train_b, labels_b) = data.load_unpaired(SOURCE, "train", size, channels, True)
    if training_digits is not None:
        chosen = data.fixed_subset(np.arange(len(train_a)), training_digits)
        train_a, labels_a, train_b, labels_b = train_a[chosen], labels_a[chosen], train_b[chosen], labels_b[chosen]
    (test_a, _), (test_b, test_labels) = data.load_unpaired(SOURCE, "test", size, channels, True)
    test_a, test_b = data.to_unit_range(test_a), data.to_unit_range(test_b)
    if test_translations is None:
        with Progress(len(test_a) + len(test_b), "Translating test digits") as bar:
            test_translations = translated(model, test_a, "a2b", bar), translated(model, test_b, "b2a", bar)
    test_as_b, test_as_a = test_translations
    with Progress(len(train_a), f"Translating {len(train_a)} MNIST training digits to MNIST-M") as bar:
        train_as_b = translated_uint8(model, train_a, bar)

    accuracies, target_classifier = protocol_accuracies(
        train_as_b, (train_a, labels_a), (train_b, labels_b), (test_b, test_labels), epochs
    )

    judge = zoo.load(B2A_JUDGE)
    figures = {}
    for name in ("adapted", "source_only", "target"):
        figures.update(seed_figures(f"{name}_accuracy", accuracies[name]))
    with Progress(3 * len(test_labels), f"Classifying MNIST-M test digits and translations with {B2A_JUDGE}") as bar:
        figures.update(
            b2a_label_kept=label_kept(judge, judge_input(test_as_a, judge.image_shape), test_labels, bar),
            b2a_baseline=label_kept(judge, judge_input(test_b, judge.image_shape), test_labels, bar),
            b2a_judge_on_mnist=label_kept(judge, judge_input(test_a, judge.image_shape), test_labels, bar),
        )
    validation_b, _ = data.load_images("mnistm", "validation", size, channels)
    figures.update(frechet_figures(target_classifier, test_as_b, test_b, test_labels, data.to_unit_range(validation_b)))
    figures.update(
        classifier_epochs=epochs,
        classifier_training_digits=len(train_a),
        adaptation_definition=definition(epochs, len(train_a), len(test_b), figures["frechet_images"]),
        anchors=ANCHORS,
    )
    return figures


def check_unsupervised(model):
    """Refuse a CycleGAN whose semantic classifier was trained on MNIST-M's labels: that is not unsupervised.

    Raises:
        UserError: the semantic classifier's card names MNIST-M in its data.

    Example:
        >>> check_unsupervised(kerasgen.zoo.load("runs/cyclegan.mnistm"))
    """
    if not getattr(model, "uses_semantic_loss", False):
        return
    dataset = zoo.card(model.semantic_classifier)["data"]["dataset"]
    if "mnistm" in dataset:
        raise UserError(
            f"This CycleGAN's semantic classifier {model.semantic_classifier!r} was trained on {dataset!r}, with "
            "MNIST-M labels: unsupervised adaptation figures need a CycleGAN that no MNIST-M label trained."
        )


def translated_uint8(model, images, bar):
    """`images` of domain A translated to B, rounded to uint8 chunk by chunk (as a saved PNG would hold them)."""
    chunks = [
        np.round(translated(model, images[start : start + TRANSLATION_CHUNK], "a2b", bar) * 255).astype(np.uint8)
        for start in range(0, len(images), TRANSLATION_CHUNK)
    ]
    return np.concatenate(chunks) if chunks else np.zeros((0, *model.image_shape), np.uint8)


def protocol_accuracies(translations, source, target, test, epochs):
    """The protocol's test accuracies per seed, training the source-only and target classifiers only if not cached.

    Args:
        translations: the source's training digits translated to the target
            domain (uint8), labelled by `source`'s labels.
        source, target: `(images, labels)` of the training digits of each
            domain (uint8; the same digits in the same order).
        test: `(images in [0, 1], labels)` of the target domain's test digits.
        epochs: epochs of every classifier.

    Returns:
        `(accuracies, target_classifier)`: `{"adapted", "source_only",
        "target"}` -> one accuracy per seed, and the seed-0 train-on-target
        classifier (trained here, or read from the cache).

    Example:
        >>> accuracies, target_classifier = protocol_accuracies(as_b, (a, labels), (b, labels), (test, labels), 4)
    """
    key, material = baseline_key(*source, *target, *test, epochs)
    cached = read_baselines(key, material, target[0].shape[1:])
    runs = {"adapted": (translations, source[1])}
    if cached is None:
        runs.update(source_only=source, target=target)
    steps = data.steps_per_epoch(len(source[0]), BATCH_SIZE) * epochs
    accuracies, target_classifier = {}, None
    label = f"Training {len(runs) * len(SEEDS)} classifiers ({', '.join(runs).replace('_', ' ')}; {len(SEEDS)} seeds)"
    with Progress(len(runs) * len(SEEDS) * steps, label) as bar:
        for name, (images, labels) in runs.items():
            accuracies[name] = []
            for seed in SEEDS:
                classifier = trained_classifier(images, labels, seed, epochs, bar)
                accuracies[name].append(label_kept(classifier, *test, bar=None))
                if name == "target" and seed == SEEDS[0]:
                    target_classifier = classifier
    if cached is None:
        write_baselines(key, material, accuracies, target_classifier)
        return accuracies, target_classifier
    cached_accuracies, target_classifier = cached
    return {**accuracies, **cached_accuracies}, target_classifier


def trained_classifier(images, labels, seed, epochs, bar):
    """A fresh `Classifier` at the images' shape, trained `epochs` epochs from `seed` on uint8 `images`.

    Adam at `LEARNING_RATE`, batches of `BATCH_SIZE` reshuffled every epoch,
    no augmentation; each step is counted on `bar`.

    Example:
        >>> classifier = trained_classifier(images, labels, seed=0, epochs=4, bar=bar)
    """
    from kerasgen.classifier.model import Classifier

    keras.utils.set_random_seed(seed)
    classifier = Classifier(image_shape=images.shape[1:])
    classifier.compile_for_recipe({"learning_rate": LEARNING_RATE})
    dataset = data.make_dataset(images, BATCH_SIZE, seed=seed, labels=labels)
    # the dataset reshuffles itself every epoch; Keras would only warn that it ignores shuffle=True
    classifier.fit(dataset, epochs=epochs, verbose=0, callbacks=[StepCounter(bar)], shuffle=False)
    return classifier


def judge_input(images, shape):
    """Images in [0, 1] converted to a grey judge's input `shape`: the mean of the channels, then resized.

    Domain A holds MNIST as three equal channels, so the mean is the digit
    itself; the resize is `figures.resized` (antialiased bilinear, 32 -> 28
    pixels), as the digits CycleGAN's figures resize for their judges.

    Example:
        >>> judge_input(translations, (28, 28, 1)).shape
        (10000, 28, 28, 1)
    """
    if images.shape[-1] != shape[-1]:
        images = np.mean(images, axis=-1, keepdims=True, dtype=np.float32)
    return resized(images, shape)


def seed_figures(name, values):
    """`name` (the mean over seeds), `name_spread` (sample standard deviation, ddof=1) and `name_per_seed`.

    Example:
        >>> seed_figures("target_accuracy", [0.97, 0.98, 0.99])
        {'target_accuracy': 0.98, 'target_accuracy_spread': 0.01, 'target_accuracy_per_seed': [0.97, 0.98, 0.99]}
    """
    return {
        name: round(float(np.mean(values)), 4),
        f"{name}_spread": round(float(np.std(values, ddof=1)), 4) if len(values) > 1 else 0.0,
        f"{name}_per_seed": [round(float(value), 4) for value in values],
    }


def frechet_figures(classifier, translations, test, test_labels, validation, count=FRECHET_IMAGES):
    """Frechet distance of translated digits to target-domain test digits, beside its matched floor.

    A fixed, class-stratified `count` of the test digits is the reference;
    the translations of the other test digits (never their own digits) are
    compared with it, and so are `count` validation digits (the floor: what
    unseen real target digits score at this size). `classifier`'s penultimate
    features; it never trained on any of these digits.

    Args:
        classifier: the measuring `Classifier` (train on target, seed 0).
        translations: the source domain's test digits translated, in [0, 1],
            in the order of `test` (digit i is the same MNIST digit in both).
        test, test_labels: the target domain's test digits in [0, 1] and labels.
        validation: the target domain's validation digits in [0, 1].
        count: images per set, capped by half the test digits and the validation digits.

    Example:
        >>> frechet_figures(target_classifier, as_mnistm, mnistm_test, labels, mnistm_validation)["frechet_to_target"]
    """
    count = min(count, len(test) // 2, len(validation))
    reference = stratified_subset(test_labels, count)
    others = data.fixed_subset(np.setdiff1d(np.arange(len(test)), reference), count)
    floor_digits = data.fixed_subset(np.arange(len(validation)), count)
    reference_features = classifier.features(test[reference])
    distance = frechet_distance(classifier.features(translations[others]), reference_features)
    floor = frechet_distance(classifier.features(validation[floor_digits]), reference_features)
    return {
        "frechet_to_target": round(distance, 3),
        "frechet_floor": round(floor, 3),
        "frechet_images": count,
        "frechet_reference_sha256": indices_digest(reference),
    }


def definition(epochs, training_digits, test_digits, frechet_images):
    """The card's sentence on what the adaptation figures are."""
    seeds = ", ".join(map(str, SEEDS))
    return (
        f"Bousmalis et al. 2017's pixel-level protocol: a fresh Classifier at the CycleGAN's image shape, Adam "
        f"{LEARNING_RATE}, batch {BATCH_SIZE}, {epochs} epochs, no augmentation, seeds {seeds} (each figure: mean, "
        f"_spread = sample standard deviation over seeds (ddof=1), _per_seed), tested on the {test_digits} MNIST-M "
        f"test digits; adapted: trained on {training_digits} MNIST training digits translated A->B (rounded to "
        f"uint8) with their MNIST labels; source_only: on the same MNIST digits as they are (three equal channels); "
        f"target: on the same digits of MNIST-M with their labels (the ceiling). b2a_label_kept: share of MNIST-M "
        f"test digits translated B->A that {B2A_JUDGE} assigns to their label, each converted to its input (mean "
        f"of the channels, antialiased bilinear resize to 28 px); b2a_baseline: the same on the untranslated "
        f"MNIST-M test digits; b2a_judge_on_mnist: the same on the MNIST test digits (domain A). frechet_to_target: "
        f"Frechet distance in the penultimate features of the seed-{SEEDS[0]} target classifier from "
        f"{frechet_images} MNIST test digits translated A->B to {frechet_images} other MNIST-M test digits (drawn "
        f"once, seed 0, stratified by class; sha256 of their indices: frechet_reference_sha256); frechet_floor: "
        f"{frechet_images} MNIST-M validation digits against the same test digits. No MNIST-M label trains the "
        f"CycleGAN; these figures use MNIST-M labels only to train the target classifiers and to score"
    )


def baseline_key(train_a, labels_a, train_b, labels_b, test_b, test_labels, epochs):
    """`(key, material)`: what defines the source-only and train-on-target results, and its sha256 (16 hex digits).

    The material: the protocol's version, epochs, seeds, batch size and
    learning rate, the classifier's configuration, the sha256 of the data
    (training digits of both domains, their labels, the test digits and
    labels), and the TensorFlow and Keras versions.

    Example:
        >>> key, material = baseline_key(train_a, labels_a, train_b, labels_b, test_b, test_labels, epochs=4)
    """
    import tensorflow as tf

    from kerasgen.classifier.model import Classifier

    digest = hashlib.sha256()
    for array in (train_a, labels_a, train_b, labels_b, test_b, test_labels):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(array.data)
    config = Classifier(image_shape=train_a.shape[1:]).get_config()
    material = {
        "version": CACHE_VERSION,
        "epochs": epochs,
        "seeds": list(SEEDS),
        "batch_size": BATCH_SIZE,
        "learning_rate": LEARNING_RATE,
        "classifier": {name: value for name, value in config.items() if name not in ("name", "trainable")},
        "data_sha256": digest.hexdigest(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }
    material = json.loads(json.dumps(material))  # tuples as lists, as they read back from the file
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16], material
