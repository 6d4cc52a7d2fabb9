"""The `tf.data` training pipelines, and the small array helpers around them.

Every batch leaves as float32 in [0, 1]. Both pipelines can hold a fixed
number of epochs in which every batch is a function of the seed and the
step's number alone (orders and augmentation come from stateless random ops),
so that a run resumed at `start_step` sees exactly the batches an
uninterrupted one would. Under a multi-worker strategy every worker builds the
same global batches and keeps its share of each.

Parallelism and prefetching are fixed (`PARALLEL_BATCHES`), not autotuned:
a batch costs a gather and a cast (a resize and crop for photos), far below
any train step, and with tf.data's autotuning on, deleting the iterator at
the end of `fit` waited for the autotuner's thread to wake: up to 50 seconds
of idle CPU before the model folder was written (TensorFlow 2.21, seen in a
native stack of the main job).

TensorFlow is imported inside the functions that build datasets.

Example:
    >>> from kerasgen.data import pipelines, sources
    >>> images, labels = sources.load_images("mnist", "train")
    >>> dataset = pipelines.make_dataset(images, batch_size=128, labels=labels, epochs=5)
"""

import numpy as np

from kerasgen.errors import UserError

PARALLEL_BATCHES = 2
"""Batches made at once, and batches prefetched ahead of the train step."""


def steps_per_epoch(count, batch_size, drop_remainder=False):
    """Batches in one pass over `count` images.

    Example:
        >>> steps_per_epoch(1347, 32), steps_per_epoch(1347, 32, drop_remainder=True)
        (43, 42)
    """
    return count // batch_size if drop_remainder else -(-count // batch_size)


def unpaired_steps_per_epoch(count_a, count_b, batch_size, steps_per_epoch=None):
    """Steps of a CycleGAN epoch: `steps_per_epoch`, or the larger domain's size over `batch_size`.

    Example:
        >>> unpaired_steps_per_epoch(1347, 55000, 8), unpaired_steps_per_epoch(1347, 55000, 8, 1000)
        (6875, 1000)
    """
    return steps_per_epoch or max(1, max(count_a, count_b) // batch_size)


def fixed_subset(images, count, seed=0):
    """`count` images drawn without replacement with a fixed seed (sources are often sorted by class).

    Example:
        >>> fixed_subset(images, 64).shape
        (64, 28, 28, 1)
    """
    order = np.random.default_rng(seed).permutation(len(images))
    return images[np.sort(order[:count])]


def to_unit_range(images):
    """uint8 images to float32 in [0, 1].

    Raises:
        UserError: the images are not uint8 (float images are most likely in [0, 1] already).

    Example:
        >>> to_unit_range(np.array([0, 51, 255], np.uint8))
        array([0. , 0.2, 1. ], dtype=float32)
    """
    return np.asarray(require_uint8(images), dtype=np.float32) / 255.0


def require_uint8(images, name="images"):
    """`images` as an array, or a one-line `UserError` if they are not uint8 (0-255, as the loaders return them).

    Example:
        >>> require_uint8(np.zeros((2, 28, 28, 1), np.float32))
        UserError: images must be uint8 (0-255), as kerasgen.data's loaders return them; got float32. ...
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise UserError(
            f"{name} must be uint8 (0-255), as kerasgen.data's loaders return them; got {images.dtype}. "
            "Images already in [0, 1] need no scaling: pass them to fit as they are."
        )
    return images


def _check_steps(epochs, start_step):
    """A dataset of `epochs` (None: one, reshuffled) from `start_step` on must hold at least one step."""
    if epochs is not None and epochs < 1 or start_step < 0:
        raise UserError(f"epochs must be at least 1 and start_step at least 0. Received: {epochs=}, {start_step=}")


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

    images = require_uint8(images)
    if batch_size < 1:
        raise UserError(f"Batch size must be at least 1. Received: batch_size={batch_size}")
    _check_steps(epochs, start_step)
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
    return _training_options(dataset.map(batch, num_parallel_calls=PARALLEL_BATCHES)).prefetch(PARALLEL_BATCHES)


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

    images_a, images_b = require_uint8(images_a, "images_a"), require_uint8(images_b, "images_b")
    if batch_size < 1:
        raise UserError(f"Batch size must be at least 1. Received: batch_size={batch_size}")
    _check_steps(epochs, start_step)
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
    dataset = dataset.map(lambda step, indices: batch_pair(step, indices), num_parallel_calls=PARALLEL_BATCHES)
    return _training_options(dataset).prefetch(PARALLEL_BATCHES)


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


def _training_options(dataset):
    """No autotuning (see the module's docstring); under a multi-worker strategy, every worker builds the same
    global batches and keeps its share of each."""
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)
