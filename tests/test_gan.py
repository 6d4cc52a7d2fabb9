import keras
import numpy as np
import pytest
from conftest import assert_close

from kerasgen.gan import GAN
from kerasgen.gan import losses as gan_losses

TINY = {"image_shape": (16, 16, 1), "latent_dim": 4, "generator_filters": (8, 4), "discriminator_filters": (4, 8)}


def compiled(**options):
    keras.utils.set_random_seed(0)
    model = GAN(**{**TINY, **options})
    model.compile()
    return model


def digits(count):
    """`count` real 16x16 digits in [0, 1] (a slice of the validation split)."""
    from kerasgen import data

    images, labels = data.load_images("mnist", "validation", size=16)
    return data.to_unit_range(images[:count]), labels[:count]


@pytest.mark.parametrize("loss", gan_losses.LOSSES)
def test_one_fit_step_per_loss(loss):
    model = compiled(loss=loss)
    images, _ = digits(model.images_per_step(4))
    history = model.fit(images, batch_size=len(images), epochs=1, verbose=0).history
    assert {"d_loss", "g_loss", "gradient_penalty"} <= set(history)
    accuracies = {"d_real_accuracy", "d_fake_accuracy"}
    assert accuracies <= set(history) if loss != "wasserstein" else not accuracies & set(history)
    assert all(np.isfinite(values[-1]) for values in history.values())
    assert model.g_optimizer.iterations.numpy() == 1
    assert model.d_optimizer.iterations.numpy() == model.d_steps == gan_losses.RECOMMENDED[loss]["d_steps"]


def test_d_steps_makes_k_discriminator_updates_per_generator_update():
    model = compiled(d_steps=3)
    images, _ = digits(24)
    assert model.images_per_step(4) == 12
    model.fit(images, batch_size=12, epochs=1, verbose=0)
    assert model.g_optimizer.iterations.numpy() == 2
    assert model.d_optimizer.iterations.numpy() == 6
    with pytest.raises(ValueError, match="images_per_step"):
        model.train_step(images[:2])  # fewer images than updates


class RecordingGAN(GAN):
    """A GAN that records the real images and labels each discriminator update sees, and the generator's labels."""

    seen = []

    def _discriminator_step(self, real, labels, batch):
        RecordingGAN.seen.append(("d", np.asarray(real), None if labels is None else np.asarray(labels)))
        return super()._discriminator_step(real, labels, batch)

    def _generator_step(self, labels, batch):
        RecordingGAN.seen.append(("g", int(batch), None if labels is None else np.asarray(labels)))
        return super()._generator_step(labels, batch)


@pytest.mark.parametrize("num_classes", [0, 10])
def test_each_discriminator_update_takes_a_fresh_real_minibatch(num_classes):
    keras.utils.set_random_seed(0)
    model = RecordingGAN(**TINY, d_steps=3, num_classes=num_classes)
    model.compile(run_eagerly=True)
    images, labels = digits(model.images_per_step(4))
    RecordingGAN.seen.clear()
    model.fit(images, labels if num_classes else None, batch_size=12, epochs=1, shuffle=False, verbose=0)
    kinds = [kind for kind, *_ in RecordingGAN.seen]
    assert kinds == ["d", "d", "d", "g"]
    batches = [real for kind, real, _ in RecordingGAN.seen if kind == "d"]
    assert [len(batch) for batch in batches] == [4, 4, 4] and RecordingGAN.seen[-1][1] == 4
    for step, batch in enumerate(batches):  # three disjoint minibatches: images step, step + 3, step + 6, ...
        np.testing.assert_allclose(batch, images[step::3] * 2 - 1, atol=1e-6)
    if num_classes:
        seen_labels = [step_labels for kind, _, step_labels in RecordingGAN.seen if kind == "d"]
        for step, step_labels in enumerate(seen_labels):
            np.testing.assert_array_equal(step_labels, labels[step::3])
        np.testing.assert_array_equal(RecordingGAN.seen[-1][2], labels[2::3])


def test_wasserstein_gets_wgan_gp_settings_and_the_others_dcgan_settings():
    assert gan_losses.RECOMMENDED["wasserstein"] == {"d_steps": 5, "learning_rate": 1e-4, "beta_1": 0.0, "beta_2": 0.9}
    critic = compiled(loss="wasserstein")
    assert critic.d_steps == 5 and critic.get_config()["d_steps"] == 5
    for optimizer in (critic.d_optimizer, critic.g_optimizer):
        assert float(optimizer.learning_rate) == pytest.approx(1e-4)
        assert (optimizer.beta_1, optimizer.beta_2) == (0.0, 0.9)
    dcgan = compiled()
    assert dcgan.d_steps == 1 and float(dcgan.d_optimizer.learning_rate) == pytest.approx(2e-4)
    assert (dcgan.g_optimizer.beta_1, dcgan.g_optimizer.beta_2) == (0.5, 0.999)
    assert compiled(loss="wasserstein", d_steps=2).d_steps == 2  # a chosen value wins
    switched = compiled()
    switched.compile(loss="wasserstein")
    assert switched.d_steps == 5 and float(switched.d_optimizer.learning_rate) == pytest.approx(1e-4)
    assert gan_losses.recommended("wasserstein", d_steps=None, learning_rate=3e-4)["learning_rate"] == 3e-4
    with pytest.raises(ValueError, match="Unknown settings"):
        gan_losses.recommended("hinge", momentum=0.9)


