import os
import shlex
import subprocess
import sys
import types

import keras
import numpy as np
import pytest

from kerasgen.errors import UserError
from kerasgen.training import StopOnNonFinite, train


@pytest.mark.parametrize("key", ["loss", "kl_loss", "d_loss"])
def test_non_finite_guard_watches_every_logged_key(key):
    guard = StopOnNonFinite()
    guard.set_model(types.SimpleNamespace(stop_training=False, variables=[]))
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
    digits = np.round(np.concatenate([batch16] * 4) * 255).astype(np.uint8)
    return model, data.make_dataset(digits, 8, epochs=3)


def test_timing_the_step_both_ways_leaves_the_model_as_it_was(batch16):
    from kerasgen.training import state_variables, time_train_step

    model, dataset = tiny_autoencoder(batch16)
    before = {key: np.asarray(variable) for key, variable in state_variables(model).items()}
    seconds = time_train_step(model, dataset, steps=1, rounds=2)
    assert set(seconds) == {"xla", "no_xla"} and all(value > 0 for value in seconds.values())
    for key, variable in state_variables(model).items():
        np.testing.assert_array_equal(np.asarray(variable), before[key])
    assert int(model.optimizer.iterations) == 0
    faster = seconds["xla"] < seconds["no_xla"]
    assert model.jit_compile is faster
    compiled_step = model.train_function
    model.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0)
    assert model.train_function is compiled_step  # fit runs the timed version, not a new trace


def test_the_trial_traces_the_xla_step_before_compiling_it_in_a_thread(batch16):
    """If a Keras version hides its train `tf.function` elsewhere, the trial still works, only slower: this says so."""
    from kerasgen.training.xla import _traced

    model, dataset = tiny_autoencoder(batch16)
    model.jit_compile = True
    model.make_train_function(force=True)
    assert _traced(model.train_function, iter(dataset))
    assert not _traced(lambda iterator: None, iter(dataset))


def test_a_model_that_cannot_run_compiled_is_not_raced_and_stays_as_it_was(batch16):
    from kerasgen import training
    from kerasgen.training.xla import XLACompileError, time_train_step

    model, dataset = tiny_autoencoder(batch16)
    model.run_eagerly = True
    with pytest.raises(XLACompileError):
        time_train_step(model, dataset, steps=1, rounds=1)
    assert model.jit_compile is False and model.train_function is None
    record = training.choose_xla(model, None, lambda: dataset, steps_left=training.XLA_TRIAL_MIN_STEPS)
    assert record["jit_compile"] is False and "does not run compiled with XLA" in record["chosen_by"]


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


def test_a_deterministic_run_never_races_and_the_command_records_the_choice(batch16, monkeypatch):
    from kerasgen import training
    from kerasgen.training.xla import command_with_xla

    model, dataset = tiny_autoencoder(batch16)
    monkeypatch.setattr(training.xla, "time_train_step", lambda model, dataset: pytest.fail("raced"))
    record = training.choose_xla(model, None, lambda: dataset, 10 * training.XLA_TRIAL_MIN_STEPS, deterministic=True)
    assert record == {"jit_compile": False, "chosen_by": "--deterministic (no timing race)"}
    assert training.choose_xla(model, True, lambda: dataset, 10, deterministic=True)["jit_compile"] is True
    assert command_with_xla("kerasgen train vae --epochs 2", True) == "kerasgen train vae --epochs 2 --jit-compile"
    assert command_with_xla("kerasgen train vae --jit-compile --out 'a b'", False) == (
        "kerasgen train vae --out 'a b' --no-jit-compile"
    )
    assert command_with_xla(None, True) is None


def xla_cannot_compile(monkeypatch, model_class):
    """Give `model_class`'s train step an op without an XLA kernel (a Python function): XLA fails on it."""
    import tensorflow as tf

    train_step = model_class.train_step

    def with_a_python_op(self, data):
        tf.numpy_function(lambda: np.float32(0), [], tf.float32)
        return train_step(self, data)

    monkeypatch.setattr(model_class, "train_step", with_a_python_op)


def test_an_xla_failure_in_the_trial_means_no_xla(batch16, monkeypatch):
    from kerasgen import training
    from kerasgen.autoencoder import AutoEncoder

    xla_cannot_compile(monkeypatch, AutoEncoder)
    model, dataset = tiny_autoencoder(batch16)
    before = {key: np.asarray(variable) for key, variable in training.state_variables(model).items()}
    record = training.choose_xla(model, None, lambda: dataset, training.XLA_TRIAL_MIN_STEPS)
    assert record["jit_compile"] is False and model.jit_compile is False
    assert record["chosen_by"].startswith("XLA failed on the train step (InvalidArgumentError: ")
    line = training.describe_xla(record)
    assert line.startswith("XLA off: XLA failed") and "\n" not in line and len(line) < 250
    for key, variable in training.state_variables(model).items():
        np.testing.assert_array_equal(np.asarray(variable), before[key], err_msg=key)


