"""Images written by hand for the image-bytes guard's tests: real structures, with sizes decoders would believe.

Each writer returns bytes. GIF frames carry real LZW data (`lzw`), PNGs real
zlib streams; the crafted corpus (`corpus`) pairs each with what the guard must do.
"""

import functools
import io
import struct
import zlib

import numpy as np
from PIL import Image


def encoded(pixels, mode, fmt="PNG", **options):
    """`pixels` (uint8 array) saved by Pillow in `mode` and `fmt`."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def sub_blocks(payload):
    """GIF data sub-blocks of at most 255 bytes, then the 0 that ends them."""
    return (
        b"".join(bytes([len(payload[i : i + 255])]) + payload[i : i + 255] for i in range(0, len(payload), 255)) + b"\0"
    )


@functools.cache
def lzw(count, code_size=2):
    """GIF LZW data (code size byte, sub-blocks) of `count` pixels of colour 0."""
    clear, end = 1 << code_size, (1 << code_size) + 1
    table, next_code, width = {bytes([i]): i for i in range(clear)}, end + 1, code_size + 1
    out, bits, held = bytearray(), 0, 0

    def emit(code):
        nonlocal bits, held
        bits |= code << held
        held += width
        while held >= 8:
            out.append(bits & 255)
            bits >>= 8
            held -= 8

    emit(clear)
    run = b""
    for _ in range(count):
        if run + b"\0" in table:
            run += b"\0"
            continue
        emit(table[run])
        if next_code < 4096:
            table[run + b"\0"] = next_code
            next_code += 1
            width += next_code > (1 << width) and width < 12
        run = b"\0"
    if run:
        emit(table[run])
    emit(end)
    if held:
        out.append(bits & 255)
    return bytes([code_size]) + sub_blocks(bytes(out))


def gif_image(width, height, left=0, top=0, data=None):
    """An image block: descriptor, no local colour table, LZW data (`width` x `height` zeros by default)."""
    data = lzw(width * height) if data is None else data
    return b"\x2c" + struct.pack("<HHHHB", left, top, width, height, 0) + data


def gif_extension(label, payload):
    return b"\x21" + bytes([label]) + sub_blocks(payload)


def gif(blocks, screen=(1, 1), trailer=True):
    """A GIF89a: logical screen `screen` with a 2-colour global table, `blocks`, the trailer."""
    head = b"GIF89a" + struct.pack("<HHBBB", *screen, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    return head + b"".join(blocks) + (b"\x3b" if trailer else b"")


def png_chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_ihdr(width, height):
    return png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))  # 8-bit grey


@functools.cache
def zlib_zeros(width, height):
    """The zlib stream of `height` rows of a filter byte and `width` zeros."""
    compressor, rows = zlib.compressobj(9), bytes((width + 1) * 100)
    parts = [compressor.compress(rows) for _ in range(height // 100)]
    return b"".join([*parts, compressor.compress(bytes((width + 1) * (height % 100))), compressor.flush()])


def png_zeros(width, height, before=b""):
    """A valid grey PNG of zeros, `before` written ahead of IHDR: about 250 KB for 16000 x 16000."""
    idat = png_chunk(b"IDAT", zlib_zeros(width, height))
    return b"\x89PNG\r\n\x1a\n" + before + png_ihdr(width, height) + idat + png_chunk(b"IEND", b"")


def jpeg_segment(jpeg, code):
    """`(start, end)` of the first segment of marker `code` in `jpeg` (end: after its payload)."""
    start = jpeg.index(bytes([0xFF, code]))
    return start, start + 2 + struct.unpack(">H", jpeg[start + 2 : start + 4])[0]


def jpeg_sof(jpeg, width, height):
    """The SOF segment of `jpeg` with its size replaced."""
    start, end = jpeg_segment(jpeg, 0xC0 if b"\xff\xc0" in jpeg else 0xC2)
    segment = bytearray(jpeg[start:end])
    segment[5:9] = struct.pack(">HH", height, width)
    return bytes(segment)


def riff(chunks):
    """A WebP file: RIFF, size, WEBP, `chunks` (kind, payload) padded to even lengths."""
    body = b"".join(kind + struct.pack("<I", len(data)) + data + b"\0" * (len(data) % 2) for kind, data in chunks)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def bmp(width, height, pixels=None):
    """A 24-bit BMP whose header says `width` x `height` (signed), holding `pixels` bytes (default: 4 x 4 of them)."""
    data = bytes(4 * 12) if pixels is None else pixels
    header = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(data), 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + len(data), 0, 0, 54) + header + data


def small_images():
    """Small real images of every accepted format: {name: bytes}."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    frames = [Image.fromarray(np.full((12, 10, 3), 60 * i, np.uint8)) for i in range(3)]
    animated = io.BytesIO()
    frames[0].save(animated, format="GIF", save_all=True, append_images=frames[1:], duration=50)
    return {
        "png": encoded(pixels, "RGB"),
        "jpeg": encoded(pixels, "RGB", "JPEG"),
        "jpeg_progressive": encoded(pixels, "RGB", "JPEG", progressive=True),
        "gif": encoded(pixels, "P", "GIF"),
        "gif_animated": animated.getvalue(),
        "bmp": encoded(pixels, "RGB", "BMP"),
        "webp": encoded(pixels, "RGB", "WEBP"),
        "webp_lossless": encoded(pixels, "RGB", "WEBP", lossless=True),
        "webp_extended": encoded(pixels, "RGB", "WEBP", exif=b"Exif\0\0kerasgen"),
    }


