"""The image-bytes guard of the `*_png` signatures (`kerasgen.export.image_guard`, `image_formats`).

Crafted images (`crafted.corpus`: GIF frames beyond their screen, a PNG chunk
before IHDR, several JPEG SOFs, huge WebP canvases and BMP headers, truncated
and garbage bytes of every format, batches over the budget) go to an exported
CycleGAN loaded in a fresh process that cannot import kerasgen: each is refused
or decoded within the budget, and the peak resident memory barely moves.
Mutated headers of small valid images (hypothesis) are refused or decoded
within the budget, and the guard never counts fewer pixels than the decoder allocates.
"""

import io
import json
import os
import pickle
import struct
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from crafted import corpus, encoded, gif, gif_extension, gif_image, small_images
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from kerasgen.errors import UserError
from kerasgen.export import image_formats
from kerasgen.export.image_guard import DEFAULT_REQUEST_PIXELS, check_budget, max_request_pixels, request_budget

pytestmark = pytest.mark.slow  # runs in .ci/run after the README's test command

TINY_CYCLEGAN = {"image_shape": (16, 16, 1), "generator_filters": 4, "residual_blocks": 1, "discriminator_filters": 4}
MEMORY_GROWTH_MIB = 200

# A fresh interpreter that cannot import kerasgen: one warm-up request, then every crafted request, timed.
CHECKER = r"""
import json, pickle, resource, struct, sys, time
sys.modules["kerasgen"] = None
import tensorflow as tf

path, requests, report_path = sys.argv[1], pickle.load(open(sys.argv[2], "rb")), sys.argv[3]
loaded = tf.saved_model.load(path)
function = loaded.signatures["translate_a2b_png"]


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def call(images):
    outputs = function(image_bytes=tf.constant(images))["png_bytes"].numpy()
    return [list(struct.unpack(">II", png[16:24])) for png in outputs]


report = {"budget": int(loaded.max_request_pixels()), "warm_up": call(requests.pop("warm_up")), "cases": {}}
report["peak_after_warm_up"] = peak_mib()
for name, images in requests.items():
    start = time.perf_counter()
    try:
        sizes, message = call(images), None
    except tf.errors.InvalidArgumentError as error:
        sizes, message = None, error.message
    seconds = time.perf_counter() - start
    report["cases"][name] = {"seconds": seconds, "sizes": sizes, "message": message, "peak": peak_mib()}
json.dump(report, open(report_path, "w"))
"""


@pytest.fixture(scope="module")
def crafted_report(tmp_path_factory):
    """The crafted corpus sent to an exported tiny CycleGAN in a process without kerasgen."""
    import keras

    from kerasgen.cyclegan import CycleGAN
    from kerasgen.export import export_model

    root = tmp_path_factory.mktemp("guard")
    keras.utils.set_random_seed(0)
    folder = export_model(CycleGAN(**TINY_CYCLEGAN), root / "models", "cyclegan")
    requests = corpus()
    full = encoded(np.zeros((1024, 1024), np.uint8), "L")  # 4 x 1024 x 1024 = the default budget exactly
    requests["batch_at_the_budget"] = ([full] * 4, "decoded")
    images = {"warm_up": [small_images()["png"]], **{name: images for name, (images, _) in requests.items()}}
    (root / "requests.pickle").write_bytes(pickle.dumps(images))
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-c", CHECKER, folder, root / "requests.pickle", root / "report.json"]
    result = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, env=environment, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((root / "report.json").read_text())
    print(f"\n{'crafted request':34s} {'bytes':>9s} {'ms':>8s} {'peak MiB':>9s}  outcome")
    for name, case in report["cases"].items():
        outcome = f"decoded {case['sizes']}"[:60] if case["message"] is None else reason(case["message"])[:110]
        size = sum(len(data) for data in requests[name][0])
        print(f"{name:34s} {size:9d} {case['seconds'] * 1000:8.1f} {case['peak']:9.0f}  {outcome}")
    return report, {name: expected for name, (_, expected) in requests.items()}


def reason(message):
    """The line of an InvalidArgumentError's message that says why (an assertion's text, or the decoder's)."""
    if "assertion failed: [" in message:
        return message.split("assertion failed: [", 1)[1].split("]\n", 1)[0]
    lines = [line.split("}}")[-1].strip() for line in message.splitlines()]
    skipped = ("Graph execution error", "Detected at node", "<stack traces", "[[")
    return next((line for line in lines if line and not line.startswith(skipped)), message)