def test_an_xla_failure_at_the_first_step_trains_without_xla_and_says_so(monkeypatch, tmp_path, capsys):
    from kerasgen import zoo
    from kerasgen.autoencoder import AutoEncoder

    xla_cannot_compile(monkeypatch, AutoEncoder)
    options = {"data": "uci", "epochs": 1, "image_size": 16, "architecture": "dense", "hidden_units": (8,)}
    command = "kerasgen train autoencoder --jit-compile"

    def no_fallback(model, error):
        raise error

    with pytest.raises(Exception, match="XLA_CPU_JIT"), monkeypatch.context() as patch:  # the failure is real
        patch.setattr("kerasgen.training.run.without_xla", no_fallback)
        train("autoencoder", tmp_path / "unguarded", verbose=0, jit_compile=True, **options)
    capsys.readouterr()
    folder = train("autoencoder", tmp_path / "xla", verbose=0, jit_compile=True, command=command, **options)
    printed = capsys.readouterr().out.splitlines()
    assert [line for line in printed if "XLA" in line] == [printed[0]] and printed[0].startswith("XLA off: XLA failed")
    card = zoo.card(folder)
    assert card["training"]["xla"]["jit_compile"] is False
    assert card["training"]["command"] == "kerasgen train autoencoder --no-jit-compile"
    plain = train("autoencoder", tmp_path / "plain", verbose=0, jit_compile=False, **options)
    assert zoo.card(plain)["training"]["completed_epochs"] == 1
    for expected, actual in zip(zoo.load(plain).get_weights(), zoo.load(folder).get_weights(), strict=True):
        np.testing.assert_allclose(actual, expected, atol=1e-6, rtol=0)


def kerasgen_command(words):
    """Run `kerasgen WORDS...` in a fresh process (it enables op determinism for the whole process)."""
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.Popen(
        [sys.executable, "-m", "kerasgen.cli", *words[1:]],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(processes):
    outputs = [process.communicate(timeout=600)[0] for process in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output[-3000:]


def weight_arrays(folder):
    import h5py

    arrays = {}
    with h5py.File(folder / "model.weights.h5", "r") as weights:
        weights.visititems(
            lambda name, item: arrays.update({name: item[()]}) if isinstance(item, h5py.Dataset) else None
        )
    return arrays


def test_a_recorded_deterministic_command_trains_the_same_weights_again(tmp_path):
    """`--deterministic` with `--jit-compile`, and without an XLA flag (no race: no XLA, recorded as
    `--no-jit-compile`): the command in the card, run again, trains identical weights, optimizer state included."""
    from kerasgen import zoo

    tiny = "train autoencoder --data uci --epochs 1 --image-size 16 --architecture dense --hidden-units 8"
    first = {
        "xla": ["kerasgen", *tiny.split(), "--deterministic", "--jit-compile", "--out", str(tmp_path / "xla")],
        "no_xla": ["kerasgen", *tiny.split(), "--deterministic", "--out", str(tmp_path / "no_xla")],
    }
    finish([kerasgen_command(words) for words in first.values()])
    again = {}
    for name, flag in (("xla", "--jit-compile"), ("no_xla", "--no-jit-compile")):
        card = zoo.card(tmp_path / name)
        assert card["training"]["xla"]["jit_compile"] is (name == "xla")
        recorded = shlex.split(card["training"]["command"])
        assert flag in recorded and "--deterministic" in recorded
        recorded[recorded.index("--out") + 1] = str(tmp_path / f"{name}_again")
        again[name] = recorded
    finish([kerasgen_command(words) for words in again.values()])
    for name in first:
        expected, actual = weight_arrays(tmp_path / name), weight_arrays(tmp_path / f"{name}_again")
        assert expected.keys() == actual.keys() and len(expected) > 4
        for key, array in expected.items():
            np.testing.assert_array_equal(actual[key], array, err_msg=f"{name}: {key}")


def test_as_flags_names_options_with_an_underscore_as_their_flags():
    from kerasgen.training.setup import as_flags

    error = ValueError("decay_epochs must be in [0, epochs=1]. Received: decay_epochs=3\nmore")
    assert as_flags(error, {"decay_epochs", "epochs"}) == (
        "--decay-epochs must be in [0, epochs=1]. Received: --decay-epochs=3"
    )
    assert as_flags(ValueError("lambda_cycle_extra and lambda_cycle"), {"lambda_cycle"}) == (
        "lambda_cycle_extra and --lambda-cycle"
    )
    assert as_flags(ValueError("the image_shape is odd"), set()) == "the image_shape is odd"
