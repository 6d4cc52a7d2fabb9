"""Building blocks of the serving signatures: what the model families use to write their `tf.function`s.

Each family model's `serving_functions()` method (`kerasgen.vae.model.VAE`, ...)
returns one `tf.function` per signature; these helpers give them the shared
conventions of a kerasgen SavedModel: input specs with a dynamic batch
dimension, seeded latents equal to Keras's, checked class labels, and the
CycleGAN translators (float, uint8 and encoded image).

The model families import this module, so it imports nothing from kerasgen
but `kerasgen.export.image_guard` and `kerasgen.errors`, and TensorFlow only
inside its functions.

Example:
    >>> import tensorflow as tf
    >>> from kerasgen.export.signatures import spec
    >>> @tf.function(input_signature=[spec((28, 28, 1), tf.float32, "images")])
    ... def reconstruct(images):
    ...     return {"images": decoder(encoder(images, training=False), training=False)}
"""

from kerasgen.export.image_guard import checked_image_bytes, max_request_pixels

SEED_MODULUS = 2**31 - 2  # Keras's TensorFlow backend folds an int seed into int32 with this modulus
LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2 luma, as PIL's convert("L")


def spec(shape, dtype, name):
    """A `tf.TensorSpec` with a dynamic batch dimension: `[None, *shape]`.

    Args:
        shape: the shape of one example.
        dtype: the tensor's dtype.
        name: the signature input's name.

    Returns:
        A `tf.TensorSpec`.

    Example:
        >>> spec((28, 28, 1), tf.float32, "images")
        TensorSpec(shape=(None, 28, 28, 1), dtype=tf.float32, name='images')
    """
    import tensorflow as tf

    return tf.TensorSpec([None, *shape], dtype, name=name)


def seeded_normal(seeds, size):
    """One row of N(0, 1) per int32 seed, equal to `keras.random.normal((1, size), seed=seed)`.

    Args:
        seeds: an int32 tensor of shape `[batch]`.
        size: the length of each row.

    Returns:
        A float32 tensor of shape `[batch, size]`; equal seeds give equal rows.

    Example:
        >>> seeded_normal(tf.constant([0, 7, 7]), 4).shape
        TensorShape([3, 4])
    """
    import tensorflow as tf

    def row(seed):
        pair = tf.math.floormod(tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)]), SEED_MODULUS)
        return tf.random.stateless_normal([size], seed=tf.cast(pair, tf.int32))

    return tf.map_fn(row, seeds, fn_output_signature=tf.TensorSpec([size], tf.float32))


def checked_labels(labels, batch, num_classes):
    """`labels`, after checks that there is one per row and each is in [0, num_classes).

    Args:
        labels: an integer tensor of shape `[batch]`.
        batch: the number of rows the labels go with (a scalar tensor).
        num_classes: the number of classes.

    Returns:
        `labels`, as a tensor that depends on the checks (which fail with
        `tf.errors.InvalidArgumentError`).

    Example:
        >>> checked_labels(tf.constant([0, 3]), tf.shape(seeds)[0], 10)
        <tf.Tensor: shape=(2,), dtype=int32, numpy=array([0, 3], dtype=int32)>
    """
    import tensorflow as tf

    checks = [
        tf.debugging.assert_equal(tf.shape(labels)[0], batch, message="labels must have one entry per image"),
        tf.debugging.assert_non_negative(labels, message=f"labels must be in [0, {num_classes})"),
        tf.debugging.assert_less(labels, num_classes, message=f"labels must be in [0, {num_classes})"),
    ]
    with tf.control_dependencies(checks):  # before the embedding's gather, which fails (CPU) or gives zeros (GPU)
        return tf.identity(labels)


def translators(network, image_shape):
    """Float, uint8 and encoded-image translators through one generator (images in [0, 1] at its ends).

    The encoded-image translator measures the request's images before decoding
    any (`kerasgen.export.image_guard`) against the budget in effect when this is
    called (`image_guard.request_budget`, 4,194,304 pixels by default), which it
    keeps as its attribute `max_request_pixels`.

    Args:
        network: a generator mapping images in [-1, 1] to images in [-1, 1].
        image_shape: `(height, width, channels)` of the generator's images.

    Returns:
        `(translate, translate_uint8, translate_png)`: `tf.function`s taking
        `images` (float32 in [0, 1]), `images` (uint8) and `image_bytes`
        (PNG, JPEG, GIF, BMP or WebP; answered as `png_bytes` at each image's size).

    Example:
        >>> translate, translate_uint8, translate_png = translators(model.generator_a2b, model.image_shape)
        >>> translate_png(tf.constant([png]))["png_bytes"].shape
        TensorShape([1])
    """
    import tensorflow as tf

    height, width, channels = image_shape
    # One function for the generator, which every signature calls: it is traced once, not once per signature.
    # Not `kerasgen.inference.inference_function`: that one holds its network weakly, and these translators
    # must keep working after the model that made them is gone (tests/test_image_guard.py relies on it).
    generate = tf.function(
        lambda images: network(images, training=False), input_signature=[spec(image_shape, tf.float32, "images")]
    )

    def translated(images):
        # ReflectionPadding2D's MirrorPad refuses an empty batch; answer one with an empty batch.
        return tf.cond(
            tf.shape(images)[0] > 0,
            lambda: (generate(images * 2.0 - 1.0) + 1.0) / 2.0,
            lambda: tf.zeros_like(images),
        )

    def to_uint8(images):
        return tf.cast(tf.round(tf.clip_by_value(images, 0.0, 1.0) * 255.0), tf.uint8)

    @tf.function(input_signature=[spec(image_shape, tf.float32, "images")])
    def translate(images):
        return {"images": translated(images)}

    @tf.function(input_signature=[spec(image_shape, tf.uint8, "images")])
    def translate_uint8(images):
        return {"images": to_uint8(translated(tf.cast(images, tf.float32) / 255.0))}

    budget = max_request_pixels()

    def decode(encoded):
        # Through RGB: GIF and BMP decode to no single channel, and ITU-R 601 luma is what PIL (`kerasgen translate`)
        # uses; PNG alpha is dropped.
        image = tf.io.decode_image(
            encoded, channels=channels if channels not in (1, 3) else 3, dtype=tf.uint8, expand_animations=False
        )
        size = tf.shape(image)[:2]
        pixels = tf.cast(image, tf.float32) / 255.0
        if channels == 1:
            pixels = tf.tensordot(pixels, tf.constant(LUMA), axes=1)[..., None]
        resized = tf.image.resize(pixels, [height, width], method="bilinear", antialias=True)
        return tf.clip_by_value(resized, 0.0, 1.0), size

    def encode(image_and_size):
        image, size = image_and_size
        restored = tf.image.resize(image, size, method="bilinear", antialias=True)
        return tf.io.encode_png(to_uint8(restored))

    @tf.function(input_signature=[spec((), tf.string, "image_bytes")], autograph=False)
    def translate_png(image_bytes):
        # Measured before decoding: a small compressed image may make the decoders allocate billions of pixels.
        images, sizes = tf.map_fn(
            decode,
            checked_image_bytes(image_bytes, budget, least_pixels=height * width),
            fn_output_signature=(tf.TensorSpec(image_shape, tf.float32), tf.TensorSpec([2], tf.int32)),
        )
        outputs = translated(images)
        return {"png_bytes": tf.map_fn(encode, (outputs, sizes), fn_output_signature=tf.TensorSpec([], tf.string))}

    translate_png.max_request_pixels = budget
    return translate, translate_uint8, translate_png
