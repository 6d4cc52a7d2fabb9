"""What TensorFlow's image decoders will allocate for an encoded image, read in TensorFlow ops without decoding it.

`measure(encoded)` reads what `tf.io.decode_image` (TensorFlow 2.21) sizes its
work from, format by format, and returns `(status, width, height, frames,
pixels, steps)`: `pixels` bounds what the decoder allocates and decodes, and
`status` is `OK` or why the image is refused (`REFUSALS`) when that cannot be bounded:

| format | what is read | pixels |
| --- | --- | --- |
| PNG | IHDR, which must be the first chunk (libpng reads unknown chunks before it) | width x height |
| JPEG | every SOF marker (SOF0-SOF15 but DHT, JPG, DAC) along the marker segments, SOI to EOI | the largest SOF |
| GIF | every image descriptor, walking the blocks and sub-blocks to the trailer | max(canvas, frames) |
| BMP | the info header's width and signed height | width x abs(height) |
| WebP | the first chunk: VP8, VP8L or VP8X (the canvas); animated WebP is refused | width x height |

GIF: giflib reads every frame (it keeps each frame's width x height indices,
whatever `expand_animations`), and TensorFlow allocates a canvas of the largest
frame width by the largest frame height, never the logical screen; it decodes a
truncated or damaged GIF up to the damage, so a GIF whose walk does not end at
its trailer is refused, as is one that takes more than `MAX_GIF_STEPS` steps
(or the `allowance` left to the request). JPEG: libjpeg allocates by the first
SOF (and fails on a second); each progressive scan decodes the whole image
again, so more than `MAX_JPEG_SCANS` scans are refused, as is a JPEG with more
than `MAX_JPEG_CODES` marker-like byte pairs. Animated WebP is refused:
TensorFlow 2.21's animation path corrupts its heap when asked for the file's
own channels.

This module imports TensorFlow only inside its functions.

Example:
    >>> status, width, height, frames, pixels, steps = measure(tf.constant(gif_bytes))
"""

(
    OK,
    UNKNOWN,
    TOO_LARGE,
    BAD_PNG,
    BAD_GIF,
    GIF_STEPS,
    REQUEST_STEPS,
    JPEG_CODES,
    JPEG_SCANS,
    BAD_WEBP,
    ANIMATED_WEBP,
) = range(11)
MAX_GIF_STEPS = 2048  # a step per block (and per run of equal sub-blocks after its first)
GIF_WINDOW = 1024  # sub-blocks of one length crossed in one step
REQUEST_GIF_STEPS = 4 * MAX_GIF_STEPS  # for all the GIFs of one request
MAX_JPEG_CODES = 65536  # 0xFF then a marker code: about 25 in a progressive JPEG, more in ICC or EXIF data
MAX_JPEG_SCANS = 100  # libjpeg writes 10 scans (6 for grey) in a progressive JPEG
MAX_INPUT_BYTES = 2**31 - 2  # TensorFlow's decoders refuse more than INT_MAX bytes
REFUSALS = {
    OK: "",
    UNKNOWN: "Unknown image file format: image_bytes must hold PNG, JPEG, GIF, BMP or WebP images.",
    TOO_LARGE: "An image of 2 GiB or more, more than the TensorFlow decoders take.",
    BAD_PNG: "Invalid PNG: its first chunk is not a 13-byte IHDR (libpng would take the size from a later chunk).",
    BAD_GIF: "Malformed or truncated GIF: its blocks (extensions, images and their data sub-blocks) do not end "
    "at the trailer (0x3B) within the data, so what the decoder would allocate cannot be bounded.",
    GIF_STEPS: f"GIF that takes more than {MAX_GIF_STEPS} steps to walk (one per block, more for irregular "
    "sub-blocks): too many frames or extensions to measure before decoding.",
    REQUEST_STEPS: "GIF walked past the steps left to the request (its GIFs take at most "
    f"{REQUEST_GIF_STEPS} steps together): send fewer GIFs, or fewer frames.",
    JPEG_CODES: f"JPEG of more than {MAX_JPEG_CODES} marker-like byte pairs (0xFF and a code): too many to walk.",
    JPEG_SCANS: f"JPEG of more than {MAX_JPEG_SCANS} scans: each progressive scan decodes the whole image again.",
    BAD_WEBP: "Invalid WebP: its first chunk is not VP8, VP8L or VP8X.",
    ANIMATED_WEBP: "Animated WebP is not accepted: send a still image (its first frame).",
}
HEADER_BYTES = 32  # enough for the size of a PNG, BMP or WebP image
RUNNING, DONE, MALFORMED = 0, 1, 2  # states of a GIF walk


