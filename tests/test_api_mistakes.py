"""Python API mistakes: arguments that used to train, draw or load something wrong without a word."""

import keras
import numpy as np
import pytest

import kerasgen
from kerasgen import data
from kerasgen.errors import UserError

TINY_GAN = {"image_shape": (16, 16, 1), "latent_dim": 4, "generator_filters": (8, 4), "discriminator_filters": (4, 8)}


@pytest.fixture(scope="module")
def cgan():
    from kerasgen.gan import GAN

    return GAN(**TINY_GAN, num_classes=3)


@pytest.mark.parametrize(
    "images, fragment",
    [
        (np.zeros((4, 16, 16, 1), np.uint8), "got uint8"),
        (np.full((4, 16, 16, 1), 255.0, np.float32), "span [255, 255]"),
        (np.full((4, 16, 16, 1), np.nan, np.float32), "span [nan, nan]"),
    ],
    ids=["uint8", "0-255 floats", "NaN"],
)
def test_fit_refuses_images_outside_the_unit_range(images, fragment):
    from kerasgen.autoencoder import AutoEncoder

    model = AutoEncoder(image_shape=(16, 16, 1), filters=(4,), hidden_units=(8,), latent_dim=2)
    model.compile_for_recipe({"learning_rate": 1e-3})
    weights = [np.array(weight) for weight in model.get_weights()]
    with pytest.raises(UserError, match=r"fit takes images") as error:
        model.fit(images, epochs=1, verbose=0)
    assert fragment in str(error.value) and "\n" not in str(error.value)
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights(), strict=True))
    history = model.fit(np.full((4, 16, 16, 1), 0.5, np.float32), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_the_pipelines_refuse_images_that_are_not_uint8():
    floats = np.full((4, 16, 16, 1), 0.5, np.float32)
    for call in (
        lambda: data.make_dataset(floats, 2),
        lambda: data.make_unpaired_dataset(floats, floats, 2),
        lambda: data.to_unit_range(floats),
    ):
        with pytest.raises(UserError, match="must be uint8 .*got float32"):
            call()
    digits = np.zeros((5, 16, 16, 1), np.uint8)
    with pytest.raises(UserError, match="start_step at least 0"):
        data.make_dataset(digits, 2, epochs=1, start_step=-1)
    with pytest.raises(UserError, match="epochs must be at least 1"):
        data.make_dataset(digits, 2, epochs=0)


@pytest.mark.parametrize(
    "labels, fragment",
    [([-1], r"whole numbers in \[0, 3\)"), ([1.5], "whole numbers"), ([3], r"\[0, 3\)"), ([0, 1], r"shape \(1,\)")],
)
def test_generate_refuses_labels_it_would_wrap_or_truncate(cgan, labels, fragment):
    with pytest.raises(ValueError, match=fragment):
        cgan.generate(1, labels=labels, seed=0)
    with pytest.raises(ValueError, match="whole numbers"):
        cgan.interpolate(steps=2, label=5)
    assert np.array_equal(
        np.asarray(cgan.generate(2, labels=[2.0, 1], seed=0)), np.asarray(cgan.generate(2, labels=[2, 1], seed=0))
    )


def test_generate_refuses_a_bad_count_and_labels_without_classes():
    from kerasgen.gan import GAN

    gan = GAN(**TINY_GAN)
    for count in (-1, 2.0, True):
        with pytest.raises(ValueError, match="count must be a non-negative integer"):
            gan.generate(count)
    with pytest.raises(ValueError, match="labels are for a conditional GAN"):
        gan.generate(2, labels=[1, 2])
    assert gan.generate(0).shape == (0, 16, 16, 1)


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"latent_dim": 0}, "latent_dim must be an integer of at least 1"),
        ({"latent_dim": 2.5}, "latent_dim"),
        ({"gradient_penalty": -1.0}, "gradient_penalty must be at least 0"),
        ({"image_shape": (16, 16)}, "image_shape must be"),
        ({"generator_filters": ()}, "generator_filters non-empty"),
    ],
)
def test_gan_refuses_networks_it_cannot_build(change, fragment):
    from kerasgen.gan import GAN

    with pytest.raises(ValueError, match=fragment):
        GAN(**{**TINY_GAN, **change})


def test_translate_refuses_a_batch_size_that_is_not_positive():
    from kerasgen.cyclegan import CycleGAN

    model = CycleGAN(image_shape=(16, 16, 1), generator_filters=4, residual_blocks=1, discriminator_filters=4)
    for batch_size in (0, -1, 2.5):
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            model.translate(np.zeros((3, 16, 16, 1), np.float32), batch_size=batch_size)


def test_load_model_refuses_a_keras_file_with_non_finite_weights(tmp_path):
    from kerasgen.classifier import Classifier

    model = Classifier(image_shape=(16, 16, 1), filters=(4,), feature_units=8)
    model.save(tmp_path / "good.keras")
    assert type(kerasgen.load_model(tmp_path / "good.keras")).__name__ == "Classifier"
    model.weights[0].assign(np.full(model.weights[0].shape, np.nan, np.float32))
    model.save(tmp_path / "nan.keras")
    with pytest.raises(UserError, match="not finite .*not loading them"):
        kerasgen.load_model(tmp_path / "nan.keras")
    assert keras.ops.all(keras.ops.isnan(model.weights[0]))
