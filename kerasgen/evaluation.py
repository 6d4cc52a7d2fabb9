"""Quality figures for zoo entries and trained model folders.

* AutoEncoder: summed squared error per held-out image (pixels in [0, 1]),
  the figure of Hinton and Salakhutdinov (2006), beside PCA with as many
  components fitted on the same training split.
* VAE: held-out negative ELBO and the importance-weighted estimate of the
  negative log-likelihood (Burda et al. 2016), in nats, on held-out digits
  binarized once with a fixed seed.
* Classifier: held-out accuracy.
* GAN: in the penultimate features of the zoo's digit classifier
  (`classifier.mnist`), the Frechet distance (Heusel et al. 2017) between
  10,000 samples and the held-out digits ("MNIST FID"), beside its floor,
  the same distance between 1,000 training digits and the held-out ones;
  the classifier's mean confidence on samples and the share of each class;
  for conditional GANs the share classified as the requested label; and the
  Parzen-window log-likelihood of held-out digits (Goodfellow et al. 2014).
* CycleGAN on digits: the share of held-out UCI digits whose A->B
  translation `classifier.mnist` assigns to the original label, the reverse
  direction judged by `classifier.uci`, each beside the same classifier on
  the untranslated digits (the baseline), and the cycle reconstruction error
  both ways (any CycleGAN). A CycleGAN trained with one of these judges as
  its semantic classifier is refused (`check_judges`): a network that shaped
  the training cannot grade it. `cyclegan_summary` puts the figures in one
  line.
* Classifier on `digits` (UCI and MNIST together): held-out accuracy, and
  per domain.

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
CARD_MIN_SAMPLES = 500
MEASURING_CLASSIFIER = "classifier.mnist"
DOMAIN_CLASSIFIERS = {"a": "classifier.uci", "b": "classifier.mnist"}
GENERATED_IMAGES = 10_000
FLOOR_IMAGES = 1_000
PARZEN_SIGMAS = tuple(np.logspace(-1, 0, 10))


def load_split(card_data, split, with_labels=False):
    """A split of the dataset a card was trained on, as float images in [0, 1] (and labels)."""
    source = card_data["data"]["dataset"]
    if not data.has_heldout_split(source):
        raise UserError(
            "evaluate needs a dataset with a held-out split (mnist, uci, tfds:NAME); "
            f"this model was trained on {source!r}."
        )
    images, labels = data.load_images(source, split, card_data["data"]["image_size"])
    return (data.to_unit_range(images), labels) if with_labels else data.to_unit_range(images)


def autoencoder_figures(model, train, heldout, batch_size=500):
    """Held-out summed squared error of the model and of PCA.

    Example:
        >>> autoencoder_figures(model, train, heldout)["squared_error"]
    """
    from sklearn.decomposition import PCA

    reconstructions = model.predict(heldout, batch_size=batch_size, verbose=0)
    model_error = float(np.mean(np.sum(np.square(heldout - reconstructions), axis=(1, 2, 3))))
    pca = PCA(n_components=model.latent_dim, random_state=0).fit(train.reshape(len(train), -1))
    flat = heldout.reshape(len(heldout), -1)
    pca_reconstructions = pca.inverse_transform(pca.transform(flat))
    pca_unclipped_error = float(np.mean(np.sum(np.square(flat - pca_reconstructions), axis=1)))
    pca_error = float(np.mean(np.sum(np.square(flat - np.clip(pca_reconstructions, 0, 1)), axis=1)))
    return {
        "squared_error": round(model_error, 3),
        "pca_squared_error": round(pca_error, 3),
        "pca_squared_error_unclipped": round(pca_unclipped_error, 3),
        "pca_to_model_ratio": round(pca_error / model_error, 2),
        "heldout_images": len(heldout),
        "definition": "mean over held-out images of the squared error summed over pixels in [0, 1]; "
        f"PCA with {model.latent_dim} components fitted on the {len(train)} training images, "
        "its reconstructions clipped to [0, 1] (and unclipped)",
    }


def binarize(images, seed=BINARIZATION_SEED):
    """Fixed stochastic binarization: pixel ~ Bernoulli(intensity), numpy seed `seed`."""
    return (np.random.default_rng(seed).random(images.shape) < images).astype(np.float32)


def vae_figures(model, heldout, samples=500, batch_size=20, seed=0):
    """Negative ELBO and importance-weighted NLL (k = `samples`) in nats per image.

    Example:
        >>> vae_figures(model, heldout, samples=500)["iwae_nll"]
    """
    import tensorflow as tf

    targets = binarize(heldout)
    log_weights = []
    generator = tf.random.Generator.from_seed(seed)
    half_log_two_pi = 0.5 * math.log(2 * math.pi)

    @tf.function(jit_compile=True)
    def batch_log_weights(images, noise):
        mean, log_var = model.encoder(images, training=False)
        latents = mean + tf.exp(0.5 * log_var) * noise
        flat = tf.reshape(latents, (-1, model.latent_dim))
        logits = tf.reshape(model.decoder(flat, training=False), (samples, -1, *model.image_shape))
        log_likelihood = -tf.reduce_sum(
            tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.broadcast_to(images, tf.shape(logits)), logits=logits),
            axis=(2, 3, 4),
        )
        log_prior = tf.reduce_sum(-0.5 * tf.square(latents) - half_log_two_pi, axis=-1)
        log_posterior = tf.reduce_sum(-0.5 * tf.square(noise) - half_log_two_pi - 0.5 * log_var, axis=-1)
        return log_likelihood + log_prior - log_posterior

    for start in range(0, len(targets), batch_size):
        images = tf.constant(targets[start : start + batch_size])
        noise = generator.normal((samples, len(images), model.latent_dim))
        log_weights.append(batch_log_weights(images, noise).numpy())
    log_weights = np.concatenate(log_weights, axis=1).astype(np.float64)
    peak = log_weights.max(axis=0)
    log_mean_weight = peak + np.log(np.mean(np.exp(log_weights - peak), axis=0))
    return {
        "negative_elbo": round(float(-np.mean(log_weights)), 2),
        "iwae_nll": round(float(-np.mean(log_mean_weight)), 2),
        "importance_samples": samples,
        "heldout_images": len(heldout),
        "binarization": f"stochastic, pixel ~ Bernoulli(intensity), numpy default_rng({BINARIZATION_SEED}), drawn once",
    }


def classifier_figures(model, heldout, labels):
    """Held-out accuracy of a classifier.

    Example:
        >>> classifier_figures(kerasgen.zoo.load("classifier.mnist"), images, labels)["accuracy"]
    """
    predicted = np.argmax(model.predict(heldout, batch_size=500, verbose=0), axis=-1)
    return {
        "accuracy": round(float(np.mean(predicted == labels)), 4),
        "errors": int(np.sum(predicted != labels)),
        "heldout_images": len(heldout),
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


def gan_figures(model, classifier, train, heldout, count=GENERATED_IMAGES, seed=0):
    """Sample quality of a GAN measured with a digit classifier, and Parzen log-likelihood.

    Example:
        >>> gan_figures(gan, kerasgen.zoo.load("classifier.mnist"), train, heldout)["fid"]
    """
    generated, requested = generate_batches(model, count, seed)
    if generated.shape[1:] != classifier.image_shape:
        raise UserError(
            f"The classifier measures {classifier.image_shape} images; this GAN makes {generated.shape[1:]}."
        )
    generated_features = classifier.features(generated)
    probabilities = np.asarray(classifier.output_layer(generated_features))
    predicted = np.argmax(probabilities, axis=-1)
    heldout_features = classifier.features(heldout)
    fid = frechet_distance(generated_features, heldout_features)
    floor = frechet_distance(classifier.features(data.fixed_subset(train, FLOOR_IMAGES)), heldout_features)
    shares = np.bincount(predicted, minlength=classifier.num_classes) / count
    validation = data.fixed_subset(train, FLOOR_IMAGES, seed=1)
    sigma_index = int(np.argmax(parzen_log_likelihoods(generated, validation, PARZEN_SIGMAS).mean(axis=1)))
    sigma = PARZEN_SIGMAS[sigma_index]
    heldout_log_likelihoods = parzen_log_likelihoods(generated, heldout, [sigma])[0]
    figures = {
        "fid": round(fid, 3),
        "fid_floor": round(floor, 3),
        "fid_to_floor_ratio": round(fid / floor, 2),
        "mean_confidence": round(float(np.mean(np.max(probabilities, axis=-1))), 4),
        "class_shares": [round(float(share), 4) for share in shares],
        "min_class_share": round(float(shares.min()), 4),
        "max_class_share": round(float(shares.max()), 4),
        "parzen_log_likelihood": round(float(np.mean(heldout_log_likelihoods)), 1),
        "parzen_standard_error": round(float(np.std(heldout_log_likelihoods) / np.sqrt(len(heldout))), 1),
        "parzen_sigma": round(float(sigma), 4),
        "generated_images": count,
        "heldout_images": len(heldout),
        "definition": f"features: penultimate layer of {MEASURING_CLASSIFIER}; FID floor: {FLOOR_IMAGES} training "
        f"digits vs the held-out digits; Parzen sigma chosen among {len(PARZEN_SIGMAS)} values in [0.1, 1] "
        f"(log-spaced) on {FLOOR_IMAGES} training digits, as in Goodfellow et al. 2014",
    }
    if model.num_classes:
        figures["conditional_accuracy"] = round(float(np.mean(predicted == requested)), 4)
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
                "b (classifier.mnist on held-out MNIST)": label_kept(judge_b, images_b, labels_b),
                "a (classifier.uci on held-out UCI)": label_kept(judge_a, images_a, labels_a),
            },
        )
    figures["definition"] = (
        "label_kept: share of translated held-out digits that the target domain's classifier "
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
    card_data = zoo.card(name_or_dir)
    if card_data["class"] != "CycleGAN":
        raise UserError(f"{str(name_or_dir)!r} is a {card_data['class']}, not a CycleGAN.")
    return summary_line(cyclegan_figures(zoo.load(name_or_dir), card_data))


def digits_classifier_figures(model, image_size):
    """Held-out accuracy of a classifier of both digit domains, overall and per domain.

    Example:
        >>> digits_classifier_figures(kerasgen.zoo.load("runs/classifier.digits"), 32)["by_domain"]
        {'uci': {...}, 'mnist': {...}}
    """
    parts = {domain: data.load_images(domain, "heldout", image_size) for domain in data.DIGIT_DOMAINS}
    images = np.concatenate([images for images, _ in parts.values()])
    labels = np.concatenate([labels for _, labels in parts.values()])
    figures = classifier_figures(model, data.to_unit_range(images), labels)
    figures["by_domain"] = {
        domain: classifier_figures(model, data.to_unit_range(images), labels)
        for domain, (images, labels) in parts.items()
    }
    return figures


def evaluate(name_or_dir, samples=500):
    """The figures for an entry or model folder, by model family.

    Example:
        >>> evaluate("autoencoder.mnist")["squared_error"]
    """
    card_data = zoo.card(name_or_dir)
    model = zoo.load(name_or_dir)
    if card_data["class"] == "CycleGAN":
        return cyclegan_figures(model, card_data)
    heldout = load_split(card_data, "heldout")
    if card_data["class"] == "AutoEncoder":
        return autoencoder_figures(model, load_split(card_data, "train"), heldout)
    if card_data["class"] == "VAE":
        return vae_figures(model, heldout, samples=samples)
    if card_data["class"] == "Classifier" and card_data["data"]["dataset"] == "digits":
        return digits_classifier_figures(model, card_data["data"]["image_size"])
    if card_data["class"] == "Classifier":
        return classifier_figures(model, *load_split(card_data, "heldout", with_labels=True))
    if card_data["class"] == "GAN":
        return gan_figures(model, zoo.load(MEASURING_CLASSIFIER), load_split(card_data, "train"), heldout)
    raise UserError(f"No evaluation defined for {card_data['class']}.")