def measure(encoded, allowance=MAX_GIF_STEPS):
    """`(status, width, height, frames, pixels, steps)` of one encoded image, without decoding it.

    Args:
        encoded: a scalar `tf.string` tensor, the bytes of one image.
        allowance: the most steps a GIF walk may take (an int64 scalar or an int); a GIF
            that needs more is refused, with `GIF_STEPS` when `allowance` is `MAX_GIF_STEPS`
            or more, else with `REQUEST_STEPS`.

    Returns:
        An int32 `status` (`OK` or a key of `REFUSALS`) and five int64 scalars: the
        width and height the decoder allocates (GIF: its canvas; JPEG: the largest
        SOF), the frames it reads, the pixels it allocates and decodes in all (GIF:
        the larger of its canvas and its frames together), and the steps a GIF took.

    Example:
        >>> [int(value) for value in measure(tf.io.encode_png(tf.zeros([20, 30, 1], tf.uint8)))]
        [0, 30, 20, 1, 600, 0]
    """
    import tensorflow as tf

    head = tf.strings.substr(
        tf.strings.join([tf.strings.substr(encoded, 0, HEADER_BYTES), b"\0" * HEADER_BYTES]), 0, HEADER_BYTES
    )
    formats = [  # in the order TensorFlow's decode_image tells them apart
        tf.strings.substr(head, 0, 3) == b"\xff\xd8\xff",
        tf.strings.substr(head, 0, 8) == b"\x89PNG\r\n\x1a\n",
        tf.strings.substr(head, 0, 4) == b"GIF8",
        tf.strings.substr(head, 0, 2) == b"BM",
        tf.logical_and(tf.strings.substr(head, 0, 4) == b"RIFF", tf.strings.substr(head, 8, 4) == b"WEBP"),
    ]
    index = tf.constant(0)
    for number, is_format in reversed(list(enumerate(formats, start=1))):
        index = tf.where(is_format, number, index)
    index = tf.where(tf.strings.length(encoded) > MAX_INPUT_BYTES, len(formats) + 1, index)
    allowance = tf.cast(allowance, tf.int64)
    branches = [
        lambda: _result(UNKNOWN),
        lambda: _jpeg(encoded),
        lambda: _png(head),
        lambda: _gif(encoded, head, allowance),
        lambda: _bmp(head),
        lambda: _webp(head),
        lambda: _result(TOO_LARGE),
    ]
    return tf.switch_case(index, branches)


def _result(status, width=0, height=0, frames=0, pixels=0, steps=0):
    import tensorflow as tf

    values = [tf.cast(value, tf.int64) for value in (width, height, frames, pixels, steps)]
    return (tf.constant(status, tf.int32) if isinstance(status, int) else status, *values)


def _header_fields(head):
    """`little(start, count)` and `big(start, count)`: unsigned integers read from the header bytes."""
    import tensorflow as tf

    data = tf.cast(tf.io.decode_raw(head, tf.uint8), tf.int64)

    def little(start, count):
        return sum(data[start + index] * (1 << (8 * index)) for index in range(count))

    def big(start, count):
        return sum(data[start + index] * (1 << (8 * (count - 1 - index))) for index in range(count))

    return little, big


def _reader(data):
    """`(size, read)`: the number of bytes, and `read(positions)` reading bytes as int64 (0 past the end)."""
    import tensorflow as tf

    size = tf.size(data, out_type=tf.int64)
    padded = tf.concat([data, tf.zeros([1], data.dtype)], 0)

    def read(positions):
        return tf.cast(tf.gather(padded, tf.minimum(tf.cast(positions, tf.int64), size)), tf.int64)

    return size, read


def _png(head):
    """IHDR's width and height; refused unless IHDR is the first chunk (libpng reads unknown chunks before it)."""
    import tensorflow as tf

    _, big = _header_fields(head)
    is_ihdr = tf.strings.substr(head, 8, 8) == b"\0\0\0\x0dIHDR"
    width, height = tf.minimum(big(16, 4), 2**31), tf.minimum(big(20, 4), 2**31)  # libpng refuses more than 2**31 - 1
    return tf.cond(
        is_ihdr, lambda: _result(OK, width, height, 1, width * height), lambda: _result(BAD_PNG, width, height)
    )


def _bmp(head):
    """The info header's width and height, both signed (a negative height stores rows top-down)."""
    import tensorflow as tf

    little, _ = _header_fields(head)

    def magnitude(value):
        return tf.abs(tf.where(value >= 1 << 31, value - (1 << 32), value))

    width, height = magnitude(little(18, 4)), magnitude(little(22, 4))
    return _result(OK, width, height, 1, width * height)


