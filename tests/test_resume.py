"""Resuming training: checkpoints hold the whole state, and a resumed run ends where an uninterrupted one does."""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from tiny_runs import TINY_CYCLEGAN, counters, run_family

from kerasgen import training, zoo
from kerasgen.errors import UserError


class Crash(Exception):
    """Stands for a crash right after a checkpoint was written."""


def crash_after_step(monkeypatch, step):
    save = training.RunCheckpoint.save

    def save_then_crash(callback):
        save(callback)
        if callback.step == step:
            raise Crash

    monkeypatch.setattr(training.RunCheckpoint, "save", save_then_crash)


@pytest.mark.parametrize("family", ["autoencoder", "vae", "gan", "classifier", "cyclegan"])
def test_a_run_resumed_mid_epoch_ends_with_the_weights_of_an_uninterrupted_one(
    family, few_digits, tmp_path, monkeypatch
):
    whole = run_family(family, tmp_path / "whole")
    with monkeypatch.context() as patch:
        crash_after_step(patch, 4)
        with pytest.raises(Crash):
            run_family(family, tmp_path / "resumed")
    assert counters(tmp_path / "resumed")["step"] == 4 and not (tmp_path / "resumed" / zoo.CARD).exists()
    resumed = run_family(family, tmp_path / "resumed")
    card = json.loads((resumed / zoo.CARD).read_text())
    assert card["training"]["resumed_from_step"] == 4 and card["training"]["completed_epochs"] == 2
    assert counters(resumed)["step"] == 2 * card["training"]["steps_per_epoch"] > 4
    for expected, actual in zip(zoo.load(whole).get_weights(), zoo.load(resumed).get_weights(), strict=True):
        np.testing.assert_allclose(actual, expected, atol=1e-5, rtol=0)


def test_checkpoint_holds_seed_generators_pools_and_every_optimizer(tmp_path):
    from kerasgen.cyclegan import CycleGAN

    model = CycleGAN(image_shape=(16, 16, 1), seed=1, **TINY_CYCLEGAN)
    model.compile()
    keys = set(training.state_variables(model))
    assert {"g_a2b_optimizer/0", "g_b2a_optimizer/0", "d_a_optimizer/0", "d_b_optimizer/0"} <= keys
    seed_states = [variable for variable in model.variables if "seed_generator_state" in variable.path]
    assert len(seed_states) >= 2, [variable.path for variable in model.variables][-6:]
    images = np.random.default_rng(0).random((4, 16, 16, 1), np.float32)
    model.train_on_batch(images, images)
    training.save_training_state(model, tmp_path / "state.npz", {"step": 1})
    restored = CycleGAN(image_shape=(16, 16, 1), seed=1, **TINY_CYCLEGAN)
    restored.compile()
    assert training.restore_training_state(restored, tmp_path / "state.npz") == {"step": 1}
    saved, loaded = training.state_variables(model), training.state_variables(restored)
    for key, variable in saved.items():
        np.testing.assert_array_equal(np.asarray(loaded[key]), np.asarray(variable), err_msg=key)
    assert [path.name for path in tmp_path.iterdir()] == ["state.npz"]


def test_a_crash_while_writing_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    from kerasgen.vae import VAE

    model = VAE(image_shape=(16, 16, 1), latent_dim=2, hidden_units=(8,), filters=(4,))
    model.compile()
    training.save_training_state(model, tmp_path / "checkpoint.npz", {"step": 3})
    before = (tmp_path / "checkpoint.npz").read_bytes()

    def torn_write(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", torn_write)
    with pytest.raises(UserError, match="No space left on device"):
        training.save_training_state(model, tmp_path / "checkpoint.npz", {"step": 6})
    assert (tmp_path / "checkpoint.npz").read_bytes() == before
    assert [path.name for path in tmp_path.iterdir()] == ["checkpoint.npz"]


def test_resuming_with_other_settings_or_a_damaged_checkpoint_is_refused(few_digits, tmp_path, monkeypatch):
    with monkeypatch.context() as patch:
        crash_after_step(patch, 2)
        with pytest.raises(Crash):
            run_family("autoencoder", tmp_path / "run")
    with pytest.raises(UserError, match="other settings.*recipe.*--overwrite"):
        run_family("autoencoder", tmp_path / "run", seed=7)
    (tmp_path / "run" / training.CHECKPOINT).write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="Cannot read checkpoint"):
        run_family("autoencoder", tmp_path / "run")
    folder = run_family("autoencoder", tmp_path / "run", overwrite=True)
    assert "resumed_from_step" not in json.loads((folder / zoo.CARD).read_text())["training"]


