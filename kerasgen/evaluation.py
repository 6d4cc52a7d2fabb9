"""Quality figures for zoo entries and trained model folders.

Every figure is measured on the `test` split of the data a model was trained
on (for MNIST, the 10,000 standard test digits); any choice made from data
(the Parzen window's width) is made on the `validation` split; nothing is
chosen on the test split.

* AutoEncoder: summed squared error per test image (pixels in [0, 1]),
  the figure of Hinton and Salakhutdinov (2006), beside PCA with as many
  components fitted on the same training split.
* VAE: test negative ELBO and the importance-weighted estimate of the
  negative log-likelihood (Burda et al. 2016) with k importance samples,
  in nats, on test digits binarized once with a fixed seed. The k samples
  are taken in chunks (log-sum-exp accumulated over chunks), so memory does
  not grow with k.
* Classifier: test accuracy.
* GAN: in the penultimate features of the zoo's digit classifier
  (`classifier.mnist`), the Frechet distance (Heusel et al. 2017) between N
  samples and N test digits ("MNIST FID", N = 10,000 by default), beside its
  floor, the same distance from N training digits to the same N test digits
  (Frechet distances shrink as samples grow, so the floor uses as many);
  the classifier's mean confidence on samples and the share of each class;
  for conditional GANs the share classified as the requested label and the
  FID of each label's samples against the test digits of that class
  ("intra-FID", Miyato and Koyama 2018), each beside its floor, which
  catches a label whose samples collapsed into a pattern the classifier
  still calls that digit; and the Parzen-window log-likelihood of the test
  digits under the 10,000 samples, its width chosen on the validation split
  (Goodfellow et al. 2014).
* CycleGAN on digits: the share of test UCI digits whose A->B translation
  `classifier.mnist` assigns to the original label, the reverse direction
  judged by `classifier.uci`, each beside the same classifier on the
  untranslated digits (the baseline), and the cycle reconstruction error
  both ways (any CycleGAN).
  A CycleGAN trained with one of these judges as its semantic classifier is
  refused (`check_judges`): a network that shaped the training cannot grade
  it. `cyclegan_summary` puts the figures in one line.
* Classifier on `digits` (UCI and MNIST together): test accuracy, and per
  domain.

Example:
    >>> from kerasgen import evaluation, zoo
    >>> evaluation.evaluate("vae.mnist")
    {'negative_elbo': ..., 'iwae_nll': ..., ...}
"""

import math

import numpy as np

from kerasgen import data, zoo
from kerasgen.errors import UserError

BINARIZATION_SEED = 0
CARD_MIN_SAMPLES = 100
MEASURING_CLASSIFIER = "classifier.mnist"
DOMAIN_CLASSIFIERS = {"a": "classifier.uci", "b": "classifier.mnist"}
GENERATED_IMAGES = 10_000
IMPORTANCE_CHUNK = 50
"""Importance samples per pass of the VAE's likelihood estimate (times `batch_size` images decoded at once)."""
PARZEN_SIGMAS = tuple(np.logspace(-1, 0, 10))
"""Widths tried for the Parzen window, as in Goodfellow et al. 2014's code (pixels in [0, 1])."""
SUBSET_SEED = 0


def load_split(card_data, split, with_labels=False):
    """A split of the dataset a card was trained on, as float images in [0, 1] (and labels).

    Args:
        card_data: the model's card (`kerasgen.zoo.card`).
        split: `train`, `validation` or `test` (see `kerasgen.data`).
        with_labels: also return the labels.

    Example:
        >>> test = load_split(kerasgen.zoo.card("vae.mnist"), "test")
    """
    source = card_data["data"]["dataset"]
    if not data.has_test_split(source):
        raise UserError(
            "evaluate needs a dataset with validation and test splits (mnist, uci, tfds:NAME); "
            f"this model was trained on {source!r}."
        )
    images, labels = data.load_images(source, split, card_data["data"]["image_size"])
    return (data.to_unit_range(images), labels) if with_labels else data.to_unit_range(images)


