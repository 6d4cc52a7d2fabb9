import keras
import numpy as np
import pytest
from conftest import assert_close, tiny_config

from kerasgen.autoencoder import AutoEncoder
from kerasgen.vae import VAE, Sampling

CASES = [
    (AutoEncoder, "dense", {"reconstruction_loss": "binary_crossentropy"}),
    (AutoEncoder, "conv", {"reconstruction_loss": "squared_error"}),
    (VAE, "dense", {"beta": 1.0}),
    (VAE, "conv", {"beta": 4.0}),
]
IDS = ["ae-dense-bce", "ae-conv-squared-error", "vae-dense", "vae-conv-beta4"]


def make(model_class, architecture, extra):
    keras.utils.set_random_seed(0)
    model = model_class(**tiny_config(architecture), **extra)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    return model


@pytest.mark.parametrize("model_class, architecture, extra", CASES, ids=IDS)
def test_one_fit_step_reports_finite_metrics(model_class, architecture, extra, batch16):
    model = make(model_class, architecture, extra)
    history = model.fit(batch16, batch_size=8, epochs=1, verbose=0).history
    expected = {"loss", "squared_error"} if model_class is AutoEncoder else {"loss", "reconstruction_loss", "kl_loss"}
    assert set(history) == expected
    assert all(np.isfinite(values[-1]) for values in history.values())
    assert model.optimizer.iterations.numpy() == 1


@pytest.mark.parametrize("model_class, architecture, extra", CASES, ids=IDS)
def test_loss_falls_on_a_fixed_batch(model_class, architecture, extra, batch16):
    model = make(model_class, architecture, extra)
    before = model.evaluate(batch16, batch_size=8, verbose=0, return_dict=True)["loss"]
    model.fit(batch16, batch_size=8, epochs=25, verbose=0, shuffle=False)
    after = model.evaluate(batch16, batch_size=8, verbose=0, return_dict=True)["loss"]
    assert after < 0.9 * before


@pytest.mark.parametrize("model_class, architecture, extra", CASES, ids=IDS)
def test_config_round_trip_and_keras_file_reload(model_class, architecture, extra, batch16, tmp_path):
    model = make(model_class, architecture, extra)
    model.fit(batch16, batch_size=8, epochs=1, verbose=0)
    config = model.get_config()
    clone = model_class.from_config(config)
    assert clone.get_config() == config
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.models.load_model(path, safe_mode=True)
    assert type(reloaded) is model_class
    assert reloaded.optimizer.iterations.numpy() == model.optimizer.iterations.numpy() == 1
    assert_close(reloaded.optimizer.variables[-1], model.optimizer.variables[-1])
    assert_close(reloaded.predict(batch16, verbose=0), model.predict(batch16, verbose=0))
    assert_close(
        np.concatenate(reloaded.encode(batch16), axis=-1) if model_class is VAE else reloaded.encode(batch16),
        np.concatenate(model.encode(batch16), axis=-1) if model_class is VAE else model.encode(batch16),
    )


def test_autoencoder_api_shapes_and_range(batch16):
    model = make(AutoEncoder, "conv", {})
    codes = model.encode(batch16)
    assert codes.shape == (8, 3)
    images = model.decode(codes)
    assert images.shape == (8, 16, 16, 1)
    assert 0 <= float(np.min(images)) and float(np.max(images)) <= 1
    assert_close(model.reconstruct(batch16), images)


def test_autoencoder_squared_error_is_summed_per_image(batch16):
    model = make(AutoEncoder, "dense", {"reconstruction_loss": "squared_error"})
    reported = model.evaluate(batch16, batch_size=8, verbose=0, return_dict=True)
    expected = np.mean(np.sum((batch16 - model.predict(batch16, verbose=0)) ** 2, axis=(1, 2, 3)))
    assert reported["squared_error"] == pytest.approx(expected, rel=1e-4)
    assert reported["loss"] == pytest.approx(expected, rel=1e-4)


def test_vae_api_and_seeded_samples(batch16):
    model = make(VAE, "conv", {})
    mean, log_var = model.encode(batch16)
    assert mean.shape == log_var.shape == (8, 3)
    assert model.decode(mean).shape == (8, 16, 16, 1)
    assert_close(model.sample(4, seed=7), model.sample(4, seed=7))
    assert not np.allclose(model.sample(4, seed=7), model.sample(4, seed=8))
    assert_close(model.reconstruct(batch16), model.decode(mean))


