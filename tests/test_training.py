import types

import keras
import numpy as np
import pytest

from kerasgen.errors import UserError
from kerasgen.training import StopOnNonFinite, train


@pytest.mark.parametrize("key", ["loss", "kl_loss", "d_loss"])
def test_non_finite_guard_watches_every_logged_key(key):
    guard = StopOnNonFinite()
    guard.set_model(types.SimpleNamespace(stop_training=False, get_weights=list, set_weights=lambda weights: None))
    guard.on_train_begin()
    guard.on_train_batch_end(0, {"loss": 1.0, "kl_loss": 2.0, "d_loss": 3.0})
    assert not guard.model.stop_training and guard.bad_key is None
    guard.on_train_batch_end(1, {"loss": 1.0, "kl_loss": 2.0, "d_loss": 3.0, key: float("nan")})
    assert guard.model.stop_training and guard.bad_key == key


def test_unknown_model_option_is_a_user_error(tmp_path):
    with pytest.raises(UserError):
        train("vae", tmp_path / "out", epochs=1, image_size=16, no_such_option=3)
    assert not (tmp_path / "out").exists()


class InjectNaN(keras.callbacks.Callback):
    """Poisons the model's first trainable weight at the start of epoch `epoch`."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            kernel = self.model.trainable_weights[0]
            kernel.assign(np.full(kernel.shape, np.nan, "float32"))


def test_divergence_watch_stops_and_keeps_the_last_good_weights(batch16):
    from kerasgen.gan import GAN

    keras.utils.set_random_seed(0)
    gan = GAN(image_shape=(16, 16, 1), latent_dim=4, generator_filters=(8, 4), discriminator_filters=(4, 8))
    gan.compile()
    guard = StopOnNonFinite()
    snapshots = []
    remember = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: snapshots.append(gan.get_weights()))
    history = gan.fit(batch16, batch_size=4, epochs=4, verbose=0, callbacks=[remember, guard, InjectNaN(epoch=2)])
    assert guard.bad_key is not None and guard.good_epochs == 2 and len(history.history["d_loss"]) == 3
    for kept, good in zip(gan.get_weights(), snapshots[1], strict=True):
        np.testing.assert_array_equal(kept, good)
    assert all(np.isfinite(weight).all() for weight in gan.get_weights())


TINY_GAN = {"latent_dim": 4, "generator_filters": (8, 4), "discriminator_filters": (4, 8)}


def test_run_checkpoint_holds_both_optimizers_states_and_the_counters(batch16, tmp_path):
    from kerasgen.gan import GAN
    from kerasgen.training import RunCheckpoint, restore_training_state

    keras.utils.set_random_seed(0)
    gan = GAN(image_shape=(16, 16, 1), d_steps=2, **TINY_GAN)
    gan.compile()
    checkpoint = RunCheckpoint(tmp_path / "checkpoint.npz", steps_per_epoch=2, every=3, fingerprint={"run": 1})
    gan.fit(batch16, batch_size=4, epochs=2, verbose=0, callbacks=[checkpoint])
    restored = GAN(image_shape=(16, 16, 1), d_steps=2, **TINY_GAN)
    restored.compile()
    counters = restore_training_state(restored, tmp_path / "checkpoint.npz")
    assert counters["step"] == 4 and counters["epoch"] == 2 and counters["fingerprint"] == {"run": 1}
    assert set(counters["epoch_logs"]) >= {"d_loss", "g_loss"}
    assert int(restored.d_optimizer.iterations) == 8 and int(restored.g_optimizer.iterations) == 4
    for saved, loaded in zip(gan.d_optimizer.variables, restored.d_optimizer.variables, strict=True):
        np.testing.assert_array_equal(np.asarray(saved), np.asarray(loaded))
    np.testing.assert_array_equal(np.asarray(restored.seed_generator.state), np.asarray(gan.seed_generator.state))
    assert [path.name for path in tmp_path.iterdir()] == ["checkpoint.npz"]


def tiny_autoencoder(batch16):
    from kerasgen import data
    from kerasgen.autoencoder import AutoEncoder

    keras.utils.set_random_seed(0)
    model = AutoEncoder(image_shape=(16, 16, 1), latent_dim=2, architecture="dense", hidden_units=(8,))
    model.compile_for_recipe({"learning_rate": 1e-3}, jit_compile=False)
    return model, data.make_dataset(np.concatenate([batch16] * 4), 8, epochs=3)


def test_timing_the_step_both_ways_leaves_the_model_as_it_was(batch16):
    from kerasgen.training import state_variables, time_train_step

    model, dataset = tiny_autoencoder(batch16)
    before = {key: np.asarray(variable) for key, variable in state_variables(model).items()}
    seconds = time_train_step(model, dataset, steps=1, rounds=2)
    assert set(seconds) == {"xla", "no_xla"} and all(value > 0 for value in seconds.values())
    for key, variable in state_variables(model).items():
        np.testing.assert_array_equal(np.asarray(variable), before[key])
    assert int(model.optimizer.iterations) == 0


@pytest.mark.parametrize("xla_faster", [True, False])
def test_a_long_run_keeps_the_faster_of_xla_and_no_xla(batch16, monkeypatch, xla_faster):
    from kerasgen import training

    model, dataset = tiny_autoencoder(batch16)
    seconds = {"xla": 0.1, "no_xla": 0.2} if xla_faster else {"xla": 0.3, "no_xla": 0.2}
    monkeypatch.setattr(training.xla, "time_train_step", lambda model, dataset: seconds)
    record = training.choose_xla(model, None, lambda: dataset, steps_left=training.XLA_TRIAL_MIN_STEPS)
    assert record == {"jit_compile": xla_faster, "chosen_by": "measured", "seconds_per_step": seconds}
    assert model.jit_compile is xla_faster
    assert training.describe_xla(record).startswith(f"XLA {'on' if xla_faster else 'off'}: measured, ")


def test_xla_choice_without_a_trial(batch16, monkeypatch):
    from kerasgen import training

    model, dataset = tiny_autoencoder(batch16)
    monkeypatch.setattr(training.xla, "time_train_step", lambda model, dataset: pytest.fail("timed without need"))
    long_run = training.XLA_TRIAL_MIN_STEPS
    assert training.choose_xla(model, True, lambda: dataset, long_run)["chosen_by"] == "option"
    assert model.jit_compile is True
    assert training.choose_xla(model, None, lambda: dataset, long_run - 1)["jit_compile"] is False
    resumed = training.choose_xla(model, None, lambda: dataset, long_run, {"jit_compile": True, "chosen_by": "x"})
    assert resumed == {"jit_compile": True, "chosen_by": "the interrupted run's choice"}
    with monkeypatch.context() as patch:
        patch.setattr(keras.mixed_precision, "global_policy", lambda: keras.DTypePolicy("mixed_bfloat16"))
        assert training.choose_xla(model, None, lambda: dataset, 10) == {
            "jit_compile": True,
            "chosen_by": "mixed precision",
        }