CLI_AUTOENCODER = [
    *("train", "autoencoder", "--data", "uci", "--image-size", "16", "--architecture", "conv", "--filters", "4,8"),
    *("--latent-dim", "3", "--batch-size", "64", "--epochs", "3", "--checkpoint-every", "5", "--deterministic"),
]


def kerasgen(*args, **kwargs):
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    command = [sys.executable, "-m", "kerasgen.cli", *map(str, args)]
    return subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kwargs)


def test_kill_9_then_the_same_command_resumes_and_ends_like_an_uninterrupted_run(tmp_path):
    """A real `kill -9` at the first checkpoint; rerunning the command finishes the run with the same weights."""
    uninterrupted = kerasgen(*CLI_AUTOENCODER, "--out", tmp_path / "whole")
    killed = kerasgen(*CLI_AUTOENCODER, "--out", tmp_path / "killed")
    checkpoint = tmp_path / "killed" / training.CHECKPOINT
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert killed.returncode == -signal.SIGKILL
    assert not (tmp_path / "killed" / zoo.CARD).exists()
    step = counters(tmp_path / "killed")["step"]
    resumed = kerasgen(*CLI_AUTOENCODER, "--out", tmp_path / "killed")
    output = resumed.communicate(timeout=300)[0].decode()
    assert resumed.returncode == 0, output[-2000:]
    assert uninterrupted.wait(timeout=300) == 0
    card = json.loads((tmp_path / "killed" / zoo.CARD).read_text())
    total = card["training"]["epochs"] * card["training"]["steps_per_epoch"]
    assert 0 < step < total and step % card["training"]["steps_per_epoch"], "killed mid-epoch"
    assert f"Resuming from {checkpoint}: {step} of {total} steps done." in output
    assert card["training"]["resumed_from_step"] == step and counters(tmp_path / "killed")["step"] == total
    expected, actual = zoo.load(tmp_path / "whole").get_weights(), zoo.load(tmp_path / "killed").get_weights()
    for a, b in zip(expected, actual, strict=True):
        np.testing.assert_allclose(b, a, atol=1e-5, rtol=0)


WRITE_FOREVER = """
import sys
import keras
from kerasgen import training

model = keras.Sequential([keras.Input((1000,)), keras.layers.Dense(1000)])
model.compile(optimizer="adam")
model.optimizer.build(model.trainable_variables)
step = 0
while True:
    step += 1
    model.layers[0].kernel.assign(model.layers[0].kernel * 0 + step)
    training.save_training_state(model, sys.argv[1], {"step": step})
    print(step, flush=True)
"""


def test_kill_9_while_writing_checkpoints_leaves_a_whole_one(tmp_path):
    """SIGKILL a process that does nothing but rewrite a 12 MB checkpoint; what is left is a whole checkpoint."""

    checkpoint = tmp_path / "checkpoint.npz"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITE_FOREVER, str(checkpoint)],
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        for _ in range(5):  # several checkpoints written, so the kill lands among writes
            assert writer.stdout.readline(), "the writer died"
        time.sleep(0.0137)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    model = keras.Sequential([keras.Input((1000,)), keras.layers.Dense(1000)])
    model.compile(optimizer="adam")
    model.optimizer.build(model.trainable_variables)
    step = training.restore_training_state(model, checkpoint)["step"]
    assert step >= 5
    np.testing.assert_array_equal(np.asarray(model.layers[0].kernel), np.full((1000, 1000), step, np.float32))
    leftovers = [path.name for path in tmp_path.iterdir() if path.name != checkpoint.name]
    assert all(name.startswith(".checkpoint.npz.") for name in leftovers), leftovers
