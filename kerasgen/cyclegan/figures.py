"""The CycleGAN's figures: cycle reconstruction error, and on digits whether translations keep their labels.

On digits: the share of test UCI digits whose A->B translation
`classifier.mnist` assigns to the original label, the reverse direction
judged by `classifier.uci`, each beside the same classifier on the
untranslated digits (the baseline). A CycleGAN trained with one of these
judges as its semantic classifier is refused (`check_judges`): a network that
shaped the training cannot grade it. `summary_line` puts the figures in one
line, the last line of `kerasgen train cyclegan`.

Example:
    >>> from kerasgen.cyclegan.figures import cyclegan_figures
    >>> cyclegan_figures(kerasgen.zoo.load("cyclegan.digits"), kerasgen.zoo.card("cyclegan.digits"))
"""

import numpy as np

from kerasgen import data, zoo
from kerasgen.errors import UserError
from kerasgen.progress import Progress

DOMAIN_CLASSIFIERS = {"a": "classifier.uci", "b": "classifier.mnist"}
PIXELS_PER_CALL = 1000 * 32 * 32
"""Pixels per call of a network's compiled function while measuring (`kerasgen.inference`): 1,000 digits of
32x32 (500 to 2,000 cost the same CPU time), 15 photos of 256x256 (bounded memory); progress is counted
between calls."""


