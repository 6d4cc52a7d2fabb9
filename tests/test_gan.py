import keras
import numpy as np
import pytest
from conftest import assert_close

from kerasgen import gan_losses
from kerasgen.gan import GAN

TINY = {"image_shape": (16, 16, 1), "latent_dim": 4, "generator_filters": (8, 4), "discriminator_filters": (4, 8)}


def compiled(**options):
    keras.utils.set_random_seed(0)
    model = GAN(**{**TINY, **options})
    model.compile()
    return model


@pytest.mark.parametrize("loss", gan_losses.LOSSES)
def test_one_fit_step_per_loss(loss, batch16):
    model = compiled(loss=loss)
    history = model.fit(batch16, batch_size=8, epochs=1, verbose=0).history
    assert {"d_loss", "g_loss", "d_real_accuracy", "d_fake_accuracy"} <= set(history)
    assert all(np.isfinite(values[-1]) for values in history.values())
    assert model.d_optimizer.iterations.numpy() == model.g_optimizer.iterations.numpy() == 1


def test_d_steps_makes_k_discriminator_updates_per_generator_update(batch16):
    model = compiled(d_steps=3)
    model.fit(batch16, batch_size=4, epochs=1, verbose=0)
    assert model.g_optimizer.iterations.numpy() == 2
    assert model.d_optimizer.iterations.numpy() == 6


def test_gradient_penalty_is_computed_on_interpolates_and_non_zero(batch16):
    model = compiled(loss="wasserstein")
    real = batch16 * 2 - 1
    fake = np.asarray(model.generator(np.random.default_rng(0).normal(size=(8, 4)).astype("float32")))
    penalty = float(model._penalty(real, fake, None))
    assert penalty > 0
    logs = model.fit(batch16, batch_size=8, epochs=1, verbose=0).history
    assert logs["gradient_penalty"][-1] > 0
    assert compiled().fit(batch16, batch_size=8, epochs=1, verbose=0).history["gradient_penalty"][-1] == 0


def test_losses_match_their_definitions():
    real, fake = np.array([2.0, -1.0]), np.array([0.5, -3.0])
    softplus = lambda x: np.log1p(np.exp(x))  # noqa: E731
    assert float(gan_losses.discriminator_loss("non_saturating", real, fake)) == pytest.approx(
        np.mean(softplus(-real)) + np.mean(softplus(fake)), rel=1e-6
    )
    assert float(gan_losses.generator_loss("minimax", fake)) == pytest.approx(-np.mean(softplus(fake)), rel=1e-6)
    assert float(gan_losses.generator_loss("non_saturating", fake)) == pytest.approx(np.mean(softplus(-fake)), rel=1e-6)
    assert float(gan_losses.discriminator_loss("hinge", real, fake)) == pytest.approx((0 + 2.0) / 2 + (1.5 + 0) / 2)
    assert float(gan_losses.discriminator_loss("wasserstein", real, fake)) == pytest.approx(-1.25 - 0.5)
    smoothed = float(gan_losses.discriminator_loss("least_squares", real, fake, real_target=0.9))
    assert smoothed == pytest.approx(0.5 * np.mean((real - 0.9) ** 2) + 0.5 * np.mean(fake**2))


def test_ema_weights_differ_from_raw_weights_after_training(batch16):
    model = compiled(ema_decay=0.9)
    assert_close(model.ema_generator.weights[0], model.generator.weights[0])
    model.fit(batch16, batch_size=4, epochs=2, verbose=0)
    assert not np.allclose(model.ema_generator.weights[0], model.generator.weights[0])
    assert_close(model.generate(3, seed=1), (model.ema_generator(keras.random.normal((3, 4), seed=1)) + 1) / 2)


def test_conditional_generation_respects_labels_shapes(batch16):
    model = compiled(num_classes=10)
    model.fit(batch16, np.arange(8) % 10, batch_size=8, epochs=1, verbose=0)
    images = model.generate(5, labels=[1, 2, 3, 4, 5], seed=0)
    assert images.shape == (5, 16, 16, 1)
    assert not np.allclose(images, model.generate(5, labels=[5, 4, 3, 2, 1], seed=0))
    with pytest.raises(ValueError, match="labels"):
        model.generate(5, labels=[1, 2])
    with pytest.raises(ValueError, match="labels"):
        model.fit(batch16, batch_size=8, epochs=1, verbose=0)


def test_generation_is_seeded_in_range_and_interpolates():
    model = compiled()
    first = np.asarray(model.generate(4, seed=3))
    assert_close(first, model.generate(4, seed=3))
    assert 0 <= first.min() and first.max() <= 1 and first.shape == (4, 16, 16, 1)
    strip = np.asarray(model.interpolate(steps=5, seed=0))
    assert strip.shape == (5, 16, 16, 1)


def test_config_round_trip_keras_file_and_both_optimizers_survive(batch16, tmp_path):
    import kerasgen

    model = compiled(loss="hinge", d_steps=2, ema_decay=0.5, label_smoothing=0.1)
    model.fit(batch16, batch_size=8, epochs=1, verbose=0)
    config = model.get_config()
    assert GAN.from_config(config).get_config() == config
    model.save_weights(tmp_path / "gan.weights.h5")
    restored = GAN.from_config(config)
    restored.compile()
    restored.load_weights(tmp_path / "gan.weights.h5")
    assert restored.d_optimizer.iterations.numpy() == 2 and restored.g_optimizer.iterations.numpy() == 1
    assert_close(restored.generate(3, seed=0), model.generate(3, seed=0))
    model.save(tmp_path / "gan.keras")
    reloaded = kerasgen.load_model(tmp_path / "gan.keras")
    assert reloaded.d_optimizer.iterations.numpy() == 2 and reloaded.g_optimizer.iterations.numpy() == 1
    assert float(reloaded.d_optimizer.learning_rate) == pytest.approx(2e-4)
    assert_close(reloaded.generate(3, seed=0), model.generate(3, seed=0))


@pytest.mark.parametrize(
    "options, message",
    [
        ({"loss": "wgan"}, "loss"),
        ({"d_steps": 0}, "d_steps"),
        ({"label_smoothing": 1.0}, "label_smoothing"),
        ({"image_shape": (18, 18, 1)}, "divisible"),
    ],
)
def test_bad_hyperparameters(options, message):
    with pytest.raises(ValueError, match=message):
        GAN(**{**TINY, **options})


def test_compile_can_choose_the_loss(batch16):
    keras.utils.set_random_seed(0)
    model = GAN(**TINY)
    model.compile(loss="hinge")
    assert model.adversarial_loss == "hinge" and model.get_config()["loss"] == "hinge"
    with pytest.raises(ValueError, match="loss must be one of"):
        model.compile(loss="bogus")
