"""The GAN options from the papers after DCGAN, each against a hand computation: spectral normalization, R1,
two time-scale learning rates and the minibatch standard-deviation feature."""

import keras
import numpy as np
import pytest
from conftest import assert_close
from test_gan import TINY, compiled

from kerasgen.gan import GAN
from kerasgen.networks import MinibatchStandardDeviation, build_dcgan_discriminator


def real_batch(count=8):
    return np.random.default_rng(0).random((count, 16, 16, 1), dtype=np.float32)


def test_new_options_default_off_and_round_trip():
    model = GAN(**TINY)
    config = model.get_config()
    assert (config["spectral_norm"], config["r1_gamma"], config["minibatch_std"]) == (False, 0.0, False)
    chosen = GAN(**TINY, spectral_norm=True, r1_gamma=2.0, minibatch_std=True).get_config()
    assert GAN.from_config(chosen).get_config() == chosen
    assert not any(isinstance(layer, keras.layers.SpectralNormalization) for layer in model.discriminator.layers)


def test_spectral_norm_brings_every_kernel_to_spectral_norm_one():
    keras.utils.set_random_seed(0)
    discriminator = build_dcgan_discriminator((16, 16, 1), (4, 8), 0, spectral_norm=True)
    wrapped = [layer for layer in discriminator.layers if isinstance(layer, keras.layers.SpectralNormalization)]
    assert len(wrapped) == 3  # two convolutions and the output layer
    for layer in wrapped:
        layer.kernel.assign(layer.kernel * 7.0)  # far from norm 1
    images = real_batch()
    for _ in range(60):  # one power iteration per training call; they converge to the top singular vectors
        discriminator(images, training=True)
    for layer in wrapped:
        kernel = np.asarray(layer.kernel).reshape(-1, layer.kernel.shape[-1])
        assert np.linalg.svd(kernel, compute_uv=False)[0] == pytest.approx(1.0, abs=1e-3)


def test_r1_penalty_of_a_linear_discriminator_is_its_squared_weight_norm():
    model = compiled(r1_gamma=10.0, discriminator_filters=())  # no convolution: D(x) = w . x + b
    kernel = np.asarray(model.discriminator.layers[-1].kernel)
    real = real_batch() * 2 - 1
    assert float(model.r1_penalty(real)) == pytest.approx(float(np.sum(kernel**2)), rel=1e-5)


def test_r1_enters_the_discriminator_loss_with_gamma_over_two():
    model = compiled(r1_gamma=4.0)
    real = keras.ops.convert_to_tensor(real_batch() * 2 - 1)
    penalty = float(model.r1_penalty(real))
    assert penalty > 0
    plain_logs = compiled()._discriminator_step(real, None, 8)  # same seed: the same networks and noise
    logs = model._discriminator_step(real, None, 8)
    assert float(logs["r1_penalty"]) == pytest.approx(penalty, rel=1e-4)
    assert float(logs["d_loss"]) == pytest.approx(float(plain_logs["d_loss"]) + 4.0 / 2 * penalty, rel=1e-4)
    history = compiled(r1_gamma=4.0).fit(real_batch(), batch_size=8, epochs=1, verbose=0).history
    assert (
        history["r1_penalty"][-1] > 0
        and "r1_penalty" not in compiled().fit(real_batch(), batch_size=8, epochs=1, verbose=0).history
    )


def test_r1_penalty_reaches_the_discriminator_weights():
    """The penalty's gradient flows into the discriminator: the same step with a huge gamma moves it differently."""
    moved = []
    for gamma in (0.0, 1000.0):
        model = compiled(r1_gamma=gamma)
        before = [np.asarray(weight) for weight in model.discriminator.trainable_weights]
        model._discriminator_step(keras.ops.convert_to_tensor(real_batch() * 2 - 1), None, 8)
        moved.append(
            [
                np.asarray(weight) - old
                for weight, old in zip(model.discriminator.trainable_weights, before, strict=True)
            ]
        )
    assert any(not np.allclose(a, b) for a, b in zip(*moved, strict=True))