def _webp(head):
    """The first chunk's size: VP8's and VP8L's 14-bit sides, VP8X's 24-bit canvas; animated WebP is refused."""
    import tensorflow as tf

    little, _ = _header_fields(head)
    chunk = tf.strings.substr(head, 12, 4)
    lossless = little(21, 4)
    sizes = [
        (chunk == b"VP8 ", little(26, 2) % (1 << 14), little(28, 2) % (1 << 14)),
        (chunk == b"VP8L", lossless % (1 << 14) + 1, lossless // (1 << 14) % (1 << 14) + 1),
        (chunk == b"VP8X", little(24, 3) + 1, little(27, 3) + 1),
    ]
    known, width, height = tf.constant(False), tf.constant(0, tf.int64), tf.constant(0, tf.int64)
    for is_chunk, chunk_width, chunk_height in sizes:
        known = tf.logical_or(known, is_chunk)
        width = tf.where(is_chunk, chunk_width, width)
        height = tf.where(is_chunk, chunk_height, height)
    animated = tf.logical_and(chunk == b"VP8X", little(20, 1) // 2 % 2 == 1)  # VP8X's animation flag
    status = tf.where(known, tf.where(animated, ANIMATED_WEBP, OK), BAD_WEBP)
    return _result(status, width, height, 1, tf.where(status == OK, width * height, 0))


def _gif(encoded, head, allowance):
    """Every frame: the blocks walked from the logical screen to the trailer (`_gif_frames`)."""
    import tensorflow as tf

    version = tf.strings.substr(head, 0, 6)
    known = tf.logical_or(version == b"GIF87a", version == b"GIF89a")
    return tf.cond(known, lambda: _gif_frames(encoded, allowance), lambda: _result(UNKNOWN))


def _gif_frames(encoded, allowance):
    """Walk a GIF's blocks as giflib's DGifSlurp reads them, a step per block or run of equal sub-blocks.

    A block is an extension (0x21, label, data sub-blocks) or an image (0x2C,
    left, top, width, height as 16-bit little-endian, packed byte, local colour
    table, LZW code size, data sub-blocks); a sub-block is a length byte and
    that many bytes, and a 0 ends the chain. Each step reads a block's header
    (when at one) and crosses a run of sub-blocks of one length (`GIF_WINDOW` at
    most) and the sub-block after it: encoders write 255-byte sub-blocks and a
    shorter last one, so a block takes one step, or one per 261,120 bytes.
    """
    import tensorflow as tf

    data = tf.io.decode_raw(encoded, tf.uint8)
    size, read = _reader(data)
    window = tf.range(GIF_WINDOW, dtype=tf.int64)
    fields = tf.constant([0, 5, 6, 7, 8, 9], tf.int64)  # kind; an image's width, height (2 bytes each), packed byte

    def colour_table(packed):  # a colour table follows when the packed byte's top bit is set
        return tf.where(packed >= 128, tf.bitwise.left_shift(tf.constant(3, tf.int64), packed % 8 + 1), 0)

    def body(steps, position, in_chain, state, totals):
        kind, width_low, width_high, height_low, height_high, packed = tf.unstack(read(position + fields))
        at_record = tf.logical_not(in_chain)
        is_image = tf.logical_and(at_record, kind == 0x2C)
        is_block = tf.logical_or(is_image, tf.logical_and(at_record, kind == 0x21))
        is_trailer = tf.logical_and(tf.logical_and(at_record, kind == 0x3B), position < size)
        # The sub-blocks to cross: the block's first ones, or where the last step stopped.
        chain = tf.where(in_chain, position, tf.where(is_image, position + 11 + colour_table(packed), position + 2))
        length = read(chain)
        same = tf.cast(tf.equal(read(chain + (length + 1) * window), length), tf.int32)
        run = tf.argmin(tf.concat([same, [0]], 0), output_type=tf.int64)
        landing = tf.where(length == 0, chain, chain + (length + 1) * run)
        last = read(landing)  # a chain's last sub-block is shorter: cross it too
        landing = tf.where(last == 0, landing, landing + last + 1)
        chain_over = tf.equal(read(landing), 0)
        walking = tf.logical_or(in_chain, is_block)
        frame_width, frame_height = width_low + 256 * width_high, height_low + 256 * height_high
        frame = tf.where(is_image, tf.stack([1, frame_width * frame_height, frame_width, frame_height]), 0)
        return (
            steps + 1,
            tf.where(chain_over, landing + 1, landing),
            tf.logical_and(walking, tf.logical_not(chain_over)),
            tf.where(walking, RUNNING, tf.where(is_trailer, DONE, MALFORMED)),
            tf.concat([totals[:2] + frame[:2], tf.maximum(totals[2:], frame[2:])], 0),
        )

    limit = tf.minimum(allowance, MAX_GIF_STEPS)

    def running(steps, position, in_chain, state, totals):
        return tf.logical_and(state == RUNNING, steps < limit)

    start = 13 + colour_table(read(10))  # header, logical screen descriptor, global colour table
    steps, _, _, state, totals = tf.while_loop(
        running,
        body,
        (tf.constant(0, tf.int64), start, tf.constant(False), tf.constant(RUNNING), tf.zeros([4], tf.int64)),
    )
    frames, area, width, height = tf.unstack(totals)
    stopped = tf.where(limit == MAX_GIF_STEPS, GIF_STEPS, REQUEST_STEPS)
    status = tf.where(state == DONE, OK, tf.where(state == MALFORMED, BAD_GIF, stopped))
    return _result(status, width, height, frames, tf.maximum(width * height, area), steps)


def _jpeg(encoded):
    """The largest SOF and the number of scans over the marker segments from SOI to EOI, found as libjpeg finds them.

    libjpeg looks for the next marker where a segment ends: any bytes, then
    0xFF (any number of them), then a code other than 0x00 (a stuffed 0xFF in
    entropy-coded data); restart markers (0xD0-0xD7) carry nothing and are
    skipped. Every such code is a node whose successor is the first code after
    its segment (SOI and TEM have no length; EOI ends the walk); the walk from
    the first marker is then followed for all nodes at once by pointer
    doubling, keeping the largest SOF and the number of scans (SOS) along it:
    O(m log m) work for m codes, however the segments are laid out.
    """
    import tensorflow as tf

    data = tf.io.decode_raw(encoded, tf.uint8)
    after = data[1:]
    is_code = tf.logical_and(tf.equal(data[:-1], 0xFF), tf.logical_and(after != 0, after != 0xFF))
    is_code = tf.logical_and(is_code, tf.logical_or(after < 0xD0, after > 0xD7))
    codes = tf.where(is_code)[:, 0] + 1
    return tf.cond(tf.size(codes) > MAX_JPEG_CODES, lambda: _result(JPEG_CODES), lambda: _jpeg_walk(data, codes))


def _jpeg_walk(data, codes):
    import tensorflow as tf

    _, read = _reader(data)
    count = tf.size(codes, out_type=tf.int64)
    code, length = read(codes), 256 * read(codes + 1) + read(codes + 2)
    frame_height, frame_width = 256 * read(codes + 4) + read(codes + 5), 256 * read(codes + 6) + read(codes + 7)
    standalone = tf.logical_or(code == 0xD8, code == 0x01)  # SOI, TEM
    following = tf.where(standalone, codes + 1, codes + 1 + tf.maximum(length, 2))
    successor = tf.searchsorted(codes, following + 1, out_type=tf.int64)  # the first code whose 0xFF comes after
    successor = tf.where(code == 0xD9, tf.range(count), successor)  # EOI ends the walk
    is_frame = tf.logical_and(code >= 0xC0, code <= 0xCF)
    for other in (0xC4, 0xC8, 0xCC):  # DHT, JPG, DAC
        is_frame = tf.logical_and(is_frame, code != other)
    # The largest frame along the walk, as pixels * 2**16 + width (sides are 16-bit), and the scans.
    frame = tf.where(is_frame, frame_width * frame_height * 65536 + frame_width, 0)
    scans = tf.cast(code == 0xDA, tf.int64)
    zero = tf.zeros([1], tf.int64)  # a last node, where walks that run off the end stop

    def double(reach, successor, frame, scans):
        return (
            reach * 2,
            tf.gather(successor, successor),
            tf.maximum(frame, tf.gather(frame, successor)),
            scans + tf.gather(scans, successor),
        )

    _, _, frame, scans = tf.while_loop(
        lambda reach, *_: reach <= count,
        double,
        (
            tf.constant(1, tf.int64),
            tf.concat([successor, [count]], 0),
            tf.concat([frame, zero], 0),
            tf.concat([scans, zero], 0),
        ),
    )
    first = tf.searchsorted(codes, tf.constant([3], tf.int64), out_type=tf.int64)[0]  # after SOI's 0xFF 0xD8
    largest, scans = frame[first], scans[first]
    pixels, width = largest // 65536, largest % 65536
    status = tf.where(scans > MAX_JPEG_SCANS, JPEG_SCANS, OK)
    return _result(status, width, pixels // tf.maximum(width, 1), 1, pixels)
