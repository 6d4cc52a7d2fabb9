import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import assert_close
from PIL import Image

from kerasgen import data, networks
from kerasgen.cyclegan import LOSSES, ConstantThenLinearDecay, CycleGAN, ImagePool, linear_decay_schedule
from kerasgen.errors import UserError
from kerasgen.networks import in_one_call

TINY = {
    "image_shape": (16, 16, 1),
    "generator_filters": 4,
    "residual_blocks": 1,
    "discriminator_filters": 4,
    "pool_size": 3,
    "seed": 0,
}
TRACKERS = {"g_loss", "g_a2b_loss", "g_b2a_loss", "cycle_loss", "identity_loss", "d_a_loss", "d_b_loss"}


def compiled(run_eagerly=True, **options):
    keras.utils.set_random_seed(0)
    model = CycleGAN(**{**TINY, **options})
    model.compile(run_eagerly=run_eagerly)
    return model


@pytest.fixture(scope="module")
def digits16():
    """Held-out UCI (A) and MNIST (B) digits at 16x16, uint8."""
    return data.load_unpaired("digits", "test", size=16)


@pytest.fixture
def pair(digits16):
    """One batch of 2 images per domain, in [0, 1]."""
    images_a, images_b = digits16
    return data.to_unit_range(images_a[:2]), data.to_unit_range(images_b[:2])


def constant_images(values, side=2):
    """One image per value, every pixel equal to it, so a pool's outputs can be told apart."""
    return np.tile(np.asarray(values, np.float32)[:, None, None, None], (1, side, side, 1))


def test_one_compiled_fit_step_reports_finite_trackers(digits16):
    model = compiled(run_eagerly=False)
    dataset = data.make_unpaired_dataset(*digits16, batch_size=2, steps_per_epoch=1)
    history = model.fit(dataset, epochs=1, verbose=0).history
    assert set(history) == TRACKERS
    assert all(np.isfinite(values[-1]) for values in history.values())
    for optimizer, _ in model._optimized_networks():
        assert optimizer.iterations.numpy() == 1
    assert model.pool_a.filled.numpy() == model.pool_b.filled.numpy() == 2


@pytest.mark.parametrize("lambda_identity", [0.0, 0.5])
def test_losses_follow_the_paper_and_identity_switches_off(pair, lambda_identity):
    model = compiled(lambda_identity=lambda_identity)
    images_a, images_b = pair
    real_a, real_b = images_a * 2 - 1, images_b * 2 - 1
    fake_b, fake_a = np.asarray(model.generator_a2b(real_a)), np.asarray(model.generator_b2a(real_b))
    scores_fake_b = np.asarray(model.discriminator_b(fake_b))
    scores_real_b = np.asarray(model.discriminator_b(real_b))
    cycle = np.abs(np.asarray(model.generator_b2a(fake_b)) - real_a).mean()
    cycle += np.abs(np.asarray(model.generator_a2b(fake_a)) - real_b).mean()
    identity = np.abs(np.asarray(model.generator_a2b(real_b)) - real_b).mean()
    identity += np.abs(np.asarray(model.generator_b2a(real_a)) - real_a).mean()
    logs = {name: float(value) for name, value in model.train_step((images_a, images_b)).items()}
    assert logs["g_a2b_loss"] == pytest.approx(np.mean((scores_fake_b - 1) ** 2), rel=1e-5)
    assert logs["cycle_loss"] == pytest.approx(cycle, rel=1e-5)
    # The pool is still filling, so D_B sees exactly the fakes of this step, made before G's update.
    expected_d_b = 0.5 * (np.mean((scores_real_b - 1) ** 2) + np.mean(scores_fake_b**2))
    assert logs["d_b_loss"] == pytest.approx(expected_d_b, rel=1e-5)
    if lambda_identity:
        assert logs["identity_loss"] == pytest.approx(identity, rel=1e-5) and identity > 0
    else:
        assert logs["identity_loss"] == 0.0
    weighted = logs["cycle_loss"] + lambda_identity * logs["identity_loss"]
    assert logs["g_loss"] == pytest.approx(logs["g_a2b_loss"] + logs["g_b2a_loss"] + 10.0 * weighted, rel=1e-5)