def test_vae_loss_is_reconstruction_plus_beta_kl(batch16):
    model = make(VAE, "dense", {"beta": 3.0})
    logs = model.evaluate(batch16, batch_size=8, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(logs["reconstruction_loss"] + 3.0 * logs["kl_loss"], rel=1e-4)
    assert logs["kl_loss"] > 0


def test_kl_to_unit_gaussian_known_values():
    from kerasgen.vae import kl_to_unit_gaussian

    assert float(kl_to_unit_gaussian(np.ones((1, 2), np.float32), np.zeros((1, 2), np.float32))[0]) == pytest.approx(
        1.0
    )
    variance = 4.0
    expected = 0.5 * (variance - 1 - np.log(variance))
    log_var = np.full((1, 1), np.log(variance), np.float32)
    assert float(kl_to_unit_gaussian(np.zeros((1, 1), np.float32), log_var)[0]) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("model_class", [AutoEncoder, VAE])
def test_fit_accepts_image_label_pairs(model_class, batch16):
    model = make(model_class, "dense", {})
    history = model.fit(batch16, np.zeros(len(batch16)), batch_size=8, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][-1])


def test_keras_file_loads_in_a_fresh_process(batch16, tmp_path):
    import subprocess
    import sys

    model = make(VAE, "conv", {})
    model.save(tmp_path / "vae.keras")
    np.save(tmp_path / "batch.npy", batch16)
    np.save(tmp_path / "expected.npy", model.predict(batch16, verbose=0))
    script = (
        "import numpy as np, kerasgen\n"
        "model = kerasgen.load_model('vae.keras')\n"
        "out = model.predict(np.load('batch.npy'), verbose=0)\n"
        "print(type(model).__name__, float(np.abs(out - np.load('expected.npy')).max()))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    name, difference = result.stdout.split()
    assert name == "VAE" and float(difference) < 1e-6


def test_sampling_layer_reparameterizes():
    layer = Sampling(seed=1)
    mean = np.full((20000, 2), 3.0, np.float32)
    log_var = np.full((20000, 2), np.log(4.0), np.float32)
    z = np.asarray(layer([mean, log_var]))
    assert z.mean() == pytest.approx(3.0, abs=0.05)
    assert z.std() == pytest.approx(2.0, abs=0.05)
    assert Sampling.from_config(layer.get_config()).seed == 1


@pytest.mark.parametrize(
    "model_class, kwargs, message",
    [
        (AutoEncoder, {"reconstruction_loss": "l1"}, "reconstruction_loss"),
        (AutoEncoder, {"latent_dim": 0}, "latent_dim"),
        (AutoEncoder, {"architecture": "transformer"}, "architecture"),
        (AutoEncoder, {"architecture": "conv", "image_shape": (30, 30, 1)}, "divisible by 4"),
        (VAE, {"beta": -1.0}, "beta"),
    ],
)
def test_bad_hyperparameters_raise_value_error(model_class, kwargs, message):
    with pytest.raises(ValueError, match=message):
        model_class(**kwargs)


@pytest.mark.parametrize("family", ["gan", "cyclegan"])
def test_a_model_with_its_own_optimizers_saves_uncompiled_and_compiled(family, tmp_path):
    import kerasgen
    from kerasgen.cyclegan import CycleGAN
    from kerasgen.gan import GAN

    if family == "gan":
        model = GAN(image_shape=(16, 16, 1), latent_dim=4, generator_filters=(8, 4), discriminator_filters=(4, 8))
    else:
        model = CycleGAN(image_shape=(16, 16, 1), generator_filters=4, residual_blocks=1, discriminator_filters=4)
    images = np.random.default_rng(0).random((2, 16, 16, 1), dtype=np.float32)
    inputs = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32) if family == "gan" else images
    model.save(tmp_path / "uncompiled.keras")  # before the fix: AttributeError, no d_optimizer
    reloaded = kerasgen.load_model(tmp_path / "uncompiled.keras")
    assert_close(reloaded(inputs), model(inputs))
    model.compile()
    model.save(tmp_path / "compiled.keras")
    reloaded = kerasgen.load_model(tmp_path / "compiled.keras")
    assert reloaded.own_optimizers and all(getattr(reloaded, name).built for name in reloaded.own_optimizers)
