"""The size guard of the encoded-image signatures: refuse an image by the size its header declares, before decoding.

A small compressed image may declare billions of pixels, and TensorFlow's
decoders allocate them all. The `*_png` signatures (`kerasgen.export.signatures.translators`)
therefore read the width and height from the first `HEADER_BYTES` bytes of each
image (JPEG's through `tf.io.extract_jpeg_shape`) and assert, before decoding,
that the format is known and that the image declares at most
`kerasgen.data.MAX_IMAGE_PIXELS` pixels, the limit the command line applies to
files. The limit is read when the signature is built and baked into the export.

This module imports TensorFlow only inside its functions.

Example:
    >>> import tensorflow as tf
    >>> from kerasgen.export.image_guard import pixel_limit, size_checks
    >>> with tf.control_dependencies(size_checks(encoded, pixel_limit())):
    ...     image = tf.io.decode_image(encoded)
"""

HEADER_BYTES = 32  # enough to read the size of a PNG, GIF, BMP or WebP image (JPEG's is read by libjpeg)
UNKNOWN_IMAGE = "Unknown image file format: image_bytes must hold PNG, JPEG, GIF, BMP or WebP images."


def pixel_limit():
    """`kerasgen.data.MAX_IMAGE_PIXELS` as it is now (baked into an export), the limit the CLI applies to files.

    Returns:
        The limit, an `int`.

    Example:
        >>> pixel_limit()
        64000000
    """
    from kerasgen import data

    return int(data.MAX_IMAGE_PIXELS)


def declared_size(encoded):
    """`(known, width, height)` that an encoded image's header declares, read without decoding it.

    `known` is False for bytes that are not a PNG, JPEG, GIF, BMP or WebP image
    (TensorFlow's `decode_image` also reads JPEG XL, whose size this does not read).
    PNG: IHDR's big-endian width and height; JPEG: `tf.io.extract_jpeg_shape`;
    GIF: the logical screen; BMP: the info header; WebP: the VP8, VP8L or VP8X header.

    Args:
        encoded: a scalar `tf.string` tensor, the bytes of one image.

    Returns:
        `(known, width, height)`: a bool scalar and two int64 scalars (0 when `known` is False).

    Example:
        >>> declared_size(tf.io.encode_png(tf.zeros([20, 30, 1], tf.uint8)))  # (True, 30, 20)
    """
    import tensorflow as tf

    header = tf.strings.substr(
        tf.strings.join([tf.strings.substr(encoded, 0, HEADER_BYTES), b"\0" * HEADER_BYTES]), 0, HEADER_BYTES
    )
    data = tf.cast(tf.io.decode_raw(header, tf.uint8), tf.int64)

    def at(start, length):
        return tf.strings.substr(header, start, length)

    def little(start, count):
        return sum(data[start + index] * (1 << (8 * index)) for index in range(count))

    def big(start, count):
        return sum(data[start + index] * (1 << (8 * (count - 1 - index))) for index in range(count))

    def signed32(value):
        return tf.abs(tf.where(value >= 1 << 31, value - (1 << 32), value))

    is_png = at(0, 8) == b"\x89PNG\r\n\x1a\n"
    is_jpeg = at(0, 3) == b"\xff\xd8\xff"
    is_gif = tf.logical_or(at(0, 6) == b"GIF87a", at(0, 6) == b"GIF89a")
    is_bmp = at(0, 2) == b"BM"
    is_webp = tf.logical_and(at(0, 4) == b"RIFF", at(8, 4) == b"WEBP")
    chunk = at(12, 4)
    lossless = little(21, 4)
    webp = [
        (chunk == b"VP8 ", little(26, 2) % (1 << 14), little(28, 2) % (1 << 14)),
        (chunk == b"VP8L", lossless % (1 << 14) + 1, lossless // (1 << 14) % (1 << 14) + 1),
        (chunk == b"VP8X", little(24, 3) + 1, little(27, 3) + 1),
    ]
    jpeg = tf.cond(
        is_jpeg,
        lambda: tf.cast(tf.io.extract_jpeg_shape(encoded)[:2], tf.int64),
        lambda: tf.zeros([2], tf.int64),
    )
    formats = [
        (is_png, big(16, 4), big(20, 4)),
        (is_jpeg, jpeg[1], jpeg[0]),
        (is_gif, little(6, 2), little(8, 2)),
        (is_bmp, signed32(little(18, 4)), signed32(little(22, 4))),
        *[(tf.logical_and(is_webp, is_chunk), w, h) for is_chunk, w, h in webp],
    ]
    known, width, height = tf.constant(False), tf.constant(0, tf.int64), tf.constant(0, tf.int64)
    for is_format, format_width, format_height in reversed(formats):
        known = tf.logical_or(known, is_format)
        width = tf.where(is_format, format_width, width)
        height = tf.where(is_format, format_height, height)
    return known, width, height


def size_checks(encoded, limit):
    """Assertions that `encoded` is an image of a known format declaring at most `limit` pixels.

    Args:
        encoded: a scalar `tf.string` tensor, the bytes of one image.
        limit: the largest number of pixels allowed (`pixel_limit()` when exporting).

    Returns:
        A list of assertion ops, for `tf.control_dependencies` around the decoder. They fail with
        `UNKNOWN_IMAGE`, or with a message naming the declared size and `limit`.

    Example:
        >>> with tf.control_dependencies(size_checks(encoded, pixel_limit())):
        ...     image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
    """
    import tensorflow as tf

    known, width, height = declared_size(encoded)
    pixels = tf.cast(width, tf.uint64) * tf.cast(height, tf.uint64)  # below 2**64: each side is below 2**32
    message = tf.strings.join(
        [
            "An image declares ",
            tf.strings.as_string(width),
            "x",
            tf.strings.as_string(height),
            " = ",
            tf.strings.as_string(pixels),
            f" pixels, over the limit of {limit} (kerasgen.data.MAX_IMAGE_PIXELS when exported); send a smaller image.",
        ]
    )
    return [
        tf.debugging.Assert(known, [UNKNOWN_IMAGE]),
        tf.debugging.Assert(pixels <= tf.constant(limit, tf.uint64), [message]),
    ]