def autoencoder_figures(model, train, test, batch_size=500):
    """Test summed squared error of the model and of PCA fitted on `train`.

    Example:
        >>> autoencoder_figures(model, train, test)["squared_error"]
    """
    from sklearn.decomposition import PCA

    reconstructions = model.predict(test, batch_size=batch_size, verbose=0)
    model_error = float(np.mean(np.sum(np.square(test - reconstructions), axis=(1, 2, 3))))
    pca = PCA(n_components=model.latent_dim, random_state=0).fit(train.reshape(len(train), -1))
    flat = test.reshape(len(test), -1)
    pca_reconstructions = pca.inverse_transform(pca.transform(flat))
    pca_unclipped_error = float(np.mean(np.sum(np.square(flat - pca_reconstructions), axis=1)))
    pca_error = float(np.mean(np.sum(np.square(flat - np.clip(pca_reconstructions, 0, 1)), axis=1)))
    return {
        "squared_error": round(model_error, 3),
        "pca_squared_error": round(pca_error, 3),
        "pca_squared_error_unclipped": round(pca_unclipped_error, 3),
        "pca_to_model_ratio": round(pca_error / model_error, 2),
        "test_images": len(test),
        "definition": "mean over test images of the squared error summed over pixels in [0, 1]; "
        f"PCA with {model.latent_dim} components fitted on the {len(train)} training images, "
        "its reconstructions clipped to [0, 1] (and unclipped)",
    }


def binarize(images, seed=BINARIZATION_SEED):
    """Fixed stochastic binarization: pixel ~ Bernoulli(intensity), numpy seed `seed`."""
    return (np.random.default_rng(seed).random(images.shape) < images).astype(np.float32)


def vae_figures(model, test, samples=500, batch_size=20, chunk_size=IMPORTANCE_CHUNK, seed=0):
    """Negative ELBO and importance-weighted NLL (k = `samples`) in nats per image.

    The k importance samples of each image are taken `chunk_size` at a time
    and their log-mean-exp is accumulated over the chunks, so at most
    `chunk_size * batch_size` decodings are held at once, whatever k is:
    k = 5,000 needs no more memory than k = 50. The noise is one draw per
    batch of images, so the result does not depend on `chunk_size`.

    Args:
        model: a `kerasgen.vae.VAE`.
        test: float images in [0, 1] (binarized here, once, with a fixed seed).
        samples: k, importance samples per image (1 gives the ELBO).
        batch_size: images per pass.
        chunk_size: importance samples per pass.
        seed: seed of the importance samples.

    Returns:
        A dict with `negative_elbo`, `iwae_nll` (nats), `importance_samples`,
        `test_images` and the binarization.

    Example:
        >>> vae_figures(model, test, samples=5000)["iwae_nll"]
    """
    import tensorflow as tf

    for name, value in (("samples", samples), ("batch_size", batch_size), ("chunk_size", chunk_size)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1. Received: {name}={value}")
    targets = binarize(test)
    generator = tf.random.Generator.from_seed(seed)
    half_log_two_pi = 0.5 * math.log(2 * math.pi)

    @tf.function(jit_compile=True)
    def chunk_log_weights(images, noise):
        mean, log_var = model.encoder(images, training=False)
        latents = mean + tf.exp(0.5 * log_var) * noise
        flat = tf.reshape(latents, (-1, model.latent_dim))
        logits = tf.reshape(model.decoder(flat, training=False), (tf.shape(noise)[0], -1, *model.image_shape))
        log_likelihood = -tf.reduce_sum(
            tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.broadcast_to(images, tf.shape(logits)), logits=logits),
            axis=(2, 3, 4),
        )
        log_prior = tf.reduce_sum(-0.5 * tf.square(latents) - half_log_two_pi, axis=-1)
        log_posterior = tf.reduce_sum(-0.5 * tf.square(noise) - half_log_two_pi - 0.5 * log_var, axis=-1)
        return log_likelihood + log_prior - log_posterior

    log_mean_weights, mean_log_weights = [], []
    for start in range(0, len(targets), batch_size):
        images = tf.constant(targets[start : start + batch_size])
        noise = generator.normal((samples, len(images), model.latent_dim))
        peak = np.full(len(images), -np.inf)
        total = np.zeros(len(images))  # sum of exp(log weight - peak)
        log_weight_sum = np.zeros(len(images))
        for first in range(0, samples, chunk_size):
            chunk = chunk_log_weights(images, noise[first : first + chunk_size]).numpy().astype(np.float64)
            new_peak = np.maximum(peak, chunk.max(axis=0))
            total = total * np.exp(peak - new_peak) + np.sum(np.exp(chunk - new_peak), axis=0)
            peak = new_peak
            log_weight_sum += chunk.sum(axis=0)
        log_mean_weights.append(peak + np.log(total) - math.log(samples))
        mean_log_weights.append(log_weight_sum / samples)
    return {
        "negative_elbo": round(float(-np.mean(np.concatenate(mean_log_weights))), 2),
        "iwae_nll": round(float(-np.mean(np.concatenate(log_mean_weights))), 2),
        "importance_samples": samples,
        "test_images": len(test),
        "binarization": f"stochastic, pixel ~ Bernoulli(intensity), numpy default_rng({BINARIZATION_SEED}), drawn once",
    }