@pytest.mark.parametrize("generator", ["resnet", "unet"])
def test_one_call_on_two_batches_equals_a_call_on_each(pair, generator):
    model = compiled(generator=generator)
    images_a, images_b = (images * 2 - 1 for images in pair)
    for network in (model.generator_a2b, model.generator_b2a, model.discriminator_a, model.discriminator_b):
        first, second = in_one_call(network, images_a, images_b[:1], training=True)
        assert_close(first, network(images_a, training=True), tolerance=1e-5)
        assert_close(second, network(images_b[:1], training=True), tolerance=1e-5)


@pytest.mark.parametrize("loss", [name for name in LOSSES if name != "least_squares"])
def test_other_adversarial_losses_train(pair, loss):
    model = compiled(loss=loss, generator="unet")
    logs = model.train_step(pair)
    assert all(np.isfinite(float(value)) for value in logs.values())
    assert model.d_b_optimizer.iterations.numpy() == 1


def test_pool_returns_new_images_while_filling():
    pool = ImagePool(4, seed=0)
    first, second = constant_images([1, 2]), constant_images([3, 4])
    assert_close(pool(first), first)
    assert pool.filled.numpy() == 2
    assert_close(pool(second), second)
    assert pool.filled.numpy() == 4
    assert_close(pool.stored, np.concatenate([first, second]))
    assert_close(ImagePool(0)(first), first)


def test_full_pool_swaps_half_the_images_for_past_ones_in_a_compiled_step():
    pool = ImagePool(10, seed=1)
    pool.build((None, 2, 2, 1))
    query = tf.function(pool.__call__, jit_compile=True)
    query(constant_images(range(10)))
    past, swapped = set(range(10)), 0
    for step in range(50):
        values = 100 + 8 * step + np.arange(8)
        before = pool.stored.numpy()[:, 0, 0, 0].tolist()
        returned = np.asarray(query(constant_images(values)))[:, 0, 0, 0]
        after = pool.stored.numpy()[:, 0, 0, 0].tolist()
        # Every image goes either out or into the pool: none is lost or duplicated.
        assert sorted(before + values.tolist()) == sorted(after + returned.tolist())
        old = [value for value in returned.tolist() if value not in values]
        assert set(old) <= past
        swapped += len(old)
        past |= set(values.tolist())
    assert pool.filled.numpy() == 10
    assert 0.4 < swapped / 400 < 0.6


def test_learning_rate_is_flat_then_linear_to_zero():
    schedule = ConstantThenLinearDecay(1.0, constant_steps=10, decay_steps=20)
    rates = [float(schedule(step)) for step in (0, 9, 10, 15, 20, 29, 30, 45)]
    assert rates == pytest.approx([1, 1, 1, 0.75, 0.5, 0.05, 0, 0])
    paper = linear_decay_schedule(epochs=200, steps_per_epoch=5, learning_rate=2e-4)
    assert (paper.constant_steps, paper.decay_steps) == (500, 500)
    assert float(paper(750)) == pytest.approx(1e-4)
    assert ConstantThenLinearDecay.from_config(schedule.get_config()).get_config() == schedule.get_config()
    with pytest.raises(ValueError, match="decay_epochs"):
        linear_decay_schedule(epochs=4, steps_per_epoch=5, decay_epochs=5)