def test_ttur_gives_the_discriminator_its_own_learning_rate():
    model = GAN(**TINY)
    settings = model.compile_for_recipe({"learning_rate": 1e-4, "d_learning_rate": 4e-4})
    assert float(model.d_optimizer.learning_rate) == pytest.approx(4e-4)
    assert float(model.g_optimizer.learning_rate) == pytest.approx(1e-4)
    assert settings["learning_rate"] == pytest.approx(1e-4) and settings["d_learning_rate"] == pytest.approx(4e-4)
    plain = GAN(**TINY)
    plain.compile_for_recipe({"learning_rate": None})
    assert float(plain.d_optimizer.learning_rate) == float(plain.g_optimizer.learning_rate) == pytest.approx(2e-4)


def test_ttur_first_adam_step_moves_each_network_by_its_own_rate():
    """Adam's first step moves every weight with a non-zero gradient by about its learning rate (m / sqrt(v) = +-1)."""
    keras.utils.set_random_seed(0)
    model = GAN(**TINY, ema_decay=0.0)
    model.compile_for_recipe({"learning_rate": 1e-4, "d_learning_rate": 4e-4})
    networks = {"d": model.discriminator, "g": model.generator}
    before = {name: [np.asarray(w) for w in net.trainable_weights] for name, net in networks.items()}
    model.fit(real_batch(), batch_size=8, epochs=1, verbose=0)
    for name, rate in (("d", 4e-4), ("g", 1e-4)):
        steps = np.concatenate(
            [
                np.abs(np.asarray(w) - old).ravel()
                for w, old in zip(networks[name].trainable_weights, before[name], strict=True)
            ]
        )
        moved = steps[steps > 0]
        assert np.median(moved) == pytest.approx(rate, rel=0.05)


def test_minibatch_std_matches_a_hand_computation():
    features = np.random.default_rng(0).normal(size=(6, 3, 3, 5)).astype("float32")
    output = np.asarray(MinibatchStandardDeviation()(features))
    expected = np.mean(np.sqrt(np.var(features, axis=0) + 1e-8))
    assert output.shape == (6, 3, 3, 6)
    assert_close(output[..., :5], features)
    np.testing.assert_allclose(output[..., 5], np.full((6, 3, 3), expected), rtol=1e-5)
    identical = np.repeat(features[:1], 6, axis=0)
    assert float(np.asarray(MinibatchStandardDeviation()(identical))[0, 0, 0, 5]) == pytest.approx(1e-4, abs=1e-5)


def test_minibatch_std_feature_sits_before_the_discriminator_output():
    discriminator = build_dcgan_discriminator((16, 16, 1), (4, 8), 0, minibatch_std=True)
    layer = next(layer for layer in discriminator.layers if isinstance(layer, MinibatchStandardDeviation))
    assert layer.output.shape == (None, 4, 4, 9)
    assert discriminator.output_shape == (None, 1)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_all_options_train_conditionally_with_and_without_xla(jit_compile):
    keras.utils.set_random_seed(0)
    model = GAN(**TINY, num_classes=10, spectral_norm=True, r1_gamma=1.0, minibatch_std=True)
    model.compile_for_recipe({"learning_rate": 1e-4, "d_learning_rate": 4e-4}, jit_compile=jit_compile)
    history = model.fit(real_batch(16), np.arange(16) % 10, batch_size=8, epochs=1, verbose=0).history
    assert all(np.isfinite(values[-1]) for values in history.values())
    assert history["r1_penalty"][-1] > 0


def test_bad_r1_gamma_is_refused():
    with pytest.raises(ValueError, match="r1_gamma"):
        GAN(**TINY, r1_gamma=-1.0)


def test_a_run_checkpointed_before_the_options_existed_resumes_while_they_keep_their_defaults():
    from kerasgen.training.run import without_new_defaults

    model = GAN(**TINY)
    stored = {"config": {"latent_dim": 4}, "recipe": {"epochs": 2}}
    current = {"config": {"latent_dim": 4, "spectral_norm": False, "r1_gamma": 0.0}, "recipe": {"epochs": 2}}
    current["recipe"]["d_learning_rate"] = None
    assert without_new_defaults(current, stored, model) == stored
    current["config"]["r1_gamma"] = 1.0
    assert without_new_defaults(current, stored, model)["config"] == {"latent_dim": 4, "r1_gamma": 1.0}