def images_per_call(images):
    """How many of `images` one call takes: `PIXELS_PER_CALL` pixels, at least one image."""
    return max(1, PIXELS_PER_CALL // (images.shape[1] * images.shape[2]))


def translated(model, images, direction, bar):
    """`model.translate(images, direction)` in calls of `PIXELS_PER_CALL` pixels, counting images on `bar`."""
    per_call = images_per_call(images)
    outputs = []
    for start in range(0, len(images), per_call):
        outputs.append(model.translate(images[start : start + per_call], direction, batch_size=per_call))
        bar.update(len(outputs[-1]))
    return np.concatenate(outputs) if outputs else model.translate(images, direction)


def resized(images, shape):
    """Float images resized (bilinear, antialiased) to `shape[:2]`, unchanged if already that size."""
    from keras import ops

    if images.shape[1:3] == tuple(shape[:2]):
        return images
    return np.clip(np.asarray(ops.image.resize(images, shape[:2], antialias=True)), 0, 1)


def label_kept(classifier, images, labels, bar):
    """Share of `images` that `classifier` assigns to `labels`, counting images on `bar`."""
    from kerasgen.inference import predict_in_batches

    images = resized(images, classifier.image_shape)
    probabilities = predict_in_batches(classifier, images, images_per_call(images), bar)
    return round(float(np.mean(np.argmax(probabilities, axis=-1) == labels)), 4)


def same_network(name_or_dir, other):
    """Whether two entry names or model folders hold the same weights (the same name, or the same sha256)."""
    if str(name_or_dir) == str(other):
        return True
    return zoo.card(name_or_dir)["weights"]["sha256"] == zoo.card(other)["weights"]["sha256"]


def check_judges(model, judges=None):
    """Refuse to measure a CycleGAN with a classifier that was inside its training loss.

    Args:
        model: a CycleGAN (anything without a semantic classifier passes).
        judges: entry names or model folders of the measuring classifiers;
            None for `DOMAIN_CLASSIFIERS`.

    Raises:
        UserError: the model's semantic classifier (with `lambda_semantic` >
            0) is one of the judges, by name or by weights (sha256).

    Example:
        >>> check_judges(kerasgen.zoo.load("runs/cyclegan"))
    """
    if not getattr(model, "uses_semantic_loss", False):
        return
    for judge in DOMAIN_CLASSIFIERS.values() if judges is None else judges:
        if same_network(model.semantic_classifier, judge):
            raise UserError(
                f"This CycleGAN was trained with {model.semantic_classifier!r} as its semantic classifier, which is "
                f"the judge {judge!r}: a figure measured by the network that shaped the training is not a figure. "
                "Train the CycleGAN with another semantic classifier (e.g. classifier.digits)."
            )


def cyclegan_figures(model, card_data, judges_accuracy=True):
    """Cycle reconstruction error both ways; on digits, whether translations keep their labels.

    `judges_accuracy=False` leaves out the judges' own accuracy on their test
    digits (the closing line does not show it): a third fewer digits to classify.

    On digits, a model whose semantic classifier is one of the judges is
    refused (`check_judges`) before anything is measured.

    Example:
        >>> cyclegan_figures(kerasgen.zoo.load("cyclegan.digits"), kerasgen.zoo.card("cyclegan.digits"))
    """
    source = card_data["data"]["dataset"]
    if source == "digits":
        check_judges(model)
    size, channels = model.image_shape[0], model.image_shape[2]
    try:
        (images_a, labels_a), (images_b, labels_b) = data.load_unpaired(source, "test", size, channels, True)
    except UserError as error:
        raise UserError(f"evaluate needs the test split (testA/, testB/) of {source!r}: {error}") from None
    images_a, images_b = data.to_unit_range(images_a), data.to_unit_range(images_b)
    with Progress(2 * (len(images_a) + len(images_b)), "Translating test images and back") as bar:
        as_b, as_a = translated(model, images_a, "a2b", bar), translated(model, images_b, "b2a", bar)
        cycled_a, cycled_b = translated(model, as_b, "b2a", bar), translated(model, as_a, "a2b", bar)
    figures = {
        "a2b_cycle_error": round(float(np.mean(np.abs(cycled_a - images_a))), 4),
        "b2a_cycle_error": round(float(np.mean(np.abs(cycled_b - images_b))), 4),
        "test_images": {"a": len(images_a), "b": len(images_b)},
    }
    if source == "digits":
        judge_a, judge_b = (zoo.load(DOMAIN_CLASSIFIERS[domain]) for domain in "ab")
        passes = 3 if judges_accuracy else 2
        with Progress(passes * (len(images_a) + len(images_b)), "Classifying test digits and translations") as bar:
            figures.update(
                a2b_label_kept=label_kept(judge_b, as_b, labels_a, bar),
                a2b_baseline=label_kept(judge_b, images_a, labels_a, bar),
                b2a_label_kept=label_kept(judge_a, as_a, labels_b, bar),
                b2a_baseline=label_kept(judge_a, images_b, labels_b, bar),
            )
            if judges_accuracy:
                figures["classifier_accuracy"] = {
                    "b (classifier.mnist on test MNIST)": label_kept(judge_b, images_b, labels_b, bar),
                    "a (classifier.uci on test UCI)": label_kept(judge_a, images_a, labels_a, bar),
                }
    if source == "mnist-mnistm":
        from kerasgen.cyclegan.adaptation import adaptation_figures

        figures.update(adaptation_figures(model, card_data, test_translations=(as_b, as_a)))
    cycle_error = (
        "cycle_error: mean absolute pixel difference in [0, 1] between an image and its translation translated back"
    )
    figures["definition"] = cycle_error
    if source == "digits":
        figures["definition"] = (
            "label_kept: share of translated test digits that the target domain's classifier "
            f"({DOMAIN_CLASSIFIERS['b']} for a2b, {DOMAIN_CLASSIFIERS['a']} for b2a) assigns to the source label; "
            f"baseline: the same classifier on the untranslated digits; {cycle_error}"
        )
    if getattr(model, "uses_semantic_loss", False):
        figures["semantic_classifier"] = model.semantic_classifier
        figures["lambda_semantic"] = model.lambda_semantic
    return figures


def summary_line(figures):
    """One line of a CycleGAN's figures (`cyclegan_figures`), for the end of a training run.

    Example:
        >>> print(summary_line(figures))
        UCI->MNIST labels kept 0.94 (untranslated 0.74); MNIST->UCI 0.81 (untranslated 0.33); cycle errors 0.033 / 0.030
    """
    cycle = f"cycle errors {figures['a2b_cycle_error']:.3f} / {figures['b2a_cycle_error']:.3f}"
    if "a2b_label_kept" not in figures:
        return cycle[0].upper() + cycle[1:]
    return (
        f"UCI->MNIST labels kept {figures['a2b_label_kept']:.2f} (untranslated {figures['a2b_baseline']:.2f}); "
        f"MNIST->UCI {figures['b2a_label_kept']:.2f} (untranslated {figures['b2a_baseline']:.2f}); {cycle}"
    )


def cyclegan_summary(name_or_dir):
    """The one-line summary of a CycleGAN entry or model folder, measured on its test (held-out) images.

    Raises:
        UserError: as `cyclegan_figures` (a judge used as the semantic classifier, no test split).

    Example:
        >>> print(cyclegan_summary("runs/cyclegan"))
        UCI->MNIST labels kept 0.94 (untranslated 0.74); MNIST->UCI 0.81 (untranslated 0.33); cycle errors ...
    """
    card_data = zoo.card(name_or_dir)
    model = zoo.load(name_or_dir)
    if not hasattr(model, "translate"):
        raise UserError(f"{str(name_or_dir)!r} is a {card_data['class']}, not a model of two domains.")
    return summary_line(cyclegan_figures(model, card_data))


def closing_line(model, card):
    """What `kerasgen train cyclegan` prints last: for a `digits` run, its figures on the test digits in one line.

    Example:
        >>> closing_line(model, kerasgen.zoo.card("runs/cyclegan"))
        'Held-out digits: UCI->MNIST labels kept 0.96 (untranslated 0.74); ...'
    """
    if card["data"]["dataset"] != "digits":
        return None
    try:
        return f"Held-out digits: {summary_line(cyclegan_figures(model, card, judges_accuracy=False))}"
    except UserError as error:
        return f"Held-out digits not measured: {error}"