def test_config_round_trip_keras_file_and_four_optimizers_survive(pair, tmp_path):
    import kerasgen

    keras.utils.set_random_seed(0)
    model = CycleGAN(**{**TINY, "loss": "hinge", "lambda_identity": 0.0})
    model.compile(learning_rate=ConstantThenLinearDecay(2e-4, constant_steps=1, decay_steps=4))
    model.train_step(pair)
    model.train_step(pair)
    config = model.get_config()
    assert config["residual_blocks"] == 1 and config["discriminator_layers"] == 1
    assert CycleGAN.from_config(config).get_config() == config

    model.save_weights(tmp_path / "cyclegan.weights.h5")
    restored = CycleGAN.from_config(config)
    # A float learning rate is an optimizer variable, a schedule is not: resume with the same kind.
    restored.compile(learning_rate=ConstantThenLinearDecay(2e-4, constant_steps=1, decay_steps=4))
    restored.load_weights(tmp_path / "cyclegan.weights.h5")
    assert restored.g_b2a_optimizer.iterations.numpy() == restored.d_a_optimizer.iterations.numpy() == 2

    model.save(tmp_path / "cyclegan.keras")
    reloaded = kerasgen.load_model(tmp_path / "cyclegan.keras")
    for (saved, _), (loaded, _) in zip(model._optimized_networks(), reloaded._optimized_networks(), strict=True):
        assert loaded.iterations.numpy() == 2
        for a, b in zip(saved.variables, loaded.variables, strict=True):
            assert_close(a, b)
    assert isinstance(reloaded.g_a2b_optimizer._learning_rate, ConstantThenLinearDecay)
    assert float(reloaded.d_b_optimizer.learning_rate) == pytest.approx(2e-4 * (1 - 1 / 4))
    assert_close(reloaded.pool_b.stored, model.pool_b.stored)
    assert reloaded.pool_a.filled.numpy() == 3
    images_a, images_b = pair
    assert_close(reloaded.translate(images_a), model.translate(images_a))
    assert_close(reloaded.translate(images_b, "b2a"), model.translate(images_b, "b2a"))


def test_translate_both_directions_in_range(pair):
    model = compiled()
    images_a, images_b = pair
    a2b, b2a = model.translate(images_a, batch_size=1), model.translate(images_b, direction="b2a")
    assert a2b.shape == b2a.shape == (2, 16, 16, 1) and a2b.dtype == np.float32
    assert 0 <= min(a2b.min(), b2a.min()) and max(a2b.max(), b2a.max()) <= 1
    assert_close(a2b, model(images_a))
    assert not np.allclose(model.translate(images_a, "b2a"), a2b)
    assert_close(model.translate(np.round(images_a * 255).astype(np.uint8)), a2b, tolerance=1e-5)
    with pytest.raises(ValueError, match="direction"):
        model.translate(images_a, direction="ab")
    with pytest.raises(ValueError, match="shape"):
        model.translate(np.zeros((1, 8, 8, 1)))


@pytest.mark.parametrize(
    "options, message",
    [
        ({"loss": "wasserstein"}, "loss"),
        ({"generator": "vgg"}, "generator"),
        ({"image_shape": (18, 18, 1)}, "divisible by 4"),
        ({"lambda_cycle": -1.0}, "lambda_cycle"),
        ({"pool_size": -1}, "pool_size"),
        ({"discriminator_layers": 3}, "stride-2 layers"),
    ],
)
def test_bad_hyperparameters(options, message):
    with pytest.raises(ValueError, match=message):
        CycleGAN(**{**TINY, **options})


@pytest.mark.parametrize("shape, patches", [((16, 16, 1), 6), ((64, 64, 3), 14)])
def test_network_output_shapes(shape, patches):
    images = np.random.default_rng(0).uniform(-1, 1, (2, *shape)).astype(np.float32)
    for generator in (networks.build_resnet_generator(shape, 4, 1), networks.build_unet_generator(shape, 4)):
        output = np.asarray(generator(images))
        assert output.shape == images.shape and np.abs(output).max() <= 1
    assert networks.build_patchgan_discriminator(shape, 4).output_shape == (None, patches, patches, 1)