def corpus():
    """Crafted requests: {name: (list of image bytes, expected)}; expected is "refused", "decoded" or "either".

    "either": the guard may pass the image (what it would decode is within the
    budget) and the decoder then fail or succeed.
    """
    small = small_images()
    rng = np.random.default_rng(1)
    jpeg, progressive = small["jpeg"], small["jpeg_progressive"]
    sof_start, sof_end = jpeg_segment(jpeg, 0xC0)
    huge_sof, tiny_sof = jpeg_sof(jpeg, 50000, 60000), jpeg_sof(jpeg, 8, 8)
    last_scan = progressive.rindex(b"\xff\xda")
    app0_end = jpeg_segment(jpeg, 0xE0)[1]
    thumbnail = b"Exif\0\0" + b"\xff\xc0\x00\x11\x08\xea\x60\xc3\x50\x03" + bytes(40)  # a SOF inside APP1's payload
    webp, lossless, extended = small["webp"], small["webp_lossless"], small["webp_extended"]
    frames = [Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)) for _ in range(3)]
    animated_webp = io.BytesIO()
    frames[0].save(animated_webp, format="WEBP", save_all=True, append_images=frames[1:], duration=50)
    vp8_payload = webp[20:]
    png = small["png"]
    megapixel = encoded(np.zeros((1000, 1000), np.uint8), "L")
    cases = {
        # GIF: TensorFlow sizes its canvas by the largest frame width and height, never the logical screen.
        "gif_frames_beyond_screen": (gif([gif_image(20000, 1), gif_image(1, 30000)]), "refused"),
        "gif_one_huge_frame": (gif([gif_image(16000, 16000, data=lzw(64))]), "refused"),
        "gif_many_frames": (gif([gif_image(128, 128)] * 300), "refused"),
        "gif_many_extensions": (gif([gif_extension(0xFE, b"")] * 5000 + [gif_image(4, 4)]), "refused"),
        "gif_small_frames_beyond_screen": (gif([gif_image(40, 1), gif_image(1, 30)]), "decoded"),
        "gif_huge_screen_small_frame": (gif([gif_image(8, 8)], screen=(20000, 30000)), "decoded"),
        "gif_small_animation": (gif([gif_extension(0xF9, b"\x04\x05\x00\x00"), gif_image(64, 64)] * 20), "decoded"),
        "gif_no_trailer": (gif([gif_image(4, 4), gif_image(300, 300)], trailer=False), "refused"),
        "gif_truncated": (gif([gif_image(4, 4), gif_image(300, 300)])[:-40], "refused"),
        "gif_bad_record": (gif([gif_image(4, 4), b"\x99" + gif_image(300, 300)]), "refused"),
        "gif_unknown_version": (b"GIF88a" + gif([gif_image(4, 4)])[6:], "refused"),
        "gif_garbage": (b"GIF89a" + rng.integers(0, 256, 3000, dtype=np.uint8).tobytes(), "either"),
        # PNG: libpng reads unknown chunks before IHDR; only IHDR in first place is read.
        "png_chunk_before_ihdr": (
            png_zeros(16000, 16000, before=png_chunk(b"prIv", struct.pack(">II", 1, 1))),
            "refused",
        ),
        "png_huge": (png_zeros(16000, 16000), "refused"),
        "png_second_ihdr": (png[:33] + png_ihdr(16000, 16000) + png[33:], "either"),
        "png_long_ihdr": (
            png[:8] + png_chunk(b"IHDR", struct.pack(">IIBBBBBB", 8, 8, 8, 0, 0, 0, 0, 0)) + png[33:],
            "refused",
        ),
        "png_truncated": (png[:60], "either"),
        "png_garbage": (png[:8] + rng.integers(0, 256, 3000, dtype=np.uint8).tobytes(), "refused"),
        # JPEG: every SOF counts (libjpeg allocates by the first and fails on a second).
        "jpeg_small_then_huge_sof": (jpeg[:sof_end] + huge_sof + jpeg[sof_end:], "refused"),
        "jpeg_huge_then_small_sof": (jpeg[:sof_start] + huge_sof + tiny_sof + jpeg[sof_end:], "refused"),
        "jpeg_huge_sof": (jpeg[:sof_start] + huge_sof + jpeg[sof_end:], "refused"),
        "jpeg_huge_sof_after_scan": (jpeg[:-2] + huge_sof + jpeg[-2:], "refused"),
        "jpeg_garbage_then_huge_sof": (jpeg[:sof_start] + b"\x00\x11\xff\x00" + huge_sof + jpeg[sof_end:], "refused"),
        "jpeg_sof_inside_app1": (
            jpeg[:app0_end] + b"\xff\xe1" + struct.pack(">H", 2 + len(thumbnail)) + thumbnail + jpeg[app0_end:],
            "decoded",
        ),
        "jpeg_many_scans": (progressive[:last_scan] + progressive[last_scan:-2] * 150 + b"\xff\xd9", "refused"),
        "jpeg_truncated": (jpeg[: len(jpeg) // 2], "either"),
        "jpeg_garbage": (b"\xff\xd8\xff" + rng.integers(0, 256, 3000, dtype=np.uint8).tobytes(), "either"),
        # WebP: the first chunk's size (VP8X: the canvas); animations are refused.
        "webp_vp8_huge": (webp[:26] + struct.pack("<HH", 16383, 16383) + webp[30:], "refused"),
        "webp_vp8l_huge": (lossless[:21] + struct.pack("<I", 16383 | 16383 << 14) + lossless[25:], "refused"),
        "webp_vp8x_huge_canvas": (extended[:24] + b"\xff\xff\xff\xff\xff\xff" + extended[30:], "refused"),
        "webp_vp8x_canvas_over_vp8": (
            riff([(b"VP8X", bytes(4) + b"\xff\x3f\x00\xff\x3f\x00"), (b"VP8 ", vp8_payload)]),
            "refused",
        ),
        "webp_animated": (animated_webp.getvalue(), "refused"),
        "webp_unknown_first_chunk": (riff([(b"ALPH", bytes(8)), (b"VP8 ", vp8_payload)]), "refused"),
        "webp_truncated": (webp[:24], "either"),
        "webp_garbage": (webp[:12] + rng.integers(0, 256, 3000, dtype=np.uint8).tobytes(), "either"),
        # BMP: the header's width and signed height.
        "bmp_huge": (bmp(30000, -20000), "refused"),
        "bmp_negative_width": (bmp(-30000, 20000), "refused"),
        "bmp_most_negative_height": (bmp(4, -(2**31)), "refused"),
        "bmp_negative_height": (bmp(4, -4), "decoded"),
        "bmp_truncated": (small["bmp"][:40], "either"),
        "bmp_garbage": (b"BM" + rng.integers(0, 256, 3000, dtype=np.uint8).tobytes(), "either"),
        "unknown_format": (b"\xff\x0a" + bytes(30), "refused"),
        "empty": (b"", "refused"),
    }
    requests = {name: ([data], expected) for name, (data, expected) in cases.items()}
    # Batches: in-budget images whose sum is not, and a bomb among good images.
    requests["batch_five_megapixels"] = ([megapixel] * 5, "refused")
    requests["batch_bomb_in_the_middle"] = ([png, cases["gif_frames_beyond_screen"][0], png], "refused")
    requests["batch_small_mixed"] = (list(small.values()) * 4, "decoded")
    return requests
