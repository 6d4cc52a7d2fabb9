"""Data sources and their splits: MNIST, the UCI digits, tensorflow-datasets and folders of images.

Every image these loaders return is uint8, shape (N, height, width, channels);
`kerasgen.data.pipelines` scales it to [0, 1].

Splits: every labelled source has `train`, `validation` (a fixed, seeded part
of the training digits, never trained on, for any choice made from data:
early stopping, a Parzen window's width), `test` (where figures are measured,
and nothing else) and `all`.

Sources, all resolved by `load_images(name, split)`:

* `mnist` (default): the full MNIST database (LeCun, Cortes, Burges; CC BY-SA
  3.0), shipped in the package (`assets/mnist.npz`, provenance in
  `assets/MNIST-LICENSE.md`): `train` is 55,000 of the 60,000 training
  digits, `validation` the other 5,000 (drawn once with a fixed seed),
  `test` the 10,000 standard test digits. Decoded once per process.
* `uci`: the 1,797 UCI handwritten digits from scikit-learn (8x8, 17 grey
  levels), upsampled; split once with a fixed seed into `test` (300),
  `validation` (150) and `train` (1,347).
* `digits`: `uci` and `mnist` of the same split together (UCI first), with
  their labels, both at the requested size: the labelled union of the two
  domains of the unpaired `digits` source, for a classifier of both domains
  (e.g. a CycleGAN's semantic classifier). Its `test` split is exactly the
  CycleGAN's `test` digits.
* `mnistm`: MNIST-M built from scikit-image's photographs (after Ganin and
  Lempitsky 2015; `kerasgen.data.mnistm`, needs `kerasgen[mnistm]`): each
  MNIST digit blended over a patch of a colour photograph, 32x32x3, with
  MNIST's splits and labels. Colour: `channels=1` gives it in grey.
* `mnist-mnistm`: `mnist` and `mnistm` of the same split together (MNIST
  first), the labelled union of the two domains of the unpaired
  `mnist-mnistm` source.
* `tfds:NAME` (e.g. `tfds:mnist`): a tensorflow-datasets dataset; needs the
  dataset to be downloaded or prepared already. `train` is the first 95% of
  its `train` split, `validation` the last 5%, `test` its `test` split.
* a folder path: every png/jpg/jpeg/bmp/gif below it, in sorted order
  (`kerasgen.data.images`).

Unpaired sources for CycleGAN, resolved by `load_unpaired(source, split)`:

* `digits` (default): domain A is the UCI digits, domain B the MNIST
  digits, both 32x32 grey by default; `train` and `test` are their own
  `train` and `test` splits.
* `mnist-mnistm`: domain A is MNIST as three equal channels, domain B
  MNIST-M (the same digits over photograph patches), both 32x32 RGB by
  default, from MNIST's `train` and `test` splits.
* `tfds:cycle_gan/NAME` (e.g. `tfds:cycle_gan/horse2zebra`): splits `trainA`,
  `trainB`, `testA`, `testB` of a prepared tensorflow-datasets dataset.
* a folder with `trainA/ trainB/ testA/ testB/` subfolders of images.

Heavy imports (TensorFlow, scikit-learn, tfds) happen inside functions so that
importing this module stays cheap.

Example:
    >>> from kerasgen.data import sources
    >>> images, labels = sources.load_images("uci", "test", size=16)
    >>> images.shape
    (300, 16, 16, 1)
"""

import functools
import hashlib
import io
import logging
import pathlib

import numpy as np

from kerasgen.data.images import grey_images, load_image_folder, resize_images
from kerasgen.errors import UserError, first_line

ASSETS = pathlib.Path(__file__).parent.parent / "assets"
MNIST_FILE = "mnist.npz"
SPLITS = ("train", "validation", "test", "all")
SPLIT_SEED = 20061  # fixed forever: changing it would move test or validation digits into training
MNIST_VALIDATION = 5_000
UCI_TEST = 300
UCI_VALIDATION = 150
TFDS_SPLITS = {"train": "train[:95%]", "validation": "train[95%:]", "test": "test", "all": "train+test"}
DIGIT_DOMAINS = ("uci", "mnist")  # the labelled `digits` source: UCI digits (CycleGAN domain A), then MNIST (B)
UNPAIRED_DOMAINS = {"digits": DIGIT_DOMAINS, "mnist-mnistm": ("mnist", "mnistm")}
"""Named unpaired sources: their single-domain sources A and B; `load_images(name)` is their labelled union."""
UNPAIRED_SPLITS = ("train", "test")
UNPAIRED_FOLDERS = ("trainA", "trainB", "testA", "testB")


