import hashlib
import io
import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import mnist_cut_to
from PIL import Image

from kerasgen import data
from kerasgen.data import mnistm, sources
from kerasgen.errors import UserError

TINY_CYCLEGAN = "--image-size 16 --generator-filters 4 --residual-blocks 1 --discriminator-filters 4 "
TINY_CYCLEGAN += "--steps-per-epoch 2 --epochs 1 --batch-size 2"


@pytest.fixture(scope="module")
def mnistm_home(tmp_path_factory):
    """A `$KERASGEN_HOME` holding the MNIST-M cache, built once for this module (a few seconds)."""
    home = tmp_path_factory.mktemp("kerasgen_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KERASGEN_HOME", str(home))
        mnistm.mnistm_images()
        yield home


def file_sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_two_fresh_caches_are_built_to_the_recorded_digest(tmp_path, monkeypatch):
    for home in (tmp_path / "first", tmp_path / "second"):
        monkeypatch.setenv("KERASGEN_HOME", str(home))
        assert mnistm.mnistm_images().shape == (70000, 32, 32, 3)
        assert file_sha256(home / mnistm.MNISTM_FILE) == mnistm.MNISTM_SHA256
        assert [path.name for path in home.iterdir()] == [mnistm.MNISTM_FILE]


def test_mnistm_has_mnists_splits_and_labels_in_colour(mnistm_home):
    sizes = {"train": 55000, "validation": 5000, "test": 10000, "all": 70000}
    for split, size in sizes.items():
        images, labels = data.load_images("mnistm", split, size=32, channels=3)
        assert images.shape == (size, 32, 32, 3) and images.dtype == np.uint8
        np.testing.assert_array_equal(labels, data.load_mnist(split)[1])
    everything = mnistm.mnistm_images()
    np.testing.assert_array_equal(data.load_images("mnistm", "test", 32, 3)[0], everything[60000:])
    assert not everything.flags.writeable
    assert (everything[..., 0] != everything[..., 1]).mean() > 0.5  # colour, not grey
    grey, _ = data.load_images("mnistm", "test", size=16, channels=1)
    assert grey.shape == (10000, 16, 16, 1)


def test_each_digit_is_blended_over_its_patch_as_computed_by_hand(mnistm_home):
    photos = mnistm.read_photos()
    photo_index, tops, lefts = mnistm.draw_patches(70000, [photo.shape for photo in photos])
    assert set(np.unique(photo_index)) == set(range(len(mnistm.PHOTOS)))
    chosen = [0, 1, 12345, 59999, 60000, 69999]
    digits = data.load_images("mnist", "all", size=32)[0][chosen, :, :, 0]  # MNIST at 32 px, as domain A has it
    everything = mnistm.mnistm_images()
    for index, digit in zip(chosen, digits, strict=True):
        photo, top, left = photos[photo_index[index]], tops[index], lefts[index]
        for row, column in [(0, 0), (16, 16), (31, 31), (10, 20)]:
            for channel in range(3):
                expected = abs(int(photo[top + row, left + column, channel]) - int(digit[row, column]))
                assert everything[index, row, column, channel] == expected
        background = digit == 0
        np.testing.assert_array_equal(
            everything[index][background], photo[top : top + 32, left : left + 32][background]
        )


def small_build(monkeypatch, home):
    """A 4-image stand-in for the build, its digest recorded; returns the list of builds made."""
    images = np.arange(4 * 32 * 32 * 3, dtype=np.uint64).reshape(4, 32, 32, 3).astype(np.uint8)
    encoded = io.BytesIO()
    np.save(encoded, images)
    builds = []
    monkeypatch.setenv("KERASGEN_HOME", str(home))
    monkeypatch.setattr(mnistm, "build_mnistm", lambda: builds.append(1) or images.copy())
    monkeypatch.setattr(mnistm, "MNISTM_SHA256", hashlib.sha256(encoded.getvalue()).hexdigest())
    return builds