def test_paper_sized_networks():
    assert networks.build_patchgan_discriminator((256, 256, 3)).output_shape == (None, 30, 30, 1)  # 70x70 patches
    assert networks.default_residual_blocks((128, 128, 3)) == 6 and networks.default_residual_blocks((256, 256, 3)) == 9
    resnet = networks.build_resnet_generator((16, 16, 1), 4)
    assert sum(isinstance(layer, keras.layers.Add) for layer in resnet.layers) == 6
    assert [networks.unet_depth((side, side, 1)) for side in (16, 32, 48, 256, 512)] == [4, 5, 4, 8, 8]
    assert [networks.default_discriminator_layers((side, side, 1)) for side in (16, 32, 64, 128)] == [1, 2, 2, 3]


def test_reflection_padding_mirrors_without_repeating_the_edge():
    layer = networks.ReflectionPadding2D(2)
    image = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    expected = np.pad(image, [(0, 0), (2, 2), (2, 2), (0, 0)], mode="reflect")
    assert_close(layer(image), expected)
    assert networks.ReflectionPadding2D.from_config(layer.get_config()).padding == 2


def test_digits_are_uci_to_mnist_with_test_labels():
    images_a, images_b = data.load_unpaired("digits", "train")
    assert images_a.shape == (1347, 32, 32, 1) and images_b.shape == (55000, 32, 32, 1)
    assert images_a.dtype == images_b.dtype == np.uint8 and images_a.max() == images_b.max() == 255
    (test_a, labels_a), (test_b, labels_b) = data.load_unpaired("digits", "test", size=16, with_labels=True)
    assert test_a.shape == (300, 16, 16, 1) and test_b.shape == (10000, 16, 16, 1)
    assert set(labels_a.tolist()) == set(labels_b.tolist()) == set(range(10))
    colour_a, _ = data.load_unpaired("digits", "test", size=16, channels=3)
    assert colour_a.shape == (300, 16, 16, 3)
    np.testing.assert_array_equal(colour_a[..., 1], test_a[..., 0])
    with pytest.raises(UserError, match=r"^Unknown split 'heldout'; choose one of train, test\.$"):
        data.load_unpaired("digits", "heldout")


@pytest.fixture
def unpaired_folder(tmp_path):
    """trainA/ trainB/ testA/ testB/ with digits in mixed modes (L, RGB, RGBA, CMYK) and sizes."""
    images, _ = data.load_mnist("test")
    counts = {"trainA": 5, "trainB": 7, "testA": 2, "testB": 3}
    index = 0
    for folder, count in counts.items():
        (tmp_path / folder).mkdir()
        for _ in range(count):
            mode, suffix = [("L", ".png"), ("RGB", ".jpg"), ("RGBA", ".png"), ("CMYK", ".jpg")][index % 4]
            picture = Image.fromarray(images[index, :, :, 0]).resize((20 + index, 24 + index))
            picture.convert(mode).save(tmp_path / folder / f"image_{index}{suffix}")
            index += 1
    return tmp_path


def test_unpaired_folder_layout_loads_both_domains(unpaired_folder):
    grey_a, grey_b = data.load_unpaired(str(unpaired_folder), "train", size=16)
    assert grey_a.shape == (5, 16, 16, 1) and grey_b.shape == (7, 16, 16, 1) and grey_a.dtype == np.uint8
    assert grey_a.max() > 200
    colour_a, colour_b = data.load_unpaired(str(unpaired_folder), "test", size=12, channels=3)
    assert colour_a.shape == (2, 12, 12, 3) and colour_b.shape == (3, 12, 12, 3)


def test_unpaired_folder_errors_name_what_is_wrong(unpaired_folder):
    for path in (unpaired_folder / "trainB").iterdir():
        path.unlink()
    (unpaired_folder / "trainB").rmdir()
    with pytest.raises(UserError, match="no trainB/"):
        data.load_unpaired(str(unpaired_folder), "train", size=16)
    (unpaired_folder / "testB" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(UserError, match="broken.png"):
        data.load_unpaired(str(unpaired_folder), "test", size=16)
    with pytest.raises(UserError, match="split"):
        data.load_unpaired(str(unpaired_folder), "all", size=16)


def test_tfds_cycle_gan_offline_with_mock_data():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=3):
        horses, zebras = data.load_unpaired("tfds:cycle_gan/horse2zebra", "train", size=16, channels=3)
        grey, _ = data.load_unpaired("tfds:cycle_gan/horse2zebra", "test", size=8)
    assert horses.shape == zebras.shape == (3, 16, 16, 3) and horses.dtype == np.uint8
    assert grey.shape == (3, 8, 8, 1)


