"""Every family under the `mixed_bfloat16` and `mixed_float16` dtype policies.

Variables stay float32, inner layers compute in the low dtype, outputs and
losses are float32; under `mixed_float16` every optimizer is a
`LossScaleOptimizer` and its loss-scale state is part of the checkpoint.
"""

import json

import keras
import numpy as np
import pytest
from conftest import tiny_config

from kerasgen import data, training
from kerasgen.optimizers import shared_loss_scale

TINY_GAN = {"image_shape": (16, 16, 1), "latent_dim": 4, "generator_filters": (8, 4), "discriminator_filters": (4, 8)}
TINY_CYCLEGAN = {
    "image_shape": (16, 16, 1),
    "generator_filters": 4,
    "residual_blocks": 0,
    "discriminator_filters": 4,
    "pool_size": 3,
    "seed": 0,
}
LOW_DTYPE = {"mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}


@pytest.fixture
def policy(request):
    """Sets the global dtype policy named by the test's parameter; always puts back float32."""
    keras.mixed_precision.set_global_policy(request.param)
    keras.utils.set_random_seed(0)
    try:
        yield request.param
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.fixture
def float32_afterwards():
    """For tests whose code sets the global policy itself: puts back float32."""
    yield
    keras.mixed_precision.set_global_policy("float32")


def inner_layers(network):
    """Every layer of a (nested) functional or sequential network."""
    for layer in network.layers:
        yield from inner_layers(layer) if isinstance(layer, keras.Model) else [layer]


def check_dtypes(model, networks, policy, outputs):
    """Float variables are float32, weighted inner layers compute in the low dtype, outputs are float32."""
    assert model.dtype_policy.name == policy
    assert {variable.dtype for variable in model.variables if "float" in variable.dtype} == {"float32"}
    for network in networks:
        computing = {layer.compute_dtype for layer in inner_layers(network) if layer.weights}
        assert LOW_DTYPE[policy] in computing, network.name
        assert network.layers[-1].compute_dtype == "float32", network.name
    for output in outputs:
        assert output.dtype == "float32"


def fit_once(model, *arrays):
    """One step on a batch of 8; returns the last logs, all of which must be finite."""
    logs = model.fit(*arrays, batch_size=8, epochs=1, verbose=0).history
    logs = {key: values[-1] for key, values in logs.items()}
    assert logs and all(np.isfinite(value) for value in logs.values()), logs
    return logs


def check_loss_scaling(optimizers, policy):
    for optimizer in optimizers:
        wrapped = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        assert wrapped == (policy == "mixed_float16")
        if wrapped:
            paths = {variable.path.split("/")[-1] for variable in optimizer.variables}
            assert {"dynamic_scale", "step_counter"} <= paths
            assert all(
                any(variable is inner for inner in optimizer.variables)
                for variable in optimizer.inner_optimizer.variables
            )


def check_steps(optimizers, steps):
    """Each optimizer made `steps` updates or, with loss scaling, skipped some and halved its scale as often."""
    for optimizer in optimizers:
        skipped = 0
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            skipped = round(np.log2(optimizer.initial_scale / float(optimizer.dynamic_scale)))
        assert int(optimizer.iterations) + skipped == steps


@pytest.mark.parametrize("policy", ["mixed_bfloat16"], indirect=True)
def test_autoencoder_and_vae(policy, batch16):
    from kerasgen.autoencoder import AutoEncoder
    from kerasgen.vae import VAE

    for model in (AutoEncoder(**tiny_config("dense")), VAE(**tiny_config("conv"), seed=0)):
        model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False)
        fit_once(model, batch16)
        outputs = [model(batch16), model.decode(np.zeros((2, 3), "float32"))]
        outputs += list(model.encode(batch16)) if isinstance(model, VAE) else [model.encode(batch16)]
        check_dtypes(model, (model.encoder, model.decoder), policy, outputs)
        check_loss_scaling([model.optimizer], policy)


@pytest.mark.parametrize("policy", ["mixed_bfloat16"], indirect=True)
def test_classifier(policy, batch16):
    from kerasgen.classifier import Classifier

    model = Classifier(image_shape=(16, 16, 1), filters=(4,), feature_units=8)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=False)
    fit_once(model, batch16, np.arange(8) % 10)
    probabilities = model(batch16)
    np.testing.assert_allclose(np.sum(probabilities, axis=-1), 1.0, atol=1e-5)
    check_dtypes(model, (), policy, [probabilities, model.features(batch16)])
    assert {layer.compute_dtype for layer in model.feature_network.layers} == {"bfloat16"}
    assert model.output_layer.compute_dtype == "float32"
    check_loss_scaling([model.optimizer], policy)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"], indirect=True)
def test_conditional_wgan_gp_with_ema(policy, batch16):
    from kerasgen.gan import GAN

    gan = GAN(num_classes=10, loss="wasserstein", d_steps=1, ema_decay=0.9, seed=0, **TINY_GAN)
    gan.compile(jit_compile=False)
    logs = fit_once(gan, batch16, np.arange(8) % 10)
    assert logs["gradient_penalty"] > 0
    images = gan.generate(4, seed=0)
    assert float(np.min(images)) >= 0 and float(np.max(images)) <= 1
    scores = gan.discriminator([batch16, np.arange(8) % 10])
    check_dtypes(gan, (gan.generator, gan.ema_generator, gan.discriminator), policy, [images, scores])
    check_loss_scaling([gan.d_optimizer, gan.g_optimizer], policy)
    check_steps([gan.d_optimizer, gan.g_optimizer], 1)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"], indirect=True)