def test_a_corrupted_cache_is_rebuilt_once(tmp_path, monkeypatch):
    builds = small_build(monkeypatch, tmp_path)
    first = mnistm.mnistm_images()
    assert len(builds) == 1 and file_sha256(mnistm.cache_path()) == mnistm.MNISTM_SHA256
    np.testing.assert_array_equal(mnistm.mnistm_images(), first)
    assert len(builds) == 1  # read, not rebuilt
    mnistm.cache_path().write_bytes(b"corrupted")
    np.testing.assert_array_equal(mnistm.mnistm_images(), first)
    assert len(builds) == 2 and file_sha256(mnistm.cache_path()) == mnistm.MNISTM_SHA256


def test_a_build_that_misses_the_digest_is_one_line_and_leaves_no_cache(tmp_path, monkeypatch):
    builds = small_build(monkeypatch, tmp_path)
    mnistm.cache_path().parent.mkdir(parents=True, exist_ok=True)
    mnistm.cache_path().write_bytes(b"corrupted")
    monkeypatch.setattr(mnistm, "MNISTM_SHA256", "0" * 64)
    with pytest.raises(UserError, match="not MNISTM_SHA256") as error:
        mnistm.load_mnistm("test")
    assert len(builds) == 1 and len(str(error.value).splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_build_leaves_no_cache(tmp_path, monkeypatch):
    small_build(monkeypatch, tmp_path)

    def half_then_interrupted(stream, images):
        stream.write(images.tobytes()[: images.nbytes // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "save", half_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        mnistm.mnistm_images()
    assert list(tmp_path.iterdir()) == []


def test_photographs_are_checked_against_their_digests(monkeypatch):
    assert [photo.shape[2] for photo in mnistm.read_photos()] == [3] * len(mnistm.PHOTOS)
    assert set(mnistm.PHOTOS) == set(mnistm.PHOTO_LICENSES)
    monkeypatch.setitem(mnistm.PHOTOS, "chelsea.png", "0" * 64)
    with pytest.raises(UserError, match="chelsea.png") as error:
        mnistm.read_photos()
    assert len(str(error.value).splitlines()) == 1


def test_unpaired_mnist_mnistm_gives_two_colour_domains_of_the_same_digits(mnistm_home):
    (mnist, mnist_labels), (colour, colour_labels) = data.load_unpaired("mnist-mnistm", "test", 16, 3, True)
    assert mnist.shape == colour.shape == (10000, 16, 16, 3)
    np.testing.assert_array_equal(mnist_labels, colour_labels)
    assert (mnist[..., 0] == mnist[..., 2]).all() and not (colour[..., 0] == colour[..., 2]).all()
    train_a, train_b = data.load_unpaired("mnist-mnistm", "train", 32, 3)
    assert len(train_a) == len(train_b) == 55000
    recipe = {"data": "mnist-mnistm", "image_size": 16, "channels": None, "augment": None, "batch_size": 2}
    source = data.UnpairedData(recipe)
    assert (recipe["channels"], recipe["augment"], source.image_shape) == (3, False, (16, 16, 3))
    card = {"class": "CycleGAN", "data": {"dataset": "mnist-mnistm", "image_size": 16, "channels": 3}}
    validation, labels = data.card_split(card, "validation", with_labels=True)
    assert validation.shape == (10000, 16, 16, 3) and validation.max() <= 1.0
    np.testing.assert_array_equal(labels, np.tile(data.load_mnist("validation")[1], 2))
    test, _ = data.card_test_split(card, test_images=100)
    assert test.shape == (100, 16, 16, 3)
    for name in ("mnistm", "mnist-mnistm"):
        assert "scikit-image's photographs" in data.DATA_LICENSES[name] and "CC BY-SA 3.0" in data.DATA_LICENSES[name]
    assert sources.has_test_split("mnistm") and sources.has_test_split("mnist-mnistm")


@pytest.fixture(scope="module")
def mnistm_cyclegan(mnistm_home, tmp_path_factory):
    """A tiny CycleGAN trained on `mnist-mnistm` (every split cut to 64 digits), not exported; evaluated without
    the domain-adaptation figures (their nine classifiers: `tests/test_adaptation.py`)."""
    from kerasgen.cli import cli
    from kerasgen.cyclegan import adaptation

    out = tmp_path_factory.mktemp("mnistm_cyclegan") / "out"
    arguments = ["train", "cyclegan", "--data", "mnist-mnistm", "--out", str(out), "--no-export"]
    with mnist_cut_to(64), pytest.MonkeyPatch.context() as patch:
        patch.setattr(adaptation, "adaptation_figures", lambda *args, **kwargs: {})
        result = CliRunner().invoke(cli, arguments + TINY_CYCLEGAN.split(), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        evaluated = CliRunner().invoke(cli, ["evaluate", str(out)], catch_exceptions=False)
    return out, json.loads(evaluated.stdout)


@pytest.fixture(scope="module")
def mnistm_pngs(mnistm_home, tmp_path_factory):
    """Three MNIST-M test digits as RGB PNG files."""
    folder = tmp_path_factory.mktemp("mnistm_pngs")
    for index, image in enumerate(data.load_images("mnistm", "test", 32, 3)[0][:3]):
        Image.fromarray(image).save(folder / f"mnistm_{index}.png")
    return folder


def test_a_cyclegan_on_mnist_mnistm_keeps_colour_in_samples_and_translations(mnistm_cyclegan, mnistm_pngs, tmp_path):
    from kerasgen.cli import cli

    out, figures = mnistm_cyclegan
    assert figures["test_images"] == {"a": 64, "b": 64} and 0 < figures["a2b_cycle_error"] < 1
    card = json.loads((out / "card.json").read_text())
    assert card["config"]["image_shape"] == [16, 16, 3] and card["data"]["channels"] == 3
    assert card["data"]["augmentation"] == "none" and card["data"]["license"] == data.DATA_LICENSES["mnist-mnistm"]
    assert card["data"]["domains"] == data.DOMAINS["mnist-mnistm"]
    with Image.open(out / "samples.png") as samples:
        assert samples.mode == "RGB" and not is_grey(np.asarray(samples))
    result = CliRunner().invoke(
        cli, ["translate", str(out), str(mnistm_pngs), "--direction", "b2a", "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    for index in range(3):
        with Image.open(tmp_path / f"mnistm_{index}.png") as translated:
            assert translated.mode == "RGB" and translated.size == (32, 32) and not is_grey(np.asarray(translated))


@pytest.mark.slow
def test_the_exported_png_endpoint_of_a_mnist_mnistm_cyclegan_answers_in_colour(mnistm_cyclegan, mnistm_pngs, tmp_path):
    import tensorflow as tf

    from kerasgen.cli import cli

    result = CliRunner().invoke(cli, ["export", str(mnistm_cyclegan[0]), "--base", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (saved_model,) = tmp_path.glob("*/1/saved_model.pb")
    translate_png = tf.saved_model.load(str(saved_model.parent)).signatures["translate_b2a_png"]
    answer = translate_png(image_bytes=tf.constant([(mnistm_pngs / "mnistm_0.png").read_bytes()]))["png_bytes"]
    with Image.open(io.BytesIO(answer.numpy()[0])) as served:
        assert served.mode == "RGB" and served.size == (32, 32) and not is_grey(np.asarray(served))


def test_missing_scikit_image_is_one_line_and_exit_2(tmp_path, monkeypatch):
    from kerasgen.cli import cli

    monkeypatch.setitem(sys.modules, "skimage", None)  # `import skimage` now fails, as if not installed
    monkeypatch.setenv("KERASGEN_HOME", str(tmp_path / "home"))
    with pytest.raises(UserError, match=r"kerasgen\[mnistm\]"):
        data.load_images("mnistm", "test", 32, 3)
    arguments = ["train", "cyclegan", "--data", "mnist-mnistm", "--out", str(tmp_path / "out"), "--no-export"]
    with mnist_cut_to(64):
        result = CliRunner().invoke(cli, arguments + TINY_CYCLEGAN.split())
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [
        f"Error: MNIST-M needs scikit-image's photographs, and scikit-image is not installed: {mnistm.INSTALL}"
    ]
    assert not (tmp_path / "home" / mnistm.MNISTM_FILE).exists()


def is_grey(image):
    return bool((image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all())