def test_crafted_requests_are_refused_or_decoded_within_the_budget(crafted_report):
    report, expected = crafted_report
    assert report["budget"] == DEFAULT_REQUEST_PIXELS and report["warm_up"] == [[10, 12]]
    for name, outcome in expected.items():
        case = report["cases"][name]
        if outcome == "refused":
            assert case["message"] is not None, f"{name} was decoded: {case['sizes']}"
        if outcome == "decoded":
            assert case["message"] is None, f"{name}: {case['message']}"
        if case["message"] is None:
            assert sum(width * height for width, height in case["sizes"]) <= DEFAULT_REQUEST_PIXELS, name
        assert case["seconds"] < 10, f"{name} took {case['seconds']:.1f} s"


def test_the_peak_memory_barely_grows_over_the_crafted_requests(crafted_report):
    report, _ = crafted_report
    grown = max(case["peak"] for case in report["cases"].values()) - report["peak_after_warm_up"]
    assert grown < MEMORY_GROWTH_MIB, f"the peak resident memory grew by {grown:.0f} MiB"


def test_refusals_name_the_image_and_what_it_would_decode_to(crafted_report):
    cases = crafted_report[0]["cases"]
    budget = f"over the budget of {DEFAULT_REQUEST_PIXELS} pixels per request (max_request_pixels, set at export)"
    messages = {
        "gif_frames_beyond_screen": f"image_bytes[0]: it decodes to 20000x30000 (2 frames) and counts 600000000 "
        f"pixels, {budget}",
        "gif_many_frames": "image_bytes[0]: it decodes to 128x128 (300 frames) and counts 4915200 pixels",
        "gif_many_extensions": f"GIF that takes more than {image_formats.MAX_GIF_STEPS} steps to walk",
        "gif_no_trailer": "Malformed or truncated GIF",
        "gif_unknown_version": "Unknown image file format",
        "png_chunk_before_ihdr": "image_bytes[0]: Invalid PNG: its first chunk is not a 13-byte IHDR",
        "png_huge": "it decodes to 16000x16000 and counts 256000000 pixels",
        "jpeg_small_then_huge_sof": "it decodes to 50000x60000 and counts 3000000000 pixels",
        "jpeg_huge_then_small_sof": "it decodes to 50000x60000 and counts 3000000000 pixels",
        "jpeg_many_scans": f"JPEG of more than {image_formats.MAX_JPEG_SCANS} scans",
        "webp_vp8x_huge_canvas": "it decodes to 16777216x16777216 and counts 281474976710656 pixels",
        "webp_animated": "Animated WebP is not accepted",
        "webp_unknown_first_chunk": "Invalid WebP: its first chunk is not VP8, VP8L or VP8X",
        "bmp_most_negative_height": "it decodes to 4x2147483648 and counts 8589934592 pixels",
        "batch_five_megapixels": "image_bytes[4]: the images of the request count 5000000 pixels up to this one, "
        + budget,
        "batch_bomb_in_the_middle": "image_bytes[1]: it decodes to 20000x30000",
    }
    for name, message in messages.items():
        assert message in (cases[name]["message"] or ""), f"{name}: {cases[name]['message']}"


def test_what_the_guard_passes_decodes_at_the_size_it_measured(crafted_report):
    """GIF: the largest frame width by the largest frame height, not the screen; JPEG: the SOF, not APP1's bytes."""
    cases = crafted_report[0]["cases"]
    assert cases["gif_small_frames_beyond_screen"]["sizes"] == [[40, 30]]
    assert cases["gif_huge_screen_small_frame"]["sizes"] == [[8, 8]]
    assert cases["gif_small_animation"]["sizes"] == [[64, 64]]
    assert cases["jpeg_sof_inside_app1"]["sizes"] == [[10, 12]]
    assert cases["bmp_negative_height"]["sizes"] == [[4, 4]]
    assert cases["batch_small_mixed"]["sizes"] == [[10, 12]] * 36
    assert cases["batch_at_the_budget"]["sizes"] == [[1024, 1024]] * 4


def test_measure_reads_the_size_of_every_format():
    import tensorflow as tf

    measure = tf.function(image_formats.measure, input_signature=[tf.TensorSpec([], tf.string)])
    images = small_images()
    assert {data[12:16] for name, data in images.items() if name.startswith("webp")} == {b"VP8 ", b"VP8L", b"VP8X"}
    for name, data in images.items():
        frames = 3 if name == "gif_animated" else 1
        assert [int(value) for value in measure(data)[:5]] == [0, 10, 12, frames, 120 * frames], name
        assert tf.io.decode_image(data, expand_animations=False).shape[:2] == (12, 10), name
    animation = gif([gif_extension(0xF9, bytes(4)), gif_image(5, 3), gif_image(2, 9, left=7)], screen=(1, 1))
    assert [int(value) for value in measure(animation)] == [0, 5, 9, 2, 45, 4]  # 2 frames, 3 blocks, trailer
    for data in (b"not an image", b"", b"\x89PNG", b"\xff\x0a" + bytes(30), b"GIF87"):
        assert int(measure(data)[0]) == image_formats.UNKNOWN, data