def canonical_split(split):
    """`split` itself if it is one of `SPLITS`; a one-line `UserError` for an unknown one.

    Example:
        >>> canonical_split("test")
        'test'
        >>> canonical_split("heldout")
        Traceback (most recent call last):
        kerasgen.errors.UserError: Unknown split 'heldout'; choose one of train, validation, test, all.
    """
    if split not in SPLITS:
        raise UserError(f"Unknown split {split!r}; choose one of {', '.join(SPLITS)}.")
    return split


def _split(count, sizes, split):
    """Indices of `split` in a source of `count` items cut by one seeded permutation.

    `sizes` maps `test` and `validation` to their sizes; the permutation's
    first items are the test split, the next the validation split, the rest
    training. A source with its own test set passes no `test` size.
    """
    order = np.random.default_rng(SPLIT_SEED).permutation(count)
    test = sizes.get("test", 0)
    validation = test + sizes["validation"]
    if split == "test":
        return np.sort(order[:test])
    if split == "validation":
        return np.sort(order[test:validation])
    if split == "train":
        return np.sort(order[validation:])
    return np.arange(count)


def has_test_split(source):
    """Whether a data source has `validation` and `test` splits (folders do not).

    Example:
        >>> has_test_split("mnist"), has_test_split("my_digits/")
        (True, False)
    """
    return source in ("mnist", "uci", "mnistm", *UNPAIRED_DOMAINS) or source.startswith("tfds:")


def _mnist_arrays():
    """The four arrays of `assets/mnist.npz`, read-only, its sha256 checked whenever the file is read.

    The decoded arrays are kept for the process (decoding takes half a
    second); a changed file (size, time or recorded sha256) is read and
    checked again.
    """
    path = ASSETS / MNIST_FILE
    expected = (ASSETS / "mnist.sha256").read_text().strip()
    status = path.stat()
    return _read_mnist(str(path), status.st_size, status.st_mtime_ns, expected)


@functools.lru_cache(maxsize=2)
def _read_mnist(path, size, modified, expected):
    del size, modified  # part of the cache key only
    payload = pathlib.Path(path).read_bytes()
    if hashlib.sha256(payload).hexdigest() != expected:
        raise RuntimeError(f"{path} does not match its sha256 (kerasgen/assets/mnist.sha256); reinstall kerasgen.")
    with np.load(io.BytesIO(payload)) as arrays:
        result = {name: arrays[name] for name in ("x_train", "y_train", "x_test", "y_test")}
    for array in result.values():
        array.flags.writeable = False
    return result


def load_mnist(split="train"):
    """The embedded MNIST digits (the full database: 60,000 training, 10,000 test).

    Args:
        split: `"train"` (55,000 training digits), `"validation"` (the other
            5,000, drawn once with a fixed seed), `"test"` (the 10,000
            standard test digits) or `"all"`
            (70,000: training digits, then test digits).

    Returns:
        `(images, labels)`: uint8 arrays of shape (N, 28, 28, 1) and (N,).

    Example:
        >>> images, labels = load_mnist("test")
        >>> images.shape
        (10000, 28, 28, 1)
    """
    split = canonical_split(split)
    arrays = _mnist_arrays()
    if split == "test":
        images, labels = arrays["x_test"], arrays["y_test"]
    elif split == "all":
        images = np.concatenate([arrays["x_train"], arrays["x_test"]])
        labels = np.concatenate([arrays["y_train"], arrays["y_test"]])
    else:
        index = _split(len(arrays["x_train"]), {"validation": MNIST_VALIDATION}, split)
        images, labels = arrays["x_train"][index], arrays["y_train"][index]
    return np.array(images[..., None]), np.array(labels)


