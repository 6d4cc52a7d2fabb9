"""The image-bytes guard: a request's encoded images are measured against a pixel budget before any is decoded.

A small compressed image may make TensorFlow's decoders allocate billions of
pixels: a huge size in a header, GIF frames larger than their logical screen,
a PNG whose IHDR follows a private chunk, a JPEG with a second SOF, an
animation of many frames. The `*_png` signatures
(`kerasgen.export.signatures.translators`) therefore read, in TensorFlow ops
inside the SavedModel, what each decoder sizes its work from
(`kerasgen.export.image_formats.measure`: every GIF frame, PNG's IHDR, every
JPEG SOF, WebP's canvas, BMP's header) and refuse the request before decoding
anything when

- an image cannot be measured (an unknown format, a malformed or truncated
  GIF, a PNG that does not start with IHDR, animated WebP, ...), or
- the request's images count more pixels together than its budget,
  `max_request_pixels` (`DEFAULT_REQUEST_PIXELS`, 4,194,304: one 2048x2048
  photograph, unless set at export). An image counts the pixels its decoder
  allocates and decodes (a GIF the larger of its canvas and its frames
  together), and at least the model's own size, to which it is resized.

The budget is read when the signatures are built (`request_budget`) and baked
into the export; a SavedModel reports it as `loaded.max_request_pixels()` and
in every refusal. The per-file limit of `kerasgen translate`
(`kerasgen.data.MAX_IMAGE_PIXELS`) is another, larger one.

This module imports TensorFlow only inside its functions.

Example:
    >>> with request_budget(1_000_000):
    ...     translate, translate_uint8, translate_png = translators(network, (32, 32, 1))
"""

import contextlib
import contextvars

from kerasgen.errors import UserError
from kerasgen.export import image_formats

DEFAULT_REQUEST_PIXELS = 2048 * 2048  # a 2048x2048 photograph per request
LARGEST_REQUEST_PIXELS = 2**40  # sums of counts stay far from int64's limit
OVER_IMAGE, OVER_REQUEST = 101, 102  # refusals beside `image_formats.REFUSALS`
_BUDGET = contextvars.ContextVar("max_request_pixels", default=DEFAULT_REQUEST_PIXELS)


def check_budget(pixels):
    """`pixels` as a budget: `DEFAULT_REQUEST_PIXELS` for None, else a positive integer up to 2**40.

    Raises:
        UserError: anything else.

    Example:
        >>> check_budget(None)
        4194304
    """
    if pixels is None:
        return DEFAULT_REQUEST_PIXELS
    if isinstance(pixels, bool) or not isinstance(pixels, int) or not 1 <= pixels <= LARGEST_REQUEST_PIXELS:
        raise UserError(f"max_request_pixels must be a positive integer up to 2**40, got {pixels!r}.")
    return int(pixels)


@contextlib.contextmanager
def request_budget(pixels=None):
    """Within it, image-bytes signatures are built with a budget of `pixels` per request.

    Args:
        pixels: the most pixels a request's images may count together; None for `DEFAULT_REQUEST_PIXELS`.

    Raises:
        UserError: `pixels` is not a positive integer up to 2**40.

    Example:
        >>> with request_budget(1_000_000):
        ...     module, signatures = serving_module(model)
    """
    token = _BUDGET.set(check_budget(pixels))
    try:
        yield
    finally:
        _BUDGET.reset(token)


def max_request_pixels():
    """The budget image-bytes signatures are built with now (`request_budget`, else `DEFAULT_REQUEST_PIXELS`).

    Example:
        >>> max_request_pixels()
        4194304
    """
    return _BUDGET.get()


def checked_image_bytes(image_bytes, budget, least_pixels=1, gif_steps=image_formats.REQUEST_GIF_STEPS):
    """`image_bytes`, depending on a check that each can be measured and that they fit `budget` together.

    The images are measured one after the other (`image_formats.measure`),
    stopping at the first refused one or once the count passes `budget`, and
    their GIFs take `gif_steps` steps at most together, so measuring a request
    costs little however many images it holds.

    Args:
        image_bytes: a string tensor of shape `[batch]`, encoded images.
        budget: the most pixels the images may count together.
        least_pixels: the least an image counts (the model's own height x width).
        gif_steps: the most steps the request's GIFs may take to walk, together.

    Returns:
        `image_bytes`, as a tensor that depends on the check, which fails with
        `tf.errors.InvalidArgumentError` naming the first image refused and why.

    Example:
        >>> translate_png(checked_image_bytes(image_bytes, max_request_pixels(), 28 * 28))
    """
    import tensorflow as tf

    count = tf.size(image_bytes, out_type=tf.int64)

    def measure(index, steps_left, total, refusal):
        status, width, height, frames, pixels, steps = image_formats.measure(image_bytes[index], steps_left)
        counted = tf.maximum(pixels, least_pixels)
        total = total + tf.minimum(counted, budget + 1)  # stops once over: never near int64's limit
        over = tf.where(counted > budget, OVER_IMAGE, tf.where(total > budget, OVER_REQUEST, 0))
        status = tf.where(status != 0, tf.cast(status, tf.int64), tf.cast(over, tf.int64))
        return index + 1, steps_left - steps, total, tf.stack([status, index, width, height, frames, counted, total])

    def unrefused(index, steps_left, total, refusal):
        return tf.logical_and(index < count, refusal[0] == 0)

    zero = tf.constant(0, tf.int64)
    _, _, _, refusal = tf.while_loop(
        unrefused,
        measure,
        (zero, tf.constant(gif_steps, tf.int64), zero, tf.zeros([7], tf.int64)),
    )
    with tf.control_dependencies([tf.debugging.Assert(refusal[0] == 0, [refusal_message(refusal, budget)])]):
        return tf.identity(image_bytes)


def refusal_message(refusal, budget):
    """The message of a refusal `[status, index, width, height, frames, counted, total]` (a string tensor)."""
    import tensorflow as tf

    status, index, width, height, frames, counted, total = tf.unstack(refusal)
    texts = {**image_formats.REFUSALS, OVER_IMAGE: "", OVER_REQUEST: ""}
    codes, messages = zip(*sorted(texts.items()), strict=True)
    text = tf.gather(tf.constant(messages), tf.argmax(tf.equal(tf.constant(codes, tf.int64), status)))
    budget_text = f"over the budget of {budget} pixels per request (max_request_pixels, set at export)"
    over_image = tf.strings.join(
        [
            "it decodes to ",
            tf.strings.as_string(width),
            "x",
            tf.strings.as_string(height),
            tf.where(frames > 1, tf.strings.join([" (", tf.strings.as_string(frames), " frames)"]), ""),
            " and counts ",
            tf.strings.as_string(counted),
            f" pixels, {budget_text}; send a smaller image.",
        ]
    )
    over_request = tf.strings.join(
        [
            "the images of the request count ",
            tf.strings.as_string(total),
            f" pixels up to this one, {budget_text}; send fewer or smaller images.",
        ]
    )
    text = tf.where(status == OVER_IMAGE, over_image, tf.where(status == OVER_REQUEST, over_request, text))
    return tf.strings.join(["image_bytes[", tf.strings.as_string(index), "]: ", text])