def test_a_request_walks_a_bounded_number_of_gif_steps():
    import tensorflow as tf

    from kerasgen.export.image_guard import checked_image_bytes

    comments = gif([gif_extension(0xFE, b"")] * 57 + [gif_image(4, 4)])  # 59 steps with the trailer
    assert [int(value) for value in image_formats.measure(comments, 59)] == [0, 4, 4, 1, 16, 59]
    assert int(image_formats.measure(comments, 58)[0]) == image_formats.REQUEST_STEPS
    check = tf.function(lambda images: checked_image_bytes(images, DEFAULT_REQUEST_PIXELS, 256, gif_steps=200))
    assert check(tf.constant([comments] * 3)).shape == (3,)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"image_bytes\[3\]: GIF walked past the steps left"):
        check(tf.constant([comments] * 4))
    assert image_formats.REQUEST_GIF_STEPS == 4 * image_formats.MAX_GIF_STEPS


def test_normal_images_translate_as_their_decoded_pixels():
    """A model-size image in each lossless format gives what the uint8 signature gives for its pixels."""
    import keras
    import tensorflow as tf

    from kerasgen.cyclegan import CycleGAN
    from kerasgen.export.signatures import translators

    keras.utils.set_random_seed(0)
    model = CycleGAN(**{**TINY_CYCLEGAN, "image_shape": (16, 16, 3)})
    _, translate_uint8, translate_png = translators(model.generator_a2b, model.image_shape)
    pixels = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    palette = np.asarray(Image.fromarray(pixels).convert("P").convert("RGB"))  # what a GIF keeps
    frames = [Image.fromarray(palette), Image.fromarray(255 - palette)]
    animated = io.BytesIO()
    frames[0].save(animated, format="GIF", save_all=True, append_images=frames[1:], duration=50)
    cases = {
        "png": (pixels, encoded(pixels, "RGB")),
        "bmp": (pixels, encoded(pixels, "RGB", "BMP")),
        "webp_lossless": (pixels, encoded(pixels, "RGB", "WEBP", lossless=True)),
        "gif_animated": (palette, animated.getvalue()),
    }
    outputs = translate_png(tf.constant([data for _, data in cases.values()]))["png_bytes"].numpy()
    for (name, (source, _)), png in zip(cases.items(), outputs, strict=True):
        want = translate_uint8(tf.constant(source[None]))["images"].numpy()[0]
        got = np.asarray(Image.open(io.BytesIO(png)))
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1, name


