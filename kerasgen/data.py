"""Datasets and the `tf.data` pipeline.

Value range convention: every image that leaves this module is float32 in
[0, 1], shape (height, width, channels). Models that want another range (a
GAN's tanh output in [-1, 1]) convert at their own boundary.

Splits: every labelled source has `train`, `validation` (a fixed, seeded part
of the training digits, never trained on, for any choice made from data:
early stopping, a Parzen window's width), `test` (where figures are measured,
and nothing else) and `all`. `heldout`, the former name of `test`, still works.

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
* `tfds:NAME` (e.g. `tfds:mnist`): a tensorflow-datasets dataset; needs the
  dataset to be downloaded or prepared already. `train` is the first 95% of
  its `train` split, `validation` the last 5%, `test` its `test` split.
* a folder path: every png/jpg/jpeg/bmp/gif below it, in sorted order.

Reading image files (`read_image`): any Pillow mode is converted to the
requested channels: 16-bit PNGs are scaled (65535 reads as 255, not clipped),
RGBA and LA lose their alpha, CMYK and palette images become RGB or grey.
Files with other suffixes and hidden files or folders (names starting with
`.`, such as macOS `._*` files or `.ipynb_checkpoints/`) are skipped. A file
that cannot be decoded (truncated, not an image) or that has more than
`MAX_IMAGE_PIXELS` pixels is refused with a `UserError` naming it; the size is
checked before any pixel is decoded.

Unpaired sources for CycleGAN, resolved by `load_unpaired(source, split)`:

* `digits` (default): domain A is the UCI digits, domain B the MNIST
  digits, both 32x32 grey by default; `train` and `test` are their own
  `train` and `test` splits.
* `tfds:cycle_gan/NAME` (e.g. `tfds:cycle_gan/horse2zebra`): splits `trainA`,
  `trainB`, `testA`, `testB` of a prepared tensorflow-datasets dataset.
* a folder with `trainA/ trainB/ testA/ testB/` subfolders of images.

Heavy imports (TensorFlow, scikit-learn, tfds) happen inside functions so that
importing this module stays cheap.
"""

import functools
import hashlib
import io
import pathlib
import re
import warnings

import numpy as np

from kerasgen.errors import UserError

ASSETS = pathlib.Path(__file__).parent / "assets"
MNIST_FILE = "mnist.npz"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
SPLITS = ("train", "validation", "test", "all")
SPLIT_ALIASES = {"heldout": "test"}
"""Former split names that still work: `heldout` is `test`."""
SPLIT_SEED = 20061  # fixed forever: changing it would move test or validation digits into training
MNIST_VALIDATION = 5_000
UCI_TEST = 300
UCI_VALIDATION = 150
TFDS_SPLITS = {"train": "train[:95%]", "validation": "train[95%:]", "test": "test", "all": "train+test"}
DIGIT_DOMAINS = ("uci", "mnist")  # the labelled `digits` source: UCI digits (CycleGAN domain A), then MNIST (B)
UNPAIRED_SPLITS = ("train", "test", "heldout")
UNPAIRED_FOLDERS = ("trainA", "trainB", "testA", "testB")
MAX_IMAGE_PIXELS = 64_000_000
"""Images with more pixels (width x height) are refused before they are decoded.

A guard against decompression bombs: a PNG of 100 bytes can declare a
gigapixel image that needs gigabytes to decode. 64 megapixels admits 8K frames
(33 MP) and 48 or 50 MP camera photos; set `kerasgen.data.MAX_IMAGE_PIXELS`
higher to read larger images (Pillow's own limit, `PIL.Image.MAX_IMAGE_PIXELS`
times 2, still applies).
"""
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")  # how Pillow opens 16-bit grey PNGs


def canonical_split(split):
    """The split's current name (`heldout` becomes `test`); a `UserError` for an unknown one.

    Example:
        >>> canonical_split("heldout")
        'test'
    """
    split = SPLIT_ALIASES.get(split, split)
    if split not in SPLITS:
        raise UserError(f"Unknown split {split!r}; choose one of {', '.join(SPLITS)} ('heldout' is 'test').")
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
    return source in ("mnist", "uci", "digits") or source.startswith("tfds:")


has_heldout_split = has_test_split  # the former name


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
            standard test digits; `"heldout"` is the same) or `"all"`
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
        split: `"train"` (1,347), `"validation"` (150), `"test"` (300;
            `"heldout"` is the same) or `"all"` (1,797).
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


