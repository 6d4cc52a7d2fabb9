"""The measuring maths, in NumPy alone: Frechet distances, Parzen windows, matched floors, stratified subsets.

Every function takes arrays (features, images in [0, 1]) and returns
numbers; which network makes the features and which images are compared is
the families' business (`kerasgen.gan.figures`, `kerasgen.cyclegan.figures`).

Example:
    >>> from kerasgen import metrics
    >>> metrics.frechet_distance(features, features)  # ~0
"""

import hashlib

import numpy as np

from kerasgen.data import fixed_subset
from kerasgen.progress import progress

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
    for start in progress(range(0, len(targets), batch_size), f"Parzen window, {len(targets)} images"):
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


def proportional_counts(counts, total):
    """`total` split in proportion to `counts`, rounded so that the parts add up to `total`.

    Each part gets the integer part of its exact share; the units left over
    go to the largest remainders, ties to the lower index (Hamilton's method).

    Example:
        >>> proportional_counts([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009], 5000)
        array([490, 568, 516, 505, 491, 446, 479, 514, 487, 504])
    """
    counts = np.asarray(counts, np.int64)
    if total < 0 or counts.sum() < 1 or counts.min() < 0:
        raise ValueError(f"Cannot split {total} in proportion to {counts}. Received: total={total}, counts={counts}")
    exact = counts * total  # shares times counts.sum(), in integers so that ties are exact
    parts = exact // counts.sum()
    order = np.argsort(-(exact - parts * counts.sum()), kind="stable")
    parts[order[: total - parts.sum()]] += 1
    return parts


def stratified_subset(labels, count, seed=SUBSET_SEED):
    """Sorted indices of `count` items drawn without replacement, each class in proportion to its share.

    The classes' quotas are `proportional_counts` of their sizes; one
    generator seeded with `seed` then draws each class's quota, class by
    class in increasing order, so the subset depends only on the labels,
    `count` and `seed`.

    Example:
        >>> indices = stratified_subset(test_labels, 5000)  # 5,000 of the 10,000 MNIST test digits
    """
    labels = np.asarray(labels)
    if not 0 <= count <= len(labels):
        raise ValueError(f"Cannot draw {count} of {len(labels)} items. Received: count={count}")
    classes, sizes = np.unique(labels, return_counts=True)
    rng = np.random.default_rng(seed)
    chosen = [
        np.flatnonzero(labels == label)[rng.permutation(size)[:quota]]
        for label, size, quota in zip(classes, sizes, proportional_counts(sizes, count), strict=True)
    ]
    return np.sort(np.concatenate(chosen))


def indices_digest(indices):
    """sha256 of indices written as decimal ASCII joined by commas ("3,17,20"), to pin a subset in a card.

    Example:
        >>> indices_digest([0, 1, 2]) == hashlib.sha256(b"0,1,2").hexdigest()
        True
    """
    return hashlib.sha256(",".join(str(int(index)) for index in indices).encode("ascii")).hexdigest()


def proportional_labels(counts, total):
    """`total` labels, label `i` `proportional_counts(counts, total)[i]` times, each spread evenly over the array.

    Example:
        >>> proportional_labels([1, 2], 6)
        array([1, 0, 1, 1, 0, 1])
    """
    parts = proportional_counts(counts, total)
    labels = np.repeat(np.arange(len(parts)), parts)
    ranks = np.concatenate([np.arange(part) for part in parts]) if len(parts) else np.zeros(0)
    return labels[np.argsort((ranks + 0.5) / np.repeat(np.maximum(parts, 1), parts), kind="stable")]


def matched_fid(generated_features, real_features, test_features, seed=SUBSET_SEED):
    """The FID of generated images and its floor, measured with the same number of images.

    Frechet distances shrink as the samples grow, so a floor is comparable
    only at the same size. With N the number of generated images (capped by
    the sizes of the other two sets), the FID is the distance from N
    generated images to N test images, and the floor the distance from N
    real images to the same N test images: what a model that reproduces the
    real distribution perfectly would score at this N. The real images must
    be as unseen by the measuring network as the test images (a validation
    split, not its training images, whose features sit tighter).

    Args:
        generated_features: features (rows) of the generated images.
        real_features: features of real images that neither the model nor the measuring network saw.
        test_features: features of test images.
        seed: seed of the fixed subsets taken when a set holds more than N.

    Returns:
        `(fid, floor, n)`.

    Example:
        >>> fid, floor, n = matched_fid(classifier.features(samples), validation_features, test_features)
    """
    count = min(len(generated_features), len(real_features), len(test_features))
    if count < 2:
        raise ValueError(f"A Frechet distance needs at least 2 images per set. Received: count={count}")
    reference = fixed_subset(np.asarray(test_features), count, seed)
    fid = frechet_distance(fixed_subset(np.asarray(generated_features), count, seed), reference)
    floor = frechet_distance(fixed_subset(np.asarray(real_features), count, seed), reference)
    return fid, floor, count


def label_fids(generated_features, requested, real_features, real_labels, test_features, test_labels):
    """Matched FID and floor of each label: its samples, and its unseen real digits, against its test digits.

    The mean over labels is the "intra-FID" of Miyato and Koyama (2018). A
    label whose samples collapsed into one pattern scores far above its
    floor even when a classifier assigns every sample to the right class.

    Args:
        generated_features: features of the generated images.
        requested: the label each generated image was asked for.
        real_features, real_labels: unseen real images' features and classes (the floors).
        test_features, test_labels: test images' features and classes.

    Returns:
        `(fids, floors, counts)`, one of each per label 0..max(test_labels);
        `counts`: the images per set of each label's two distances.

    Example:
        >>> fids, floors, counts = label_fids(features, requested, val_features, val_labels, test_features, labels)
    """
    requested, real_labels, test_labels = map(np.asarray, (requested, real_labels, test_labels))
    results = [
        matched_fid(
            generated_features[requested == label],
            real_features[real_labels == label],
            test_features[test_labels == label],
        )
        for label in range(int(test_labels.max()) + 1)
    ]
    return tuple(np.array(column) for column in zip(*results, strict=True))