@pytest.mark.parametrize("loss", ["hinge", "wasserstein"])
def test_label_smoothing_is_refused_where_the_loss_has_no_target(loss):
    with pytest.raises(ValueError, match="label_smoothing"):
        GAN(**TINY, loss=loss, label_smoothing=0.1)
    model = GAN(**TINY, label_smoothing=0.1)
    with pytest.raises(ValueError, match="label_smoothing"):
        model.compile(loss=loss)
    with pytest.raises(ValueError, match="smoothing"):
        gan_losses.discriminator_loss(loss, np.ones(2), np.zeros(2), real_target=0.9)


def test_discriminator_accuracy_uses_the_loss_decision_boundary():
    assert [gan_losses.decision_boundary(loss) for loss in gan_losses.LOSSES] == [0.0, 0.0, 0.5, 0.0, None]
    assert gan_losses.decision_boundary("least_squares", real_target=0.8) == pytest.approx(0.4)
    images, _ = digits(8)
    for score, real_accuracy in ((0.3, 0.0), (0.7, 1.0)):  # least squares: real above 0.5, fake below
        model = compiled(loss="least_squares")
        kernel, bias = model.discriminator.layers[-1].weights
        kernel.assign(np.zeros(kernel.shape)), bias.assign([score])
        logs = model._discriminator_step(images * 2 - 1, None, 8)
        assert float(logs["d_real_accuracy"]) == real_accuracy
        assert float(logs["d_fake_accuracy"]) == 1.0 - real_accuracy
    critic = compiled(loss="wasserstein")
    assert "d_real_accuracy" not in critic._discriminator_step(images * 2 - 1, None, 8)
    assert "d_real_accuracy" not in [metric.name for metric in critic.metrics]


def test_gradient_penalty_is_computed_on_interpolates_and_non_zero(batch16):
    model = compiled(loss="wasserstein", d_steps=1)
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

    model = compiled(loss="least_squares", d_steps=2, ema_decay=0.5, label_smoothing=0.1)
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
        ({"loss": "hinge", "label_smoothing": 0.1}, "label_smoothing"),
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


@pytest.mark.parametrize("loss", ["wasserstein", "non_saturating"])
def test_logged_discriminator_values_average_the_d_steps_updates(loss, monkeypatch):
    """d_loss, gradient_penalty and the accuracies of a step are the means over its 3 updates, not the last one's."""
    model = compiled(loss=loss, d_steps=3)
    updates = []
    discriminator_step = GAN._discriminator_step

    def recording(self, real, labels, batch):
        logs = discriminator_step(self, real, labels, batch)
        updates.append({key: float(value) for key, value in logs.items()})
        return logs

    monkeypatch.setattr(GAN, "_discriminator_step", recording)
    images, _ = digits(model.images_per_step(4))
    logs = {key: float(np.ravel(value)[0]) for key, value in model.train_step(images).items()}  # eager
    assert len(updates) == 3 and set(updates[0]) < set(logs)
    for key in updates[0]:
        mean = np.mean([update[key] for update in updates])
        assert logs[key] == pytest.approx(mean, rel=1e-6, abs=1e-7), key
        assert float(next(tracker for tracker in model.metrics if tracker.name == key).result()) == logs[key]
    if loss == "wasserstein":  # the updates differ, so the last one alone would not pass
        assert len({update["d_loss"] for update in updates}) == 3 and logs["d_loss"] != updates[-1]["d_loss"]


def test_averaging_the_logs_leaves_the_training_step_unchanged():
    """A step ends where the step done by hand does: d_steps updates on strided minibatches, G, EMA."""
    from kerasgen.training import state_variables

    images, _ = digits(12)
    model = compiled(loss="wasserstein", d_steps=3, ema_decay=0.9)
    by_hand = compiled(loss="wasserstein", d_steps=3, ema_decay=0.9)
    model.train_step(images)
    real = images * 2.0 - 1.0
    for step in range(3):
        by_hand._discriminator_step(real[step::3], None, 4)
    by_hand._generator_step(None, 4)
    by_hand._update_moving_average()
    stepped, expected = state_variables(model), state_variables(by_hand)  # weights, EMA, seed state, optimizers
    assert stepped.keys() == expected.keys()
    for key, variable in expected.items():
        np.testing.assert_array_equal(np.asarray(stepped[key]), np.asarray(variable), err_msg=key)
    assert int(model.d_optimizer.iterations) == 3 and int(model.g_optimizer.iterations) == 1