def load_uci_digits(split="train", size=32):
    """The UCI handwritten digits from scikit-learn, upsampled to `size`.

    The 300 test digits are the ones held out since the first release (same
    seed); the validation digits come from the former training part.

    Args:
        split: `"train"` (1,347), `"validation"` (150), `"test"` (300) or
            `"all"` (1,797).
        size: output side in pixels (bicubic upsampling of the 8x8 originals).

    Returns:
        `(images, labels)`: uint8 arrays of shape (N, size, size, 1) and (N,).

    Example:
        >>> images, labels = load_uci_digits("train", size=28)
    """
    from PIL import Image
    from sklearn.datasets import load_digits

    split = canonical_split(split)
    digits = load_digits()
    small = np.round(digits.images * (255 / 16)).astype(np.uint8)
    index = _split(len(small), {"test": UCI_TEST, "validation": UCI_VALIDATION}, split)
    images = np.stack(
        [np.asarray(Image.fromarray(image).resize((size, size), Image.BICUBIC)) for image in small[index]]
    )
    return images[..., None], digits.target[index].astype(np.uint8)


def load_tfds(name, split, size, channels=1):
    """Images of a tensorflow-datasets dataset, resized to `size`.

    `split` uses our names (`TFDS_SPLITS`): `train` is the first 95% of the
    tfds `train` split, `validation` its last 5%, `test` the tfds `test`
    split, `all` both tfds splits.

    Example:
        >>> images, labels = load_tfds("mnist", "test", size=28)
    """
    return _load_tfds_split(name, TFDS_SPLITS[canonical_split(split)], size, channels)


def _load_tfds_split(name, tfds_split, size, channels):
    import tensorflow as tf
    import tensorflow_datasets as tfds

    absl_logger = logging.getLogger("absl")
    level = absl_logger.level
    absl_logger.setLevel(logging.ERROR)  # tfds warns about a dataset folder it cannot use, then raises below
    try:
        dataset = tfds.load(name, split=tfds_split, as_supervised=False, download=False)  # nothing downloads here
    except Exception as error:  # tfds raises many types: unknown dataset, not downloaded, ...
        raise UserError(
            f"Cannot load tfds dataset {name!r} ({first_line(error)}); "
            f"download it once with: python -c \"import tensorflow_datasets as tfds; tfds.load('{name}')\""
        ) from None
    finally:
        absl_logger.setLevel(level)
    images, labels = [], []
    for example in dataset.as_numpy_iterator():
        image = tf.image.resize(example["image"][..., :3], (size, size), antialias=True)
        if image.shape[-1] != channels:
            image = tf.image.rgb_to_grayscale(image) if channels == 1 else tf.image.grayscale_to_rgb(image)
        images.append(np.clip(np.round(image.numpy()), 0, 255).astype(np.uint8))
        labels.append(example.get("label", -1))
    return np.stack(images), np.asarray(labels)


def load_images(name="mnist", split="train", size=28, channels=1):
    """Resolve a dataset name or folder and return uint8 images and labels.

    The MNIST splits, resized, are kept for the process (a few of them), so
    asking again costs a copy, not a decode and a resize.

    Args:
        name: `mnist`, `uci`, `mnistm`, `digits` (`uci` and `mnist`) or
            `mnist-mnistm` (`mnist` and `mnistm`), `tfds:NAME` or a folder path.
        split: `train`, `validation`, `test` or `all` (folders ignore
            it).
        size: image side in pixels.
        channels: 1 or 3.

    Returns:
        `(images, labels)`; labels are -1 where the source has none.

    Example:
        >>> images, labels = load_images("mnist", "train")
        >>> test_images, test_labels = load_images("mnist", "test")
    """
    if name in UNPAIRED_DOMAINS:
        parts = [load_images(domain, split, size, channels) for domain in UNPAIRED_DOMAINS[name]]
        return np.concatenate([images for images, _ in parts]), np.concatenate([labels for _, labels in parts])
    split = canonical_split(split)
    if channels not in (1, 3):
        raise UserError(f"channels must be 1 or 3. Received: channels={channels}")
    if name == "mnist":
        images, labels = _resized_mnist(split, size)
        images, labels = np.array(images), np.array(labels)
    elif name == "uci":
        images, labels = load_uci_digits(split, size)
    elif name == "mnistm":
        from kerasgen.data.mnistm import load_mnistm

        images, labels = load_mnistm(split)
        if channels == 1:
            images = grey_images(images)
    elif name.startswith("tfds:"):
        return load_tfds(name.removeprefix("tfds:"), split, size, channels)
    else:
        images = load_image_folder(name, size, channels)
        return images, np.full(len(images), -1)
    if images.shape[1] != size:
        images = resize_images(images, size)
    if channels == 3 and images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    return images, labels


