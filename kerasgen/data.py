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
* `tfds:NAME` (e.g. `tfds:mnist`): a tensorflow-datasets dataset; needs the
  dataset to be downloaded or prepared already.
* a folder path: every png/jpg/jpeg/bmp/gif below it, in sorted order.

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

import numpy as np

from kerasgen.errors import UserError

ASSETS = pathlib.Path(__file__).parent / "assets"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
SPLITS = ("train", "heldout", "all")
SPLIT_SEED = 20061  # fixed forever: changing it would leak held-out digits into training
MNIST_HELDOUT = 1000
UCI_HELDOUT = 300
UNPAIRED_SPLITS = ("train", "test", "heldout")
UNPAIRED_FOLDERS = ("trainA", "trainB", "testA", "testB")


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
    return source in ("mnist", "uci") or source.startswith("tfds:")


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
    """Sorted image files below `folder`; a clear error if there are none."""
    folder = pathlib.Path(folder)
    if not folder.exists():
        raise UserError(f"Data path {str(folder)!r} does not exist.")
    if not folder.is_dir():
        raise UserError(f"Data path {str(folder)!r} is not a folder of images.")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UserError(f"No images ({', '.join(IMAGE_SUFFIXES)}) found in {str(folder)!r}.")
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

    Raises:
        UserError: naming the file, if it is not a readable image.

    Example:
        >>> read_image("digit.png", channels=1).shape
        (28, 28, 1)
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            if size:
                image = image.resize((size, size), Image.BILINEAR)
            array = np.asarray(image)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as error:
        raise UserError(f"Cannot read image {str(path)!r}: {error}") from None
    return array.reshape(*array.shape[:2], channels)


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
        name: `mnist`, `uci`, `tfds:NAME` or a folder path.
        split: `train`, `heldout` or `all` (folders ignore it).
        size: image side in pixels.
        channels: 1 or 3.

    Returns:
        `(images, labels)`; labels are -1 where the source has none.

    Example:
        >>> images, labels = load_images("mnist", "train")
    """
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


def make_unpaired_dataset(images_a, images_b, batch_size, steps_per_epoch=None, seed=0, augment=False, crop_size=None):
    """The CycleGAN training pipeline: two domains, shuffled and repeated independently, batched in pairs.

    Domains of different sizes are fine: each is reshuffled every time it is
    used up, so an epoch is a fixed number of steps, not a pass over a domain.
    The dataset is finite (one epoch), so Keras shows a progress bar of known
    length; every new iteration (epoch) reshuffles both domains.

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

    Returns:
        A `tf.data.Dataset` of `steps_per_epoch` `(batch_a, batch_b)` pairs,
        float32 in [0, 1]; `len(dataset)` is the number of steps.

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
    steps = steps_per_epoch or max(1, max(len(images_a), len(images_b)) // batch_size)
    height, width, channels = images_a.shape[1:]
    crop = crop_size or height

    def scale(image):
        image = tf.cast(image, tf.float32) / 255.0
        return image if (crop, crop) == (height, width) else tf.image.resize(image, (crop, crop), antialias=True)

    def jitter(image, seed_pair):
        crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed_pair, 2))
        load = round(crop * 286 / 256)
        image = tf.image.resize(tf.cast(image, tf.float32) / 255.0, (load, load), method="bicubic")
        image = tf.image.stateless_random_crop(image, (crop, crop, channels), seed=crop_seed)
        return tf.clip_by_value(tf.image.stateless_random_flip_left_right(image, seed=flip_seed), 0.0, 1.0)

    def domain(images, domain_seed):
        dataset = tf.data.Dataset.from_tensor_slices(images)
        dataset = dataset.shuffle(len(images), seed=domain_seed, reshuffle_each_iteration=True).repeat()
        if augment:
            seeds = tf.data.Dataset.random(seed=domain_seed, rerandomize_each_iteration=True).batch(2)
            dataset = tf.data.Dataset.zip(dataset, seeds).map(jitter, num_parallel_calls=tf.data.AUTOTUNE)
        else:
            dataset = dataset.map(scale, num_parallel_calls=tf.data.AUTOTUNE)
        return dataset.batch(batch_size, drop_remainder=True)

    dataset = tf.data.Dataset.zip(domain(images_a, seed), domain(images_b, seed + 1))
    return dataset.take(steps).prefetch(tf.data.AUTOTUNE)


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


def _on_images(item, function):
    """Apply `function` to the images of a dataset element `(images,)` or `(images, labels)`."""
    return function(item[0]) if len(item) == 1 else (function(item[0]), *item[1:])


def make_dataset(images, batch_size, shuffle=True, seed=0, drop_remainder=False, max_shift=0, labels=None):
    """The training pipeline: scale to [0, 1], cache, shuffle, batch, augment, prefetch.

    Args:
        images: uint8 array (N, H, W, C), already at the model's size.
        batch_size: images per batch.
        shuffle: reshuffle every epoch (seeded).
        seed: shuffle seed.
        drop_remainder: drop a last, smaller batch (keeps XLA shapes static).
        max_shift: if positive, translate every image by a random offset of
            up to this many pixels each way (augmentation for small datasets).
        labels: if given, batches are `(images, labels)` pairs.

    Returns:
        A `tf.data.Dataset` of float32 batches in [0, 1] (with int32 labels).

    Example:
        >>> images, _ = load_images("mnist", "train")
        >>> dataset = make_dataset(images, batch_size=128)
    """
    import tensorflow as tf

    if batch_size < 1:
        raise UserError(f"Batch size must be at least 1. Received: batch_size={batch_size}")
    dataset = tf.data.Dataset.from_tensor_slices(images if labels is None else (images, np.asarray(labels, np.int32)))
    dataset = dataset.map(
        lambda *item: _on_images(item, lambda image: tf.cast(image, tf.float32) / 255.0),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    if max_shift:
        import keras

        height, width = images.shape[1:3]
        translate = keras.layers.RandomTranslation(
            max_shift / height, max_shift / width, fill_mode="constant", interpolation="nearest", seed=seed
        )
        dataset = dataset.map(
            lambda *item: _on_images(item, lambda batch: translate(batch, training=True)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return dataset.prefetch(tf.data.AUTOTUNE)
