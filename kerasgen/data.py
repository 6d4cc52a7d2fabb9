"""Datasets and the `tf.data` pipeline.

Value range convention: every image that leaves this module is float32 in
[0, 1], shape (height, width, channels). Models that want another range (a
GAN's tanh output in [-1, 1]) convert at their own boundary.

Sources, all resolved by `load_images(name, split)`:

* `mnist` (default): the first 10,000 MNIST training digits, shipped in the
  package (`assets/mnist10k.npz`), split once with a fixed seed into
  `train` (9,000) and `heldout` (1,000). Held-out digits are never trained on.
* `uci`: the 1,797 UCI handwritten digits from scikit-learn (8x8, 17 grey
  levels), upsampled; split into `train` (1,497) and `heldout` (300).
* `digits`: `uci` and `mnist` of the same split together (UCI first), with
  their labels, both at the requested size: the labelled union of the two
  domains of the unpaired `digits` source, for a classifier of both domains
  (e.g. a CycleGAN's semantic classifier). Its `heldout` split is exactly the
  CycleGAN's `test` digits.
* `tfds:NAME` (e.g. `tfds:mnist`): a tensorflow-datasets dataset; needs the
  dataset to be downloaded or prepared already.
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

* `digits` (default): domain A is the UCI digits, domain B the MNIST-10k
  digits, both 32x32 grey by default; `test` is their `heldout` splits.
* `tfds:cycle_gan/NAME` (e.g. `tfds:cycle_gan/horse2zebra`): splits `trainA`,
  `trainB`, `testA`, `testB` of a prepared tensorflow-datasets dataset.
* a folder with `trainA/ trainB/ testA/ testB/` subfolders of images.

Heavy imports (TensorFlow, scikit-learn, tfds) happen inside functions so that
importing this module stays cheap.
"""

import hashlib
import pathlib
import re
import warnings

import numpy as np

from kerasgen.errors import UserError

ASSETS = pathlib.Path(__file__).parent / "assets"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
SPLITS = ("train", "heldout", "all")
SPLIT_SEED = 20061  # fixed forever: changing it would leak held-out digits into training
MNIST_HELDOUT = 1000
UCI_HELDOUT = 300
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


def _split(count, heldout_count, split):
    if split not in SPLITS:
        raise UserError(f"Unknown split {split!r}; choose one of {', '.join(SPLITS)}.")
    order = np.random.default_rng(SPLIT_SEED).permutation(count)
    if split == "train":
        return np.sort(order[heldout_count:])
    if split == "heldout":
        return np.sort(order[:heldout_count])
    return np.arange(count)


def has_heldout_split(source):
    """Whether a data source has a `heldout` split (folders do not)."""
    return source in ("mnist", "uci", "digits") or source.startswith("tfds:")


def load_mnist(split="train"):
    """The embedded MNIST-10k digits.

    Args:
        split: `"train"` (9,000), `"heldout"` (1,000) or `"all"`.

    Returns:
        `(images, labels)`: uint8 arrays of shape (N, 28, 28, 1) and (N,).

    Example:
        >>> images, labels = load_mnist("heldout")
        >>> images.shape
        (1000, 28, 28, 1)
    """
    payload = (ASSETS / "mnist10k.npz").read_bytes()
    expected = (ASSETS / "mnist10k.sha256").read_text().strip()
    if hashlib.sha256(payload).hexdigest() != expected:
        raise RuntimeError("kerasgen/assets/mnist10k.npz does not match its sha256; reinstall.")
    with np.load(ASSETS / "mnist10k.npz") as arrays:
        images, labels = arrays["images"], arrays["labels"]
    index = _split(len(images), MNIST_HELDOUT, split)
    return images[index, :, :, None], labels[index]


def load_uci_digits(split="train", size=32):
    """The UCI handwritten digits from scikit-learn, upsampled to `size`.

    Args:
        split: `"train"` (1,497), `"heldout"` (300) or `"all"`.
        size: output side in pixels (bicubic upsampling of the 8x8 originals).

    Returns:
        `(images, labels)`: uint8 arrays of shape (N, size, size, 1) and (N,).

    Example:
        >>> images, labels = load_uci_digits("train", size=28)
    """
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    small = np.round(digits.images * (255 / 16)).astype(np.uint8)
    index = _split(len(small), UCI_HELDOUT, split)
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

    `split` uses our names: `train` maps to tfds `train`, `heldout` to `test`.

    Example:
        >>> images, labels = load_tfds("mnist", "heldout", size=28)
    """
    tfds_split = {"train": "train", "heldout": "test", "all": "train+test"}[split]
    return _load_tfds_split(name, tfds_split, size, channels)


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

    Args:
        name: `mnist`, `uci`, `digits` (both of them, UCI first), `tfds:NAME`
            or a folder path.
        split: `train`, `heldout` or `all` (folders ignore it).
        size: image side in pixels.
        channels: 1 or 3.

    Returns:
        `(images, labels)`; labels are -1 where the source has none.

    Example:
        >>> images, labels = load_images("mnist", "train")
        >>> both, labels = load_images("digits", "heldout", size=32)  # 300 UCI, then 1,000 MNIST digits
    """
    if name == "digits":
        parts = [load_images(domain, split, size, channels) for domain in DIGIT_DOMAINS]
        return np.concatenate([images for images, _ in parts]), np.concatenate([labels for _, labels in parts])
    if split not in SPLITS:
        raise UserError(f"Unknown split {split!r}; choose one of {', '.join(SPLITS)}.")
    if channels not in (1, 3):
        raise UserError(f"channels must be 1 or 3. Received: channels={channels}")
    if name == "mnist":
        images, labels = load_mnist(split)
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


def load_unpaired(source="digits", split="train", size=32, channels=1, with_labels=False):
    """Two unpaired image domains, A and B, for CycleGAN.

    Args:
        source: `digits` (A: UCI digits, B: MNIST-10k), `tfds:cycle_gan/NAME`,
            or a folder with `trainA/ trainB/ testA/ testB/` subfolders.
        split: `train` or `test` (`heldout` is the same as `test`). For
            `digits`, `test` is the held-out digits, never trained on.
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
        ((1497, 32, 32, 1), (9000, 32, 32, 1))
        >>> horses, zebras = load_unpaired("datasets/horse2zebra", "train", size=256, channels=3)
    """
    if split not in UNPAIRED_SPLITS:
        raise UserError(f"Unknown split {split!r}; choose one of {', '.join(UNPAIRED_SPLITS)}.")
    if channels not in (1, 3):
        raise UserError(f"channels must be 1 or 3. Received: channels={channels}")
    part = "train" if split == "train" else "test"
    if source == "digits":
        images_a, labels_a = load_uci_digits("train" if part == "train" else "heldout", size)
        images_b, labels_b = load_mnist("train" if part == "train" else "heldout")
        if images_b.shape[1] != size:
            images_b = _resize(images_b, size)
        if channels == 3:
            images_a, images_b = np.repeat(images_a, 3, axis=-1), np.repeat(images_b, 3, axis=-1)
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
        9000
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