def _resized_mnist(split, size):
    """`load_mnist(split)` resized to `size`, read-only and kept for the process (keyed by the file's state)."""
    path = ASSETS / MNIST_FILE
    status = path.stat()
    return _cached_resized_mnist(str(path), status.st_size, status.st_mtime_ns, split, size)


@functools.lru_cache(maxsize=6)
def _cached_resized_mnist(path, file_size, modified, split, size):
    del path, file_size, modified  # part of the cache key only
    images, labels = load_mnist(split)
    if images.shape[1] != size:
        images = resize_images(images, size)
    for array in (images, labels):
        array.flags.writeable = False
    return images, labels


def load_unpaired(source="digits", split="train", size=32, channels=1, with_labels=False):
    """Two unpaired image domains, A and B, for CycleGAN.

    Args:
        source: `digits` (A: UCI digits, B: MNIST), `mnist-mnistm` (A:
            MNIST, B: MNIST-M), `tfds:cycle_gan/NAME`, or a folder with
            `trainA/ trainB/ testA/ testB/` subfolders.
        split: `train` or `test`. For
            `digits` and `mnist-mnistm`, these are the `train` and `test`
            splits of both digit sets (`load_images`); test digits are never
            trained on.
        size: image side in pixels (images are resized without cropping).
        channels: 1 (grey) or 3 (RGB); images in other modes are converted.
        with_labels: also return the class labels (the digits' classes; -1
            for sources without classes).

    Returns:
        `(images_a, images_b)`, uint8 arrays of shape (N, size, size, channels),
        with their own N each; with `with_labels`,
        `((images_a, labels_a), (images_b, labels_b))`.

    Example:
        >>> uci, mnist = load_unpaired("digits", "train")
        >>> uci.shape, mnist.shape
        ((1347, 32, 32, 1), (55000, 32, 32, 1))
        >>> horses, zebras = load_unpaired("datasets/horse2zebra", "train", size=256, channels=3)
    """
    if split not in UNPAIRED_SPLITS:
        raise UserError(f"Unknown split {split!r}; choose one of {', '.join(UNPAIRED_SPLITS)}.")
    if channels not in (1, 3):
        raise UserError(f"channels must be 1 or 3. Received: channels={channels}")
    part = "train" if split == "train" else "test"
    if source in UNPAIRED_DOMAINS:
        (images_a, labels_a), (images_b, labels_b) = (
            load_images(name, part, size, channels) for name in UNPAIRED_DOMAINS[source]
        )
    elif source.startswith("tfds:"):
        name = source.removeprefix("tfds:")
        images_a = _load_tfds_split(name, f"{part}A", size, channels)[0]
        images_b = _load_tfds_split(name, f"{part}B", size, channels)[0]
        labels_a, labels_b = np.full(len(images_a), -1), np.full(len(images_b), -1)
    else:
        root = pathlib.Path(source)
        if not root.is_dir():
            raise UserError(f"Data path {source!r} is not a folder with trainA/ trainB/ testA/ testB/ subfolders.")
        missing = [f"{part}{domain}/" for domain in "AB" if not (root / f"{part}{domain}").is_dir()]
        if missing:
            raise UserError(
                f"Data folder {source!r} has no {' and no '.join(missing)}; "
                f"an unpaired dataset needs {', '.join(f'{name}/' for name in UNPAIRED_FOLDERS)}."
            )
        images_a = load_image_folder(root / f"{part}A", size, channels)
        images_b = load_image_folder(root / f"{part}B", size, channels)
        labels_a, labels_b = np.full(len(images_a), -1), np.full(len(images_b), -1)
    if with_labels:
        return (images_a, labels_a), (images_b, labels_b)
    return images_a, images_b