def classifier_figures(model, test, labels):
    """Test accuracy of a classifier.

    Example:
        >>> classifier_figures(kerasgen.zoo.load("classifier.mnist"), images, labels)["accuracy"]
    """
    predicted = np.argmax(model.predict(test, batch_size=500, verbose=0), axis=-1)
    return {
        "accuracy": round(float(np.mean(predicted == labels)), 4),
        "errors": int(np.sum(predicted != labels)),
        "test_images": len(test),
    }


def frechet_distance(features_a, features_b):
    """Frechet distance between Gaussians fitted to two sets of feature vectors (rows).

    Uses tr(sqrt(A B)) = sum of the square roots of the eigenvalues of
    sqrt(A) B sqrt(A), which is symmetric, so only `eigh` is needed.

    Example:
        >>> frechet_distance(features, features)  # ~0
    """
    features_a, features_b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    covariance_a, covariance_b = np.cov(features_a, rowvar=False), np.cov(features_b, rowvar=False)
    values, vectors = np.linalg.eigh(covariance_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    cross = np.linalg.eigvalsh(root_a @ covariance_b @ root_a)
    mean_term = np.sum(np.square(features_a.mean(axis=0) - features_b.mean(axis=0)))
    trace_term = np.trace(covariance_a) + np.trace(covariance_b) - 2 * np.sum(np.sqrt(np.clip(cross, 0, None)))
    return float(mean_term + trace_term)


def parzen_log_likelihoods(samples, targets, sigmas, batch_size=250):
    """Log-density of each target under a Gaussian Parzen window on `samples`, for each sigma.

    Example:
        >>> parzen_log_likelihoods(samples, validation, PARZEN_SIGMAS).shape
        (10, 5000)

    Returns:
        Array (len(sigmas), len(targets)) in nats, pixels in [0, 1].
    """
    samples = np.asarray(samples, np.float64).reshape(len(samples), -1)
    targets = np.asarray(targets, np.float64).reshape(len(targets), -1)
    dimensions = samples.shape[1]
    sample_norms = np.sum(np.square(samples), axis=1)
    results = np.empty((len(sigmas), len(targets)))
    for start in range(0, len(targets), batch_size):
        batch = targets[start : start + batch_size]
        distances = np.sum(np.square(batch), axis=1)[:, None] + sample_norms[None] - 2 * batch @ samples.T
        for row, sigma in enumerate(sigmas):
            exponents = -np.maximum(distances, 0) / (2 * sigma**2)
            peak = exponents.max(axis=1, keepdims=True)
            log_mean = peak[:, 0] + np.log(np.mean(np.exp(exponents - peak), axis=1))
            results[row, start : start + len(batch)] = log_mean - 0.5 * dimensions * np.log(2 * np.pi * sigma**2)
    return results


def parzen_figures(samples, validation, test, sigmas=PARZEN_SIGMAS):
    """Parzen-window log-likelihood of `test` by Goodfellow et al. 2014's protocol.

    A Gaussian window on the samples (10,000 in the protocol); its width is
    the one among `sigmas` that gives the `validation` images the highest
    mean log-likelihood; the test images are used only to measure.

    Args:
        samples: generated images in [0, 1].
        validation: images that choose sigma (never the test images).
        test: images whose log-likelihood is reported.
        sigmas: the widths tried.

    Returns:
        `(mean, standard_error, sigma)`: the mean log-likelihood of the test
        images in nats, its standard error (standard deviation over the
        square root of their number), and the chosen width.

    Example:
        >>> mean, error, sigma = parzen_figures(samples, validation, test)
    """
    if not len(validation) or not len(test):
        raise ValueError(f"Parzen figures need validation and test images. Received: {len(validation)}, {len(test)}")
    sigma = float(sigmas[int(np.argmax(parzen_log_likelihoods(samples, validation, sigmas).mean(axis=1)))])
    log_likelihoods = parzen_log_likelihoods(samples, test, [sigma])[0]
    return float(np.mean(log_likelihoods)), float(np.std(log_likelihoods) / np.sqrt(len(test))), sigma


def matched_fid(generated_features, train_features, test_features, seed=SUBSET_SEED):
    """The FID of generated images and its floor, measured with the same number of images.

    Frechet distances shrink as the samples grow, so a floor is comparable
    only at the same size. With N the number of generated images (capped by
    the sizes of the other two sets), the FID is the distance from N
    generated images to N test images, and the floor the distance from N
    training images to the same N test images: what a model that copies the
    training distribution perfectly would score at this N.

    Args:
        generated_features: features (rows) of the generated images.
        train_features: features of training images (N or more).
        test_features: features of test images (N or more).
        seed: seed of the fixed subsets taken when a set holds more than N.

    Returns:
        `(fid, floor, n)`.

    Example:
        >>> fid, floor, n = matched_fid(classifier.features(samples), train_features, test_features)
    """
    count = min(len(generated_features), len(train_features), len(test_features))
    if count < 2:
        raise ValueError(f"A Frechet distance needs at least 2 images per set. Received: count={count}")
    reference = data.fixed_subset(np.asarray(test_features), count, seed)
    fid = frechet_distance(data.fixed_subset(np.asarray(generated_features), count, seed), reference)
    floor = frechet_distance(data.fixed_subset(np.asarray(train_features), count, seed), reference)
    return fid, floor, count


def label_fids(generated_features, requested, train_features, train_labels, test_features, test_labels):
    """Matched FID and floor of each label: its samples, and its training digits, against its test digits.

    The mean over labels is the "intra-FID" of Miyato and Koyama (2018). A
    label whose samples collapsed into one pattern scores far above its
    floor even when a classifier assigns every sample to the right class.

    Args:
        generated_features: features of the generated images.
        requested: the label each generated image was asked for.
        train_features, train_labels: training images' features and classes (the floors).
        test_features, test_labels: test images' features and classes.

    Returns:
        `(fids, floors)`, one of each per label 0..max(test_labels).

    Example:
        >>> fids, floors = label_fids(features, requested, train_features, train_labels, test_features, labels)
    """
    requested, train_labels, test_labels = map(np.asarray, (requested, train_labels, test_labels))
    fids, floors = [], []
    for label in range(int(test_labels.max()) + 1):
        fid, floor, _ = matched_fid(
            generated_features[requested == label],
            train_features[train_labels == label],
            test_features[test_labels == label],
        )
        fids.append(fid)
        floors.append(floor)
    return np.array(fids), np.array(floors)


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


def resized(images, shape):
    """Float images resized (bilinear, antialiased) to `shape[:2]`, unchanged if already that size."""
    from keras import ops

    if images.shape[1:3] == tuple(shape[:2]):
        return images
    return np.clip(np.asarray(ops.image.resize(images, shape[:2], antialias=True)), 0, 1)


def label_kept(classifier, images, labels):
    """Share of `images` that `classifier` assigns to `labels`."""
    probabilities = classifier.predict(resized(images, classifier.image_shape), batch_size=500, verbose=0)
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


def cyclegan_figures(model, card_data):
    """Cycle reconstruction error both ways; on digits, whether translations keep their labels.

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
    as_b, as_a = model.translate(images_a, "a2b"), model.translate(images_b, "b2a")
    figures = {
        "a2b_cycle_error": round(float(np.mean(np.abs(model.translate(as_b, "b2a") - images_a))), 4),
        "b2a_cycle_error": round(float(np.mean(np.abs(model.translate(as_a, "a2b") - images_b))), 4),
        "test_images": {"a": len(images_a), "b": len(images_b)},
    }
    if source == "digits":
        judge_a, judge_b = (zoo.load(DOMAIN_CLASSIFIERS[domain]) for domain in "ab")
        figures.update(
            a2b_label_kept=label_kept(judge_b, as_b, labels_a),
            a2b_baseline=label_kept(judge_b, images_a, labels_a),
            b2a_label_kept=label_kept(judge_a, as_a, labels_b),
            b2a_baseline=label_kept(judge_a, images_b, labels_b),
            classifier_accuracy={
                "b (classifier.mnist on test MNIST)": label_kept(judge_b, images_b, labels_b),
                "a (classifier.uci on test UCI)": label_kept(judge_a, images_a, labels_a),
            },
        )
    figures["definition"] = (
        "label_kept: share of translated test digits that the target domain's classifier "
        f"({DOMAIN_CLASSIFIERS['b']} for a2b, {DOMAIN_CLASSIFIERS['a']} for b2a) assigns to the source label; "
        "baseline: the same classifier on the untranslated digits; cycle_error: mean absolute pixel "
        "difference in [0, 1] between an image and its translation translated back"
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
    from kerasgen import families

    card_data = zoo.card(name_or_dir)
    if families.for_class(card_data["class"]).data != families.UNPAIRED:
        raise UserError(f"{str(name_or_dir)!r} is a {card_data['class']}, not a model of two domains.")
    return summary_line(cyclegan_figures(zoo.load(name_or_dir), card_data))


def digits_classifier_figures(model, image_size):
    """Held-out accuracy of a classifier of both digit domains, overall and per domain.

    Example:
        >>> digits_classifier_figures(kerasgen.zoo.load("runs/classifier.digits"), 32)["by_domain"]
        {'uci': {...}, 'mnist': {...}}
    """
    parts = {domain: data.load_images(domain, "test", image_size) for domain in data.DIGIT_DOMAINS}
    images = np.concatenate([images for images, _ in parts.values()])
    labels = np.concatenate([labels for _, labels in parts.values()])
    figures = classifier_figures(model, data.to_unit_range(images), labels)
    figures["by_domain"] = {
        domain: classifier_figures(model, data.to_unit_range(images), labels)
        for domain, (images, labels) in parts.items()
    }
    return figures


def evaluate(name_or_dir, samples=500, test_images=None):
    """The figures for an entry or model folder, by model family, all measured on the test split.

    Args:
        name_or_dir: a zoo entry's name or a model folder.
        samples: k, importance samples per image for a VAE's likelihood.
        test_images: measure on a fixed subset of this many test images
            (None: all of them), e.g. to afford k = 5,000 for a VAE.

    Example:
        >>> evaluate("autoencoder.mnist")["squared_error"]
        >>> evaluate("vae.mnist", samples=5000, test_images=1000)["iwae_nll"]
    """
    from kerasgen import families

    if test_images is not None and test_images < 1:
        raise ValueError(f"test_images must be at least 1. Received: test_images={test_images}")
    card_data = zoo.card(name_or_dir)
    model = zoo.load(name_or_dir)
    evaluate_family = families.for_class(card_data["class"]).hook("evaluate")
    return evaluate_family(model, card_data, samples=samples, test_images=test_images)


def test_split(card_data, test_images=None):
    """The card's test images and labels, or a fixed subset of `test_images` of them."""
    test, labels = load_split(card_data, "test", with_labels=True)
    if test_images is not None:
        test, labels = (
            data.fixed_subset(test, test_images, SUBSET_SEED),
            data.fixed_subset(labels, test_images, SUBSET_SEED),
        )
    return test, labels


def evaluate_autoencoder(model, card_data, samples=None, test_images=None):
    """`autoencoder_figures` on the card's test digits, PCA fitted on its training digits."""
    return autoencoder_figures(model, load_split(card_data, "train"), test_split(card_data, test_images)[0])


def evaluate_vae(model, card_data, samples=500, test_images=None):
    """`vae_figures` on the card's test digits, with `samples` importance samples."""
    return vae_figures(model, test_split(card_data, test_images)[0], samples=samples)


def evaluate_classifier(model, card_data, samples=None, test_images=None):
    """`classifier_figures` on the card's test digits (both domains and each one for `digits`)."""
    if card_data["data"]["dataset"] == "digits":
        return digits_classifier_figures(model, card_data["data"]["image_size"])
    return classifier_figures(model, *test_split(card_data, test_images))


def evaluate_gan(model, card_data, samples=None, test_images=None):
    """`gan_figures` measured with `MEASURING_CLASSIFIER`, Parzen's sigma chosen on the validation digits."""
    classifier = zoo.load(MEASURING_CLASSIFIER)
    (train, train_labels), validation = load_split(card_data, "train", True), load_split(card_data, "validation")
    test, test_labels = test_split(card_data, test_images)
    return gan_figures(model, classifier, train, validation, test, train_labels=train_labels, test_labels=test_labels)


def evaluate_cyclegan(model, card_data, samples=None, test_images=None):
    """`cyclegan_figures` on the test split of the card's domains."""
    return cyclegan_figures(model, card_data)


def closing_line(folder):
    """What `kerasgen train cyclegan` prints last: a `digits` run's figures on the held-out (test) digits.

    Example:
        >>> closing_line("runs/cyclegan")
        'Held-out digits: UCI->MNIST labels kept 0.96 (untranslated 0.74); ...'
    """
    if zoo.card(folder)["data"]["dataset"] != "digits":
        return None
    try:
        return f"Held-out digits: {cyclegan_summary(folder)}"
    except UserError as error:
        return f"Held-out digits not measured: {error}"
