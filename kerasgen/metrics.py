"""The measuring maths, in NumPy alone: Frechet distances, Parzen windows, matched floors.

Every function takes arrays (features, images in [0, 1]) and returns
numbers; which network makes the features and which images are compared is
the families' business (`kerasgen.gan.figures`, `kerasgen.cyclegan.figures`).

Example:
    >>> from kerasgen import metrics
    >>> metrics.frechet_distance(features, features)  # ~0
"""

import numpy as np

from kerasgen.data import fixed_subset

PARZEN_SIGMAS = tuple(np.logspace(-1, 0, 10))
"""Widths tried for the Parzen window, as in Goodfellow et al. 2014's code (pixels in [0, 1])."""
SUBSET_SEED = 0


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
    reference = fixed_subset(np.asarray(test_features), count, seed)
    fid = frechet_distance(fixed_subset(np.asarray(generated_features), count, seed), reference)
    floor = frechet_distance(fixed_subset(np.asarray(train_features), count, seed), reference)
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