def test_unpaired_dataset_has_fixed_steps_and_repeats_the_smaller_domain():
    images_a = np.repeat(np.arange(5, dtype=np.uint8)[:, None, None, None] * 10, 4, axis=1).repeat(4, axis=2)
    images_b = np.repeat(np.arange(12, dtype=np.uint8)[:, None, None, None] * 10, 4, axis=1).repeat(4, axis=2)
    dataset = data.make_unpaired_dataset(images_a, images_b, batch_size=4, seed=3)
    batches = list(dataset.as_numpy_iterator())
    assert len(dataset) == len(batches) == 3
    for batch_a, batch_b in batches:
        assert batch_a.shape == batch_b.shape == (4, 4, 4, 1) and batch_a.dtype == np.float32
        assert 0 <= batch_a.min() and batch_b.max() <= 1
    seen_a = np.round(np.concatenate([a[:, 0, 0, 0] for a, _ in batches]) * 25.5).astype(int)
    seen_b = np.round(np.concatenate([b[:, 0, 0, 0] for _, b in batches]) * 25.5).astype(int)
    assert sorted(seen_b.tolist()) == list(range(12))
    assert sorted(np.bincount(seen_a, minlength=5).tolist()) == [2, 2, 2, 3, 3]
    again = list(data.make_unpaired_dataset(images_a, images_b, batch_size=4, seed=3).as_numpy_iterator())
    np.testing.assert_array_equal(again[0][1], batches[0][1])
    two_epochs = data.make_unpaired_dataset(images_a, images_b, batch_size=4, seed=3, epochs=2)
    second_epoch = list(two_epochs.as_numpy_iterator())[3:]
    assert not all(np.array_equal(x[1], y[1]) for x, y in zip(batches, second_epoch, strict=True))
    resumed = data.make_unpaired_dataset(images_a, images_b, batch_size=4, seed=3, epochs=2, start_step=4)
    resumed = list(resumed.as_numpy_iterator())
    assert len(resumed) == 2
    for x, y in zip(resumed, second_epoch[1:], strict=True):
        np.testing.assert_array_equal(x[0], y[0])
        np.testing.assert_array_equal(x[1], y[1])
    assert len(data.make_unpaired_dataset(images_a, images_b, batch_size=4, steps_per_epoch=7)) == 7


def test_unpaired_dataset_augmentation_and_errors():
    images, _ = data.load_mnist("test")
    images_a, images_b = images[:8], images[8:16]
    plain = next(iter(data.make_unpaired_dataset(images_a, images_b, batch_size=8, seed=1)))[0].numpy()
    jittered = next(iter(data.make_unpaired_dataset(images_a, images_b, batch_size=8, seed=1, augment=True)))
    assert jittered[0].shape == plain.shape == (8, 28, 28, 1)
    assert 0 <= jittered[0].numpy().min() and jittered[0].numpy().max() <= 1
    assert not np.allclose(jittered[0], plain)
    cropped = next(iter(data.make_unpaired_dataset(images_a, images_b, 4, augment=True, crop_size=16)))
    assert cropped[0].shape == cropped[1].shape == (4, 16, 16, 1)
    with pytest.raises(UserError, match="batch_size"):
        data.make_unpaired_dataset(images_a, images_b, batch_size=0)
    with pytest.raises(UserError, match="one shape"):
        data.make_unpaired_dataset(images_a, images_b[:, :16, :16], batch_size=2)