def list_image_files(folder):
    """Sorted image files below `folder` (by suffix, hidden files and folders skipped); a clear error if none.

    Example:
        >>> list_image_files("my_digits/")
        [PosixPath('my_digits/0.png'), PosixPath('my_digits/more/1.jpg')]
    """
    folder = pathlib.Path(folder)
    if not folder.exists():
        raise UserError(f"Data path {str(folder)!r} does not exist.")
    if not folder.is_dir():
        raise UserError(f"Data path {str(folder)!r} is not a folder of images.")
    files = sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        and path.is_file()
    )
    if not files:
        raise UserError(f"No images ({', '.join(IMAGE_SUFFIXES)}, hidden files skipped) found in {str(folder)!r}.")
    return files


def load_image_folder(folder, size, channels=1):
    """Every image below `folder`, converted to `channels` and resized.

    Args:
        folder: a folder; subfolders are searched too.
        size: output side in pixels (images are resized without cropping).
        channels: 1 (grey) or 3 (RGB); other modes are converted.

    Returns:
        uint8 array of shape (N, size, size, channels).

    Example:
        >>> images = load_image_folder("my_digits/", size=28)
    """
    images = np.stack([read_image(path, channels, size) for path in list_image_files(folder)])
    return images.reshape(len(images), size, size, channels)


def read_image(path, channels=1, size=None):
    """One image file as a uint8 array (H, W, channels), converted from any mode, resized if `size` is given.

    16-bit images are scaled to 8 bits (65535 reads as 255); alpha is dropped;
    CMYK, palette and 1-bit images are converted to grey or RGB.

    Raises:
        UserError: naming the file, if it is not a readable image or has more
            than `MAX_IMAGE_PIXELS` pixels (checked before decoding).

    Example:
        >>> read_image("digit.png", channels=1).shape
        (28, 28, 1)
    """
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own, lower limit follows
            picture = Image.open(path)
        with picture:
            width, height = picture.size
            if width * height > MAX_IMAGE_PIXELS:
                raise _too_large(path, f"{width} x {height} = {width * height:,}")
            picture = _converted(picture, channels)
            if size:
                picture = picture.resize((size, size), Image.BILINEAR)
            array = np.asarray(picture)
    except Image.DecompressionBombError as error:  # beyond Pillow's own limit: Image.open refused it
        count = re.search(r"\((\d+) pixels\)", str(error))
        raise _too_large(path, f"{int(count[1]):,}" if count else "too many") from None
    except UserError:
        raise
    except (OSError, SyntaxError, ValueError) as error:  # Pillow's UnidentifiedImageError is an OSError
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"Cannot read image {str(path)!r}: {reason}. Replace or remove the file.") from None
    return array.reshape(*array.shape[:2], channels)


def _too_large(path, size):
    return UserError(
        f"Image {str(path)!r} has {size} pixels, more than kerasgen.data.MAX_IMAGE_PIXELS = {MAX_IMAGE_PIXELS:,}; "
        "shrink it, or raise the limit if you trust the file."
    )


def _converted(picture, channels):
    """A Pillow image in mode L (channels 1) or RGB (channels 3), 16-bit grey scaled rather than clipped."""
    from PIL import Image

    if picture.mode in SIXTEEN_BIT_MODES:
        grey = np.clip(np.asarray(picture, dtype=np.float64), 0, 65535)
        picture = Image.fromarray(np.round(grey / 257).astype(np.uint8))
    return picture.convert("L" if channels == 1 else "RGB")


def load_tfds(name, split, size, channels=1):
    """Images of a tensorflow-datasets dataset, resized to `size`.

    `split` uses our names (`TFDS_SPLITS`): `train` is the first 95% of the
    tfds `train` split, `validation` its last 5%, `test` the tfds `test`
    split (`heldout` is the same), `all` both tfds splits.

    Example:
        >>> images, labels = load_tfds("mnist", "test", size=28)
    """
    return _load_tfds_split(name, TFDS_SPLITS[canonical_split(split)], size, channels)