def test_cyclegan_with_image_pools(policy, batch16):
    from kerasgen.cyclegan import CycleGAN

    # Without the identity loss under bfloat16, to keep the test short (tracing dominates).
    model = CycleGAN(**TINY_CYCLEGAN, lambda_identity=0.5 if policy == "mixed_float16" else 0.0)
    model.compile(jit_compile=False)
    fit_once(model, batch16, batch16[::-1].copy())
    assert int(model.pool_a.filled) == 3 and model.pool_a.stored.dtype == "float32"
    assert model.pool_a.compute_dtype == "float32" and np.isfinite(np.asarray(model.pool_a.stored)).all()
    translated = model.translate(batch16, "b2a")
    networks = (model.generator_a2b, model.generator_b2a, model.discriminator_a, model.discriminator_b)
    scores = model.discriminator_a(batch16)
    check_dtypes(model, networks, policy, [model(batch16), translated, scores])
    optimizers = (model.g_a2b_optimizer, model.g_b2a_optimizer, model.d_a_optimizer, model.d_b_optimizer)
    check_loss_scaling(optimizers, policy)
    check_steps(optimizers, 1)
    if policy == "mixed_float16":
        model.g_a2b_optimizer.dynamic_scale.assign(4096.0)
        model.g_b2a_optimizer.dynamic_scale.assign(1024.0)
        scaled, factors = shared_loss_scale((model.g_a2b_optimizer, model.g_b2a_optimizer), keras.ops.ones(()))
        assert float(scaled) == 1024.0 and [float(factor) for factor in factors] == [4.0, 1.0]


def test_gan_optimizers_are_left_alone_under_float32():
    from kerasgen.gan import GAN

    gan = GAN(**TINY_GAN)
    gan.compile()
    check_loss_scaling([gan.d_optimizer, gan.g_optimizer], "float32")
    assert gan.generator.layers[-2].compute_dtype == "float32"


@pytest.mark.parametrize("policy", ["mixed_float16"], indirect=True)
def test_checkpoint_restores_the_loss_scale_state_exactly(policy, tmp_path):
    from kerasgen.gan import GAN

    gan = GAN(**TINY_GAN)
    gan.compile_for_recipe({"learning_rate": 1e-3}, jit_compile=False)
    for optimizer, scale, counter, iterations in ((gan.d_optimizer, 256.0, 7, 40), (gan.g_optimizer, 512.0, 3, 41)):
        optimizer.dynamic_scale.assign(scale)
        optimizer.step_counter.assign(counter)
        optimizer.iterations.assign(iterations)
        optimizer.inner_optimizer.variables[-1].assign(np.full(optimizer.inner_optimizer.variables[-1].shape, 0.5))
    training.save_training_state(gan, tmp_path / "checkpoint.npz", {"step": 41})
    restored = GAN(**TINY_GAN)
    restored.compile_for_recipe({"learning_rate": 1e-3}, jit_compile=False)
    assert training.restore_training_state(restored, tmp_path / "checkpoint.npz") == {"step": 41}
    saved, loaded = training.state_variables(gan), training.state_variables(restored)
    assert saved.keys() == loaded.keys() and any(key.startswith("g_optimizer/") for key in saved)
    for key, variable in saved.items():
        np.testing.assert_array_equal(np.asarray(loaded[key]), np.asarray(variable), err_msg=key)
    assert float(restored.g_optimizer.dynamic_scale) == 512.0 and int(restored.d_optimizer.step_counter) == 7
    assert int(restored.g_optimizer.iterations) == 41


def test_a_mixed_precision_run_writes_a_card_and_a_loadable_model(tmp_path, monkeypatch, float32_afterwards):
    import kerasgen.zoo

    load_images = data.sources.load_images
    monkeypatch.setattr(
        data.sources, "load_images", lambda *args, **kwargs: tuple(a[:32] for a in load_images(*args, **kwargs))
    )
    options = {
        "data": "uci",
        "epochs": 1,
        "batch_size": 16,
        "image_size": 16,
        "verbose": 0,
        "jit_compile": False,
    }
    folder = training.train("vae", tmp_path / "vae", mixed_precision=True, **options, **tiny_config())
    card = json.loads((folder / "card.json").read_text())
    assert (
        card["training"]["precision"] == training.precision_policy(True) == keras.mixed_precision.global_policy().name
    )
    assert all(np.isfinite(value) for value in card["training"]["final_logs"].values())
    keras.mixed_precision.set_global_policy("float32")
    model = kerasgen.zoo.load(folder)
    images = model.sample(4, seed=0)
    assert images.dtype == "float32" and np.isfinite(np.asarray(images)).all()


@pytest.mark.parametrize("policy", ["mixed_bfloat16"], indirect=True)
def test_keras_file_round_trip_keeps_float32_outputs(policy, batch16, tmp_path):
    from kerasgen.gan import GAN

    gan = GAN(num_classes=10, ema_decay=0.9, **TINY_GAN)
    gan.compile()
    gan.save(tmp_path / "gan.keras")
    loaded = keras.saving.load_model(tmp_path / "gan.keras")
    latents, labels = np.ones((2, 4), "float32"), np.array([3, 5], "int32")
    expected, received = gan([latents, labels]), loaded([latents, labels])
    assert received.dtype == "float32" and loaded.generator.layers[-1].compute_dtype == "float32"
    np.testing.assert_array_equal(np.asarray(received), np.asarray(expected))