def test_the_budget_is_read_when_the_signatures_are_built():
    import keras
    import tensorflow as tf

    from kerasgen.cyclegan import CycleGAN
    from kerasgen.export.signatures import translators

    keras.utils.set_random_seed(0)
    model = CycleGAN(**TINY_CYCLEGAN)
    with request_budget(700):
        assert max_request_pixels() == 700
        _, _, translate_png = translators(model.generator_a2b, model.image_shape)
    assert max_request_pixels() == DEFAULT_REQUEST_PIXELS and translate_png.max_request_pixels == 700
    small, over = encoded(np.zeros((12, 10), np.uint8), "L"), encoded(np.zeros((20, 36), np.uint8), "L")
    assert translate_png(tf.constant([small, small]))["png_bytes"].shape == (2,)  # each counts 16 x 16 = 256
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"image_bytes\[1\]: it decodes to 36x20 and counts 720 "):
        translate_png(tf.constant([small, over]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"image_bytes\[2\]: the images of the request count 768 "):
        translate_png(tf.constant([small, small, small]))


@pytest.mark.parametrize("pixels", [0, -1, 1.5, True, "4", 2**40 + 1])
def test_a_budget_that_is_not_a_positive_integer_is_refused(pixels, tmp_path):
    from kerasgen.export import export_model

    with pytest.raises(UserError, match="max_request_pixels must be a positive integer"):
        check_budget(pixels)
    with pytest.raises(UserError, match="max_request_pixels must be a positive integer"):
        export_model(object(), tmp_path, "model", max_request_pixels=pixels)
    assert not any(tmp_path.iterdir())


def test_the_export_command_passes_the_budget_on(monkeypatch, tmp_path):
    from kerasgen import export as exporting
    from kerasgen.cli import cli

    calls = []
    monkeypatch.setattr(exporting, "export", lambda *args, **options: calls.append(options) or tmp_path / "m" / "1")
    monkeypatch.setattr(exporting, "docker_command", lambda path: "docker run ...")
    runner = CliRunner()
    assert runner.invoke(cli, ["export", "runs/cyclegan", "--max-request-pixels", "1000000"]).exit_code == 0
    assert runner.invoke(cli, ["export", "runs/cyclegan"]).exit_code == 0
    assert [call["max_request_pixels"] for call in calls] == [1_000_000, None]
    result = runner.invoke(cli, ["export", "runs/cyclegan", "--max-request-pixels", "0"])
    assert result.exit_code == 2 and "--max-request-pixels" in result.output


# Mutations: a few bytes of a small valid image's structure overwritten, or the image cut short.
SMALL_BUDGET = 4096  # an image the guard passes decodes to at most 4096 pixels: cheap to decode in the test
INTERESTING = [0x00, 0x01, 0x02, 0x10, 0x21, 0x2C, 0x3B, 0x7F, 0x80, 0xC0, 0xC2, 0xD8, 0xD9, 0xDA, 0xFE, 0xFF]


def structure(data):
    """Offsets of the bytes that say how an image is laid out: headers, block and marker starts, and what follows."""
    if data[:2] == b"\xff\xd8":
        starts = [index for index in range(len(data) - 1) if data[index] == 0xFF and data[index + 1] not in (0, 0xFF)]
        return sorted({offset for start in starts for offset in range(start, min(start + 10, len(data)))})
    if data[:3] == b"GIF":
        offsets, position = list(range(13)), 13 + (3 << (data[10] % 8 + 1) if data[10] & 0x80 else 0)
        while position < len(data) and data[position] in (0x21, 0x2C):
            offsets += range(position, min(position + 12, len(data)))
            position += (
                11 + (3 << (data[position + 9] % 8 + 1) if data[position + 9] & 0x80 else 0)
                if data[position] == 0x2C
                else 2
            )
            while position < len(data) and data[position]:
                offsets.append(position)
                position += data[position] + 1
            position += 1
        return [offset for offset in offsets if offset < len(data)]
    return list(range(min(len(data), 64)))


BASES = {
    "png": ["png"],
    "jpeg": ["jpeg", "jpeg_progressive"],
    "gif": ["gif", "gif_animated", "gif_crafted"],
    "bmp": ["bmp"],
    "webp": ["webp", "webp_lossless", "webp_extended"],
}


@pytest.fixture(scope="module")
def guarded():
    """The `*_png` translator of a tiny CycleGAN with a small budget, `measure`, and a bare decode."""
    import keras
    import tensorflow as tf

    from kerasgen.cyclegan import CycleGAN
    from kerasgen.export.signatures import translators

    keras.utils.set_random_seed(0)
    model = CycleGAN(**TINY_CYCLEGAN)
    with request_budget(SMALL_BUDGET):
        _, _, translate_png = translators(model.generator_a2b, model.image_shape)
    scalar = [tf.TensorSpec([], tf.string)]
    decode = tf.function(
        lambda data: tf.shape(tf.io.decode_image(data, 3, expand_animations=False)), input_signature=scalar
    )
    images = {**small_images(), "gif_crafted": gif([gif_extension(0xF9, bytes(4)), gif_image(6, 5), gif_image(3, 9)])}
    return translate_png, tf.function(image_formats.measure, input_signature=scalar), decode, images


@pytest.mark.parametrize("image_format", sorted(BASES))
@settings(max_examples=60, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutated_images_are_refused_or_decoded_within_the_budget(guarded, image_format, data):
    import tensorflow as tf

    translate_png, measure, decode, images = guarded
    original = images[data.draw(st.sampled_from(BASES[image_format]), label="base")]
    offsets = structure(original)
    value = st.one_of(st.integers(0, 255), st.sampled_from(INTERESTING))
    edits = data.draw(st.lists(st.tuples(st.sampled_from(offsets), value), min_size=1, max_size=4), label="edits")
    mutated = bytearray(original)
    for offset, byte in edits:
        mutated[offset] = byte
    cut = data.draw(st.one_of(st.none(), st.integers(0, len(original) - 1)), label="cut")
    mutated = bytes(mutated[:cut])
    status, _, _, _, pixels, _ = (int(value) for value in measure(mutated))
    try:
        outputs = translate_png(tf.constant([mutated]))["png_bytes"].numpy()
    except tf.errors.InvalidArgumentError:
        outputs = None  # refused, by the guard or by the decoder after it
    if outputs is not None:
        width, height = struct.unpack(">II", outputs[0][16:24])
        assert status == image_formats.OK and width * height <= min(pixels, SMALL_BUDGET)
    if status == image_formats.OK and pixels <= SMALL_BUDGET:  # what the guard passes: decode it bare
        try:
            shape = decode(mutated).numpy()
        except tf.errors.InvalidArgumentError:
            return
        assert shape[0] * shape[1] <= pixels, f"the guard counted {pixels} pixels, the decoder allocated {shape}"