def _load_tfds_split(name, tfds_split, size, channels):
    import tensorflow as tf
    import tensorflow_datasets as tfds

    try:
        dataset = tfds.load(name, split=tfds_split, as_supervised=False)
    except Exception as error:  # tfds raises many types: missing dataset, no network, ...
        raise UserError(f"Cannot load tfds dataset {name!r}: {str(error).splitlines()[0]}") from None
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
        name: `mnist`, `uci`, `digits` (both of them, UCI first), `tfds:NAME`
            or a folder path.
        split: `train`, `validation`, `test` (`heldout` is the same) or
            `all` (folders ignore it).
        size: image side in pixels.
        channels: 1 or 3.

    Returns:
        `(images, labels)`; labels are -1 where the source has none.

    Example:
        >>> images, labels = load_images("mnist", "train")
        >>> test_images, test_labels = load_images("mnist", "test")
    """
    if name == "digits":
        parts = [load_images(domain, split, size, channels) for domain in DIGIT_DOMAINS]
        return np.concatenate([images for images, _ in parts]), np.concatenate([labels for _, labels in parts])
    split = canonical_split(split)
    if channels not in (1, 3):
        raise UserError(f"channels must be 1 or 3. Received: channels={channels}")
    if name == "mnist":
        images, labels = _resized_mnist(split, size)
        images, labels = np.array(images), np.array(labels)
    elif name == "uci":
        images, labels = load_uci_digits(split, size)
    elif name.startswith("tfds:"):
        return load_tfds(name.removeprefix("tfds:"), split, size, channels)
    else:
        images = load_image_folder(name, size, channels)
        return images, np.full(len(images), -1)
    if images.shape[1] != size:
        images = _resize(images, size)
    if channels == 3:
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
        images = _resize(images, size)
    for array in (images, labels):
        array.flags.writeable = False
    return images, labels


def load_unpaired(source="digits", split="train", size=32, channels=1, with_labels=False):
    """Two unpaired image domains, A and B, for CycleGAN.

    Args:
        source: `digits` (A: UCI digits, B: MNIST), `tfds:cycle_gan/NAME`,
            or a folder with `trainA/ trainB/ testA/ testB/` subfolders.
        split: `train` or `test` (`heldout` is the same as `test`). For
            `digits`, these are the `train` and `test` splits of both digit
            sets (`load_images`); test digits are never trained on.
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
    if source == "digits":
        (images_a, labels_a), (images_b, labels_b) = (
            load_images(name, part, size, channels) for name in ("uci", "mnist")
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


def steps_per_epoch(count, batch_size, drop_remainder=False):
    """Batches in one pass over `count` images."""
    return count // batch_size if drop_remainder else -(-count // batch_size)


def _permutations(count, seed, first_round=0, rounds=None, shuffle=True):
    """A dataset of index vectors, one per round: a permutation of `range(count)` keyed by `(seed, round)`.

    Keying each round's order by its number, not by how often the dataset was
    iterated, is what lets a resumed run see the same batches as an
    uninterrupted one.
    """
    import tensorflow as tf

    indices = tf.range(count, dtype=tf.int64)
    last = first_round + rounds if rounds is not None else np.iinfo(np.int64).max

    def order(round_number):
        if not shuffle:
            return indices
        return tf.random.experimental.stateless_shuffle(
            indices, seed=tf.stack([tf.constant(seed, tf.int64), round_number])
        )

    return tf.data.Dataset.range(first_round, last).map(order)


def _shift(batch, max_shift, seed_pair):
    """Translate each image by its own random offset of up to `max_shift` pixels, filling with 0."""
    import tensorflow as tf

    count = tf.shape(batch)[0]
    offsets = tf.random.stateless_uniform((count, 2), seed_pair, -max_shift, max_shift + 1, dtype=tf.int32)
    offsets = tf.cast(offsets, tf.float32)
    ones, zeros = tf.ones((count, 1)), tf.zeros((count, 1))
    transforms = tf.concat([ones, zeros, -offsets[:, :1], zeros, ones, -offsets[:, 1:], zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=batch,
        transforms=transforms,
        output_shape=tf.shape(batch)[1:3],
        fill_value=0.0,
        interpolation="NEAREST",
        fill_mode="CONSTANT",
    )


def make_unpaired_dataset(
    images_a,
    images_b,
    batch_size,
    steps_per_epoch=None,
    seed=0,
    augment=False,
    crop_size=None,
    epochs=1,
    start_step=0,
):
    """The CycleGAN training pipeline: two domains, shuffled and repeated independently, batched in pairs.

    Domains of different sizes are fine: each is reshuffled every time it is
    used up, so an epoch is a fixed number of steps, not a pass over a domain.
    Every batch is a function of the seed and the step's number alone (orders
    and jitter come from stateless random ops), so a run resumed at
    `start_step` sees exactly the batches an uninterrupted run would.

    Args:
        images_a: uint8 array (N_a, H, W, C) of domain A.
        images_b: uint8 array (N_b, H, W, C) of domain B.
        batch_size: images per batch of each domain (1 in the paper).
        steps_per_epoch: batches per epoch; None for max(N_a, N_b) // batch_size.
        seed: seed of the shuffles and the augmentation.
        augment: the paper's jitter for photos: resize to 286/256 of the
            crop size, random crop, random horizontal flip. Off for digits.
        crop_size: side of the output images; None for the images' own side.
            Without `augment`, images are resized to it.
        epochs: epochs the dataset holds.
        start_step: the first step to yield (the steps before it are skipped).

    Returns:
        A `tf.data.Dataset` of `epochs * steps_per_epoch - start_step`
        `(batch_a, batch_b)` pairs, float32 in [0, 1]; `len(dataset)` is
        that number.

    Example:
        >>> uci, mnist = load_unpaired("digits", "train")
        >>> dataset = make_unpaired_dataset(uci, mnist, batch_size=1)
        >>> len(dataset)
        55000
    """
    import tensorflow as tf

    if batch_size < 1:
        raise UserError(f"Batch size must be at least 1. Received: batch_size={batch_size}")
    if steps_per_epoch is not None and steps_per_epoch < 1:
        raise UserError(f"steps_per_epoch must be at least 1. Received: steps_per_epoch={steps_per_epoch}")
    if not len(images_a) or not len(images_b):
        raise UserError(f"Both domains need images. Received: {len(images_a)} in A, {len(images_b)} in B")
    if images_a.shape[1:] != images_b.shape[1:]:
        raise UserError(
            f"Both domains need images of one shape. Received: {images_a.shape[1:]} and {images_b.shape[1:]}"
        )
    steps = unpaired_steps_per_epoch(len(images_a), len(images_b), batch_size, steps_per_epoch)
    height, width, channels = images_a.shape[1:]
    crop = crop_size or height
    load = round(crop * 286 / 256)

    def scale(images):
        images = tf.cast(images, tf.float32) / 255.0
        return images if (crop, crop) == (height, width) else tf.image.resize(images, (crop, crop), antialias=True)

    def jitter(images, seed_pair):
        images = tf.image.resize(tf.cast(images, tf.float32) / 255.0, (load, load), method="bicubic")
        offsets = tf.random.stateless_uniform((batch_size, 2), seed_pair, 0, load - crop + 1, dtype=tf.int32)
        rows = offsets[:, :1] + tf.range(crop)
        columns = offsets[:, 1:] + tf.range(crop)
        images = tf.gather(tf.gather(images, rows, axis=1, batch_dims=1), columns, axis=2, batch_dims=1)
        flips = tf.random.stateless_uniform((batch_size, 1, 1, 1), seed_pair + 1) < 0.5
        return tf.clip_by_value(tf.where(flips, tf.reverse(images, axis=[2]), images), 0.0, 1.0)

    def index_batches(count, domain_seed):
        indices = _permutations(count, domain_seed).flat_map(tf.data.Dataset.from_tensor_slices)
        return indices.batch(batch_size, drop_remainder=True)

    pool_a, pool_b = tf.constant(images_a), tf.constant(images_b)

    def batch_pair(step, indices):
        batches = tf.gather(pool_a, indices[0]), tf.gather(pool_b, indices[1])
        if not augment:
            return tuple(scale(batch) for batch in batches)
        return tuple(
            jitter(batch, tf.stack([tf.constant(seed + domain, tf.int64), step]))
            for domain, batch in enumerate(batches)
        )

    dataset = tf.data.Dataset.zip(index_batches(len(images_a), seed), index_batches(len(images_b), seed + 1))
    remaining = max(0, epochs * steps - start_step)
    dataset = dataset.skip(start_step).take(remaining).apply(tf.data.experimental.assert_cardinality(remaining))
    dataset = dataset.enumerate(start_step)
    dataset = dataset.map(lambda step, indices: batch_pair(step, indices), num_parallel_calls=tf.data.AUTOTUNE)
    return _shard_by_data(dataset).prefetch(tf.data.AUTOTUNE)


def unpaired_steps_per_epoch(count_a, count_b, batch_size, steps_per_epoch=None):
    """Steps of a CycleGAN epoch: `steps_per_epoch`, or the larger domain's size over `batch_size`."""
    return steps_per_epoch or max(1, max(count_a, count_b) // batch_size)


def _resize(images, size):
    from PIL import Image

    return np.stack(
        [np.asarray(Image.fromarray(image[..., 0]).resize((size, size), Image.BILINEAR)) for image in images]
    )[..., None]


def fixed_subset(images, count, seed=0):
    """`count` images drawn without replacement with a fixed seed (sources are often sorted by class)."""
    order = np.random.default_rng(seed).permutation(len(images))
    return images[np.sort(order[:count])]


def to_unit_range(images):
    """uint8 images to float32 in [0, 1]."""
    return np.asarray(images, dtype=np.float32) / 255.0


def make_dataset(
    images,
    batch_size,
    shuffle=True,
    seed=0,
    drop_remainder=False,
    max_shift=0,
    labels=None,
    epochs=None,
    start_step=0,
):
    """The training pipeline: shuffle, batch, scale to [0, 1], augment, prefetch.

    With `epochs`, the dataset holds that many epochs and every batch is a
    function of the seed and the step's number alone (each epoch's order and
    each step's shifts come from stateless random ops): a run resumed at
    `start_step` sees exactly the batches an uninterrupted run would. Without
    it, the dataset is one epoch, reshuffled each time it is iterated.

    Args:
        images: uint8 array (N, H, W, C), already at the model's size.
        batch_size: images per batch.
        shuffle: shuffle every epoch (seeded).
        seed: seed of the shuffles and shifts.
        drop_remainder: drop a last, smaller batch (keeps XLA shapes static).
        max_shift: if positive, translate every image by a random offset of
            up to this many pixels each way (augmentation for small datasets).
        labels: if given, batches are `(images, labels)` pairs.
        epochs: number of epochs the dataset holds; None for one, reshuffled
            on every iteration.
        start_step: with `epochs`, the first step to yield.

    Returns:
        A `tf.data.Dataset` of float32 batches in [0, 1] (with int32 labels).

    Example:
        >>> images, _ = load_images("mnist", "train")
        >>> dataset = make_dataset(images, batch_size=128)
    """
    import tensorflow as tf

    if batch_size < 1:
        raise UserError(f"Batch size must be at least 1. Received: batch_size={batch_size}")
    count = len(images)
    if epochs is None:
        orders = tf.data.Dataset.range(count)
        if shuffle:
            orders = orders.shuffle(count, seed=seed, reshuffle_each_iteration=True)
        index_batches = orders.batch(batch_size, drop_remainder=drop_remainder)
    else:
        first_epoch, skipped = divmod(start_step, steps_per_epoch(count, batch_size, drop_remainder))
        orders = _permutations(count, seed, first_epoch, max(0, epochs - first_epoch), shuffle)
        index_batches = orders.flat_map(
            lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch_size, drop_remainder=drop_remainder)
        ).skip(skipped)
    pool = tf.constant(images)
    label_pool = None if labels is None else tf.constant(np.asarray(labels, np.int32))

    def batch(step, indices):
        batch_images = tf.cast(tf.gather(pool, indices), tf.float32) / 255.0
        if max_shift:
            batch_images = _shift(batch_images, max_shift, tf.stack([tf.constant(seed, tf.int64), step]))
        return batch_images if label_pool is None else (batch_images, tf.gather(label_pool, indices))

    dataset = index_batches.enumerate(start_step if epochs is not None else 0)
    return _shard_by_data(dataset.map(batch, num_parallel_calls=tf.data.AUTOTUNE)).prefetch(tf.data.AUTOTUNE)


def _shard_by_data(dataset):
    """Under a multi-worker strategy, every worker builds the same global batches and keeps its share of each."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def card_split(card_data, split, with_labels=False):
    """A split of the dataset a card was trained on, as float images in [0, 1] (and labels)."""
    source = card_data["data"]["dataset"]
    if not has_test_split(source):
        raise UserError(
            "evaluate needs a dataset with validation and test splits (mnist, uci, tfds:NAME); "
            f"this model was trained on {source!r}."
        )
    images, labels = load_images(source, split, card_data["data"]["image_size"])
    return (to_unit_range(images), labels) if with_labels else to_unit_range(images)


def card_test_split(card_data, test_images=None):
    """The card's test images and labels, or a fixed subset of `test_images` of them."""
    test, labels = card_split(card_data, "test", with_labels=True)
    if test_images is not None:
        test, labels = fixed_subset(test, test_images, 0), fixed_subset(labels, test_images, 0)
    return test, labels
