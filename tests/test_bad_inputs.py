"""Bad input: one line, exit 2, nothing lost.

Every mistake a user can make with paths, files, names and option values ends
in one line `Error: ...` that names the problem, exit status 2, and no change
to anything that existed before the run. Valid but unusual images (16-bit,
RGBA, CMYK, palette) are read correctly instead.
"""

import errno
import json
import os
import pathlib
import shutil
import struct
import zlib

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from kerasgen import data, files, zoo
from kerasgen.cli import cli
from kerasgen.errors import UserError

TINY_AE = ["--image-size", "16", "--filters", "4,8", "--hidden-units", "16", "--latent-dim", "3", "--epochs", "1"]


def invoke(*args):
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def assert_one_line_error(result, *fragments):
    """Exit status 2 and a single line `Error: ...` that holds every fragment."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for fragment in fragments:
        assert str(fragment) in lines[0], result.output


def snapshot(folder):
    """Every file below `folder` with its bytes, to prove nothing changed."""
    folder = pathlib.Path(folder)
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def png(width, height, rows=b"", bit_depth=8, color_type=0):
    """A PNG file's bytes, written by hand: Pillow cannot write 16-bit RGB or lie about a size.

    `rows` is the raw scanline data (each row: a filter byte, then the pixels);
    color_type 0 is grey, 2 is RGB.
    """

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def digit(index=0, size=20):
    images, _ = data.load_mnist("test")
    return Image.fromarray(images[index, :, :, 0]).resize((size, size))


@pytest.fixture
def good_folder(tmp_path):
    """A folder of three readable digit images."""
    folder = tmp_path / "good"
    folder.mkdir()
    for index in range(3):
        digit(index).save(folder / f"digit_{index}.png")
    return folder


def truncated(path, suffix):
    """Save a digit as `suffix` and cut the file in half."""
    digit(0, size=64).convert("RGB").save(path.with_suffix(suffix))
    payload = path.with_suffix(suffix).read_bytes()
    path.with_suffix(suffix).write_bytes(payload[: len(payload) // 2])
    return path.with_suffix(suffix)


# ---------------------------------------------------------------- data folders through `kerasgen train`


BOMB = png(9000, 9000, rows=b"\x00" * 100)  # declares 81 megapixels in 100 bytes
HUGE_BOMB = png(30000, 30000, rows=b"\x00" * 100)  # 900 megapixels: beyond Pillow's own limit too


def make_bad_data(kind, tmp_path, good_folder):
    """A data path of the given kind; returns (path, *fragments the error must hold)."""
    if kind == "missing path":
        return tmp_path / "no_such_folder", "does not exist"
    if kind == "a file, not a folder":
        (tmp_path / "images.zip").write_bytes(b"PK")
        return tmp_path / "images.zip", "is not a folder"
    folder = tmp_path / kind.replace(" ", "_")
    folder.mkdir()
    if kind == "empty folder":
        return folder, "No images"
    if kind == "folder with no images":
        (folder / "notes.txt").write_text("not an image")
        (folder / "labels.csv").write_text("a,b\n")
        (folder / "scan.tiff").write_bytes(b"II*\x00")
        (folder / ".hidden.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble resource fork")
        return folder, "No images"
    shutil.copytree(good_folder, folder, dirs_exist_ok=True)
    if kind == "truncated PNG":
        return folder, truncated(folder / "zz_cut", ".png").name
    if kind == "truncated JPEG":
        return folder, truncated(folder / "zz_cut", ".jpg").name
    if kind == "not an image but named .png":
        (folder / "fake.png").write_text("hello")
        return folder, "fake.png"
    if kind == "decompression bomb":
        (folder / "bomb.png").write_bytes(BOMB)
        return folder, "bomb.png", "9000 x 9000 = 81,000,000 pixels", "MAX_IMAGE_PIXELS"
    if kind == "decompression bomb beyond Pillow's own limit":
        (folder / "bomb.png").write_bytes(HUGE_BOMB)
        return folder, "bomb.png", "900,000,000 pixels", "MAX_IMAGE_PIXELS"
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "missing path",
        "a file, not a folder",
        "empty folder",
        "folder with no images",
        "truncated PNG",
        "truncated JPEG",
        "not an image but named .png",
        "decompression bomb",
        "decompression bomb beyond Pillow's own limit",
    ],
)
def test_bad_data_folder_is_one_line_and_writes_nothing(kind, tmp_path, good_folder):
    source, *fragments = make_bad_data(kind, tmp_path, good_folder)
    before = snapshot(tmp_path)
    result = invoke("train", "autoencoder", "--data", source, "--out", tmp_path / "out", *TINY_AE)
    assert_one_line_error(result, *fragments)
    assert snapshot(tmp_path) == before and not (tmp_path / "out").exists()


@pytest.mark.parametrize("bomb", [BOMB, HUGE_BOMB], ids=["81 megapixels", "900 megapixels"])
def test_decompression_bomb_is_refused_by_the_pixel_limit_before_decoding(bomb, tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb)
    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self) or None)
    with pytest.raises(UserError, match=r"bomb\.png.*pixel") as error:
        data.read_image(path)
    assert len(str(error.value).splitlines()) == 1 and not decoded
    assert data.MAX_IMAGE_PIXELS < 9000 * 9000 and "MAX_IMAGE_PIXELS" in str(error.value)


def test_the_pixel_limit_is_the_documented_constant(tmp_path, monkeypatch):
    path = tmp_path / "wide.png"
    digit(0, size=20).save(path)
    assert data.read_image(path).shape == (20, 20, 1)
    monkeypatch.setattr(data, "MAX_IMAGE_PIXELS", 399)
    with pytest.raises(UserError, match="20 x 20"):
        data.read_image(path)


# ---------------------------------------------------------------- unusual but valid images are read correctly


def test_sixteen_bit_grey_png_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257, 1000, 32896, 65535]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    expected = np.round(values / 257).astype(np.uint8)  # [0, 1, 4, 128, 255]
    np.testing.assert_array_equal(data.read_image(tmp_path / "deep.png")[..., 0], expected)
    np.testing.assert_array_equal(
        data.read_image(tmp_path / "deep.png", channels=3), np.repeat(expected[..., None], 3, -1)
    )


def test_sixteen_bit_rgb_png_is_scaled(tmp_path):
    pixels = np.array([[[0, 32896, 65535], [65535, 1000, 0]]], dtype=">u2")
    rows = b"".join(b"\x00" + row.tobytes() for row in pixels)
    (tmp_path / "deep_rgb.png").write_bytes(png(2, 1, rows, bit_depth=16, color_type=2))
    read = data.read_image(tmp_path / "deep_rgb.png", channels=3).astype(int)
    assert read.shape == (1, 2, 3)
    assert np.abs(read - pixels.astype(float) / 257).max() <= 1 and read[0, 0, 2] == 255 and read[0, 0, 0] == 0


def test_rgba_keeps_its_colours_and_drops_alpha(tmp_path):
    rgba = np.array([[[10, 20, 30, 0], [200, 100, 50, 255]]], dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    np.testing.assert_array_equal(data.read_image(tmp_path / "alpha.png", channels=3), rgba[..., :3])
    grey = data.read_image(tmp_path / "alpha.png", channels=1)[0, :, 0]
    np.testing.assert_allclose(grey, rgba[0, :, :3] @ [0.299, 0.587, 0.114], atol=1)


def test_cmyk_jpeg_reads_as_its_rgb_colours(tmp_path):
    Image.new("RGB", (16, 16), (200, 100, 50)).convert("CMYK").save(tmp_path / "print.jpg", quality=95)
    assert Image.open(tmp_path / "print.jpg").mode == "CMYK"
    rgb = data.read_image(tmp_path / "print.jpg", channels=3).reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(rgb, [200, 100, 50], atol=3)
    assert abs(float(data.read_image(tmp_path / "print.jpg").mean()) - (0.299 * 200 + 0.587 * 100 + 0.114 * 50)) < 3


@pytest.mark.parametrize("mode", ["1", "P", "LA", "L"])
def test_other_modes_read_as_grey_and_rgb(mode, tmp_path):
    picture = Image.new("L", (6, 4), 255).convert(mode)
    picture.save(tmp_path / "mode.png")
    assert data.read_image(tmp_path / "mode.png").tolist() == np.full((4, 6, 1), 255).tolist()
    assert data.read_image(tmp_path / "mode.png", channels=3, size=8).shape == (8, 8, 3)


def test_non_image_and_hidden_files_in_a_folder_are_skipped(good_folder):
    (good_folder / "notes.txt").write_text("not an image")
    (good_folder / "scan.tiff").write_bytes(b"II*\x00")
    (good_folder / "Thumbs.db").write_bytes(b"\x00" * 10)
    (good_folder / "._digit_0.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble resource fork")
    (good_folder / ".ipynb_checkpoints").mkdir()
    (good_folder / ".ipynb_checkpoints" / "broken.png").write_text("half")
    digit(5).save(good_folder / "UPPER.PNG")
    names = [path.name for path in data.list_image_files(good_folder)]
    assert names == ["UPPER.PNG", "digit_0.png", "digit_1.png", "digit_2.png"]
    assert data.load_image_folder(good_folder, size=8).shape == (4, 8, 8, 1)


# ---------------------------------------------------------------- CycleGAN layouts


@pytest.mark.parametrize("layout, fragment", [(("trainA", "testA", "testB"), "no trainB/"), (("trainA",), "trainB")])
def test_cyclegan_folder_without_train_b(layout, fragment, tmp_path, good_folder):
    for part in layout:
        shutil.copytree(good_folder, tmp_path / "photos" / part)
    (tmp_path / "photos" / "trainB").mkdir(exist_ok=fragment == "trainB")
    if fragment == "no trainB/":
        shutil.rmtree(tmp_path / "photos" / "trainB")
    before = snapshot(tmp_path)
    result = invoke("train", "cyclegan", "--data", tmp_path / "photos", "--out", tmp_path / "out", "--image-size", "16")
    assert_one_line_error(result, fragment)
    assert snapshot(tmp_path) == before and not (tmp_path / "out").exists()


# ---------------------------------------------------------------- zoo names, tampered weights, unsafe .keras files


@pytest.mark.parametrize(
    "args, suggestion",
    [
        (["sample", "vae.mnsit"], "'vae.mnist'"),
        (["evaluate", "autoencoder.mnst"], "'autoencoder.mnist'"),
        (["export", "cyclegan.digts", "--base", "BASE"], "'cyclegan.digits'"),
        (["translate", "cyclegan.digit", "INPUT"], "'cyclegan.digits'"),
        (["zoo", "info", "clasifier.uci"], "'classifier.uci'"),
    ],
)
def test_unknown_zoo_name_suggests_the_closest(args, suggestion, tmp_path, good_folder, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = [{"BASE": tmp_path / "served", "INPUT": good_folder}.get(arg, arg) for arg in args]
    before = snapshot(tmp_path)
    result = invoke(*args)
    assert_one_line_error(result, "Unknown zoo entry", f"Did you mean {suggestion}")
    assert snapshot(tmp_path) == before


def model_folder(tmp_path, entry="classifier.uci"):
    """A copy of a zoo entry as a model folder: its card with the weights beside it."""
    folder = tmp_path / "model"
    folder.mkdir()
    card = zoo.card(entry)
    shutil.copy(zoo.weights_path(entry), folder / card["weights"]["file"])
    (folder / "card.json").write_text(json.dumps(card))
    return folder, folder / card["weights"]["file"]


def test_tampered_weights_are_refused_by_sha256(tmp_path):
    folder, weights = model_folder(tmp_path)
    payload = bytearray(weights.read_bytes())
    payload[len(payload) // 2] ^= 0xFF
    weights.write_bytes(bytes(payload))
    before = snapshot(tmp_path)
    result = invoke("sample", folder, "-o", tmp_path / "grid.png")
    assert_one_line_error(result, "sha256", weights.name, "not loading it")
    assert snapshot(tmp_path) == before


LAMBDA_MARKER_CODE = "lambda x: (__import__('pathlib').Path({marker!r}).touch(), x)[1]"


def lambda_model_file(path, marker):
    """Save a functional model whose Lambda layer creates `marker` whenever its code runs."""
    import keras

    inputs = keras.Input((32, 32, 1))
    outputs = keras.layers.Lambda(eval(LAMBDA_MARKER_CODE.format(marker=str(marker))))(inputs)
    outputs = keras.layers.Dense(10)(keras.layers.Flatten()(outputs))
    keras.Model(inputs, outputs).save(path)
    assert marker.exists()  # building the model ran the lambda: the marker works
    marker.unlink()
    return path


def test_keras_file_with_a_lambda_is_refused_and_never_run(tmp_path):
    import keras

    import kerasgen

    marker = tmp_path / "lambda_ran"
    path = lambda_model_file(tmp_path / "evil.keras", marker)
    with pytest.raises(UserError, match="Lambda") as error:
        kerasgen.load_model(path)
    assert len(str(error.value).splitlines()) == 1 and "evil.keras" in str(error.value)
    # even when the user turned safe mode off globally, kerasgen.load_model keeps it on
    from keras.src.backend.common import global_state

    previous = global_state.get_global_attribute("safe_mode_saving")
    keras.config.enable_unsafe_deserialization()
    try:
        with pytest.raises(UserError, match="Lambda"):
            kerasgen.load_model(path)
    finally:
        global_state.set_global_attribute("safe_mode_saving", previous)
    assert not marker.exists()


def test_keras_file_as_a_model_folders_weights_is_never_run(tmp_path):
    """A card whose weights file is a `.keras` with a Lambda (its sha256 matching) loads no code."""
    folder, weights = model_folder(tmp_path)
    marker = tmp_path / "lambda_ran"
    evil = lambda_model_file(folder / "model.keras", marker)
    weights.unlink()
    card = json.loads((folder / "card.json").read_text())
    card["weights"] = {"file": "model.keras", "sha256": zoo.sha256(evil), "url": None}
    (folder / "card.json").write_text(json.dumps(card))
    before = snapshot(tmp_path)
    result = invoke("sample", folder, "-o", tmp_path / "grid.png")
    assert_one_line_error(result, "model.keras")
    assert not marker.exists() and snapshot(tmp_path) == before


def test_load_model_of_a_missing_file(tmp_path):
    import kerasgen

    with pytest.raises(UserError, match="does not exist"):
        kerasgen.load_model(tmp_path / "nothing.keras")


# ---------------------------------------------------------------- option values


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["train", "vae", "--epochs", "-1"], "--epochs"),
        (["train", "vae", "--epochs", "0"], "--epochs"),
        (["train", "autoencoder", "--batch-size", "0"], "--batch-size"),
        (["train", "gan", "--learning-rate", "0"], "--learning-rate"),
        (["train", "vae", "--image-size", "2"], "--image-size"),
        (["train", "vae", "--image-size", "30"], "divisible by 4"),
        (["train", "autoencoder", "--image-size", "30", "--filters", "4,8,16"], "divisible by 8"),
        (["train", "gan", "--image-size", "30"], "divisible by 4"),
        (["train", "cyclegan", "--image-size", "30"], "divisible by 4"),
        (["train", "cyclegan", "--generator", "unet", "--image-size", "30"], "divisible by 4"),
        (["train", "cyclegan", "--batch-size", "0"], "--batch-size"),
        (["train", "cyclegan", "--steps-per-epoch", "0"], "--steps-per-epoch"),
        (["train", "cyclegan", "--epochs", "-3"], "--epochs"),
        (["train", "gan", "--label-smoothing", "1"], "--label-smoothing"),
        (["train", "vae", "--hidden-units", "0"], "--hidden-units"),
        (["train", "autoencoder", *TINY_AE, "--max-shift", "16"], "--max-shift must be less than the image size (16)"),
        (["sample", "vae.mnist", "-n", "0"], "--count"),
        (["evaluate", "vae.mnist", "--samples", "0"], "--samples"),
        (["export", "vae.mnist", "--version", "0"], "--version"),
    ],
)
def test_option_out_of_range_is_one_line_before_anything_starts(args, fragment, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if args[0] == "train":
        args = [*args, "--out", tmp_path / "out"]
    result = invoke(*args)
    assert_one_line_error(result, fragment)
    assert not any(tmp_path.iterdir())


# ---------------------------------------------------------------- output paths


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["train", "autoencoder", "--out", "FILE", *TINY_AE], "is a file"),
        (["train", "autoencoder", "--out", "FILE/model", *TINY_AE], "Cannot write to output folder"),
        (["train", "cyclegan", "--out", "FILE", "--image-size", "16", "--steps-per-epoch", "1"], "is a file"),
        (["translate", "cyclegan.digits", "IMAGES", "-o", "FILE"], "is a file"),
        (["export", "classifier.uci", "--base", "FILE"], "is a file"),
        (["sample", "vae2d.mnist", "-o", "FOLDER"], "is a directory"),
        (["export", "--serving-config", "FOLDER", "--base", "FOLDER"], "is a directory"),
    ],
)
def test_output_path_of_the_wrong_kind_is_untouched(args, fragment, tmp_path, good_folder):
    (tmp_path / "taken").write_text("keep me")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "kept.txt").write_text("keep me too")
    names = {"FILE": tmp_path / "taken", "FILE/model": tmp_path / "taken" / "model", "FOLDER": tmp_path / "folder"}
    args = [names.get(arg, good_folder if arg == "IMAGES" else arg) for arg in args]
    before = snapshot(tmp_path)
    result = invoke(*args)
    assert_one_line_error(result, fragment)
    assert snapshot(tmp_path) == before


def test_failed_run_leaves_an_existing_model_alone(tmp_path, good_folder):
    folder = tmp_path / "model"
    folder.mkdir()
    for name, content in (("card.json", "{}"), ("model.weights.h5", "old weights"), ("samples.png", "old grid")):
        (folder / name).write_text(content)
    truncated(good_folder / "zz_cut", ".png")
    before = snapshot(tmp_path)
    result = invoke("train", "autoencoder", "--out", folder, *TINY_AE)
    assert_one_line_error(result, "already holds a trained model", "--overwrite")
    result = invoke("train", "autoencoder", "--data", good_folder, "--out", folder, "--overwrite", *TINY_AE)
    assert_one_line_error(result, "zz_cut.png")
    assert snapshot(tmp_path) == before


def test_translate_reads_every_input_before_writing_any(tmp_path, good_folder):
    out = tmp_path / "translated"
    out.mkdir()
    (out / "digit_0.png").write_bytes(b"an earlier translation")
    truncated(good_folder / "zz_cut", ".jpg")
    before = snapshot(tmp_path)
    result = invoke("translate", "cyclegan.digits", good_folder, "-o", out)
    assert_one_line_error(result, "Cannot read image", "zz_cut.jpg")
    assert snapshot(tmp_path) == before


# ---------------------------------------------------------------- no space left on device


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_write_atomically_without_space_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "card.json"
    target.write_text("old card")
    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(UserError, match="No space left on device") as error:
        files.write_atomically(target, "new card")
    assert len(str(error.value).splitlines()) == 1 and "card.json" in str(error.value)
    assert target.read_text() == "old card" and [path.name for path in tmp_path.iterdir()] == ["card.json"]


def test_sample_without_space_keeps_the_old_grid(tmp_path, monkeypatch):
    target = tmp_path / "grid.png"
    target.write_bytes(b"old grid")
    monkeypatch.setattr(os, "fsync", no_space)
    result = invoke("sample", "vae2d.mnist", "-n", "4", "-o", target)
    assert_one_line_error(result, "grid.png", "No space left on device")
    assert target.read_bytes() == b"old grid" and [path.name for path in tmp_path.iterdir()] == ["grid.png"]


def test_saving_weights_without_space_keeps_the_old_weights(tmp_path):
    import keras

    from kerasgen.training import save_weights_atomically

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    target = tmp_path / "model.weights.h5"
    target.write_bytes(b"old weights")

    def save_weights_then_fill_the_disk(path):
        pathlib.Path(path).write_bytes(b"half of the new")
        no_space()

    model.save_weights = save_weights_then_fill_the_disk
    with pytest.raises(UserError, match="No space left on device"):
        save_weights_atomically(model, target)
    assert target.read_bytes() == b"old weights" and [path.name for path in tmp_path.iterdir()] == [target.name]


def test_saving_weights_without_space_is_a_one_line_user_error(tmp_path):
    import keras

    from kerasgen.training import save_weights_atomically

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.save_weights = no_space
    with pytest.raises(UserError, match="model.weights.h5.*No space left on device"):
        save_weights_atomically(model, tmp_path / "model.weights.h5")


def test_export_without_space_keeps_the_old_version(tmp_path, monkeypatch):
    from kerasgen.export import savedmodel

    version = tmp_path / "served" / "classifier.uci" / "1"
    version.mkdir(parents=True)
    (version / "saved_model.pb").write_bytes(b"old version")
    before = snapshot(tmp_path)

    def save_then_fill_the_disk(module, path, signatures):
        (pathlib.Path(path) / "saved_model.pb").write_bytes(b"half")
        no_space()

    monkeypatch.setattr(savedmodel, "_save", save_then_fill_the_disk)
    result = invoke("export", "classifier.uci", "--base", tmp_path / "served", "--version", "1", "--overwrite")
    assert_one_line_error(result, "No space left on device")
    assert snapshot(tmp_path) == before and os.listdir(version.parent) == ["1"]


def test_export_turns_tensorflows_disk_full_error_into_one_line(tmp_path, monkeypatch):
    import tensorflow as tf

    def full_disk(*args, **kwargs):
        raise tf.errors.ResourceExhaustedError(
            None,
            None,
            "{{function_node SaveV2}} /s/variables_temp/part-0.tempstate1; No space left on device [Op:SaveV2]",
        )

    monkeypatch.setattr(tf.saved_model, "save", full_disk)
    result = invoke("export", "classifier.uci", "--base", tmp_path / "served")
    assert_one_line_error(result, "Cannot write", "No space left on device; anything already there is unchanged.")
    assert not [path for path in tmp_path.rglob("*") if path.is_file()]


def test_a_multiline_write_error_becomes_its_one_line_reason():
    h5py_style = OSError(
        "Can't synchronously write data (file write failed: time = Sat Dec  5 10:54:26 2026\n"
        ", filename = '.model.weights.h5.x.weights.h5', errno = 28, error message = 'No space left on device')"
    )
    assert files.cannot_write("m.weights.h5", h5py_style) == (
        "Cannot write 'm.weights.h5': No space left on device; anything already there is unchanged."
    )
    assert "\n" not in files.cannot_write("x", OSError("first line\nsecond line"))


def test_overwrite_that_cannot_write_its_weights_keeps_the_old_model_whole(tmp_path, good_folder, monkeypatch):
    import keras

    folder = tmp_path / "ae"
    assert invoke("train", "autoencoder", "--data", good_folder, "--out", folder, *TINY_AE).exit_code == 0
    before = snapshot(folder)

    def save_half_then_fill_the_disk(self, path, *args, **kwargs):
        pathlib.Path(path).write_bytes(b"half of the new")
        no_space()

    monkeypatch.setattr(keras.Model, "save_weights", save_half_then_fill_the_disk)
    result = invoke(
        "train", "autoencoder", "--data", good_folder, "--out", folder, "--overwrite", "--seed", "1", *TINY_AE
    )
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines()[-1] == "Error: " + files.cannot_write(
        folder / "model.weights.h5", OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    )
    after = snapshot(folder)
    for name in ("card.json", "model.weights.h5", "samples.png"):
        assert after[name] == before[name], name
    monkeypatch.undo()
    assert type(zoo.load(folder)).__name__ == "AutoEncoder"


# ---------------------------------------------------------------- checkpoints, sample and translate mistakes


@pytest.mark.parametrize(
    "content, fragment",
    [(b"", "is empty"), (np.array([object()], dtype=object), "not a kerasgen checkpoint"), (b"PK\x03\x04junk", "")],
    ids=["empty", "pickled objects", "broken zip"],
)
def test_unreadable_checkpoint_is_one_line(content, fragment, tmp_path, good_folder):
    folder = tmp_path / "ae"
    folder.mkdir()
    if isinstance(content, bytes):
        (folder / "checkpoint.npz").write_bytes(content)
    else:
        with open(folder / "checkpoint.npz", "wb") as stream:
            np.save(stream, content, allow_pickle=True)
    result = invoke("train", "autoencoder", "--data", good_folder, "--out", folder, *TINY_AE)
    assert_one_line_error(result, "checkpoint.npz", fragment, "--overwrite")
    assert "allow_pickle" not in result.output


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["sample", "classifier.uci", "--manifold", "-n", "4"], "--manifold is for VAEs"),
        (["sample", "vae2d.mnist", "--manifold", "-n", "65"], "at most 64"),
        (["sample", "vae2d.mnist", "-o", ""], "must not be empty"),
        (["translate", "cyclegan.digits", "IMAGES", "-o", " "], "must not be empty"),
        (["train", "autoencoder", "--out", "", *TINY_AE], "must not be empty"),
        (["export", "classifier.uci", "--base", ""], "must not be empty"),
    ],
)
def test_sample_translate_and_output_mistakes_are_one_line(args, fragment, tmp_path, good_folder, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    result = invoke(*[good_folder if arg == "IMAGES" else arg for arg in args])
    assert_one_line_error(result, fragment)
    assert snapshot(tmp_path) == before and sorted(os.listdir(tmp_path)) == ["good"]


def test_translate_refuses_two_inputs_bound_for_one_file(tmp_path, good_folder):
    shutil.copy(good_folder / "digit_0.png", tmp_path / "digit_0.png")
    result = invoke(
        "translate", "cyclegan.digits", tmp_path / "digit_0.png", good_folder / "digit_0.png", "-o", tmp_path / "out"
    )
    assert_one_line_error(result, "would both be written to", "digit_0.png")
    Image.open(good_folder / "digit_0.png").convert("L").save(good_folder / "digit_0.jpg")
    result = invoke("translate", "cyclegan.digits", good_folder, "-o", tmp_path / "out")
    assert_one_line_error(result, "digit_0.jpg", "digit_0.png", "would both be written to")
    assert not (tmp_path / "out").exists()


def test_translate_never_writes_over_an_input(tmp_path, good_folder):
    before = snapshot(good_folder)
    result = invoke("translate", "cyclegan.digits", good_folder, "-o", good_folder)
    assert_one_line_error(result, "would be written over the input", "choose another --output")
    assert snapshot(good_folder) == before


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda card: card["weights"].update(file=None), "weights.file (str)"),
        (lambda card: card["data"].pop("image_size"), "data.image_size (int)"),
        (lambda card: card.update(config=[]), "config (dict)"),
        (lambda card: card["data"].update(image_size=True), "data.image_size (int)"),
    ],
    ids=["weights file null", "no image size", "config a list", "image size a bool"],
)
def test_a_damaged_card_is_one_line_for_every_command(edit, fragment, tmp_path):
    folder, _ = model_folder(tmp_path)
    card = json.loads((folder / "card.json").read_text())
    edit(card)
    (folder / "card.json").write_text(json.dumps(card))
    before = snapshot(tmp_path)
    for args in (["sample", folder, "-o", tmp_path / "grid.png"], ["export", folder, "--base", tmp_path / "served"]):
        assert_one_line_error(invoke(*args), "is not a complete card", fragment)
    assert_one_line_error(invoke("evaluate", folder), "is not a complete card", fragment)
    assert snapshot(tmp_path) == before


def test_test_images_on_a_classifier_of_both_digit_domains_is_refused():
    result = invoke("evaluate", "classifier.digits", "--test-images", "100")
    assert_one_line_error(result, "--test-images does not apply to a classifier of both digit domains")


@pytest.mark.parametrize(
    "payload, fragment",
    [
        (b"", "is damaged: it cannot be read"),
        (b"\x89HDF\r\n\x1a\n truncated", "is damaged: it cannot be read"),
        ("dcgan.mnist", "the card and the weights belong to different models"),
    ],
    ids=["empty", "truncated hdf5", "another model's"],
)
def test_weights_the_card_vouches_for_that_keras_cannot_use_are_one_line(payload, fragment, tmp_path, recwarn):
    folder, weights = model_folder(tmp_path, "vae.mnist")  # a GAN's weights in a VAE: Keras warns, then raises
    if isinstance(payload, str):
        shutil.copy(zoo.weights_path(payload), weights)
    else:
        weights.write_bytes(payload)
    card = json.loads((folder / "card.json").read_text())
    card["weights"]["sha256"] = zoo.sha256(weights)
    (folder / "card.json").write_text(json.dumps(card))
    result = invoke("sample", folder, "-o", tmp_path / "grid.png")
    assert_one_line_error(result, str(weights), fragment)
    assert not (tmp_path / "grid.png").exists()
    assert [str(warning.message) for warning in recwarn if "Skipping" in str(warning.message)] == []
