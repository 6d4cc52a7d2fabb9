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

from kerasgen import training, zoo
from kerasgen.data import sources
from kerasgen.errors import UserError

TINY_AUTOENCODER = {"latent_dim": 3, "hidden_units": (16,), "filters": (4, 8)}
FAMILY_OPTIONS = {
    "autoencoder": {**TINY_AUTOENCODER, "max_shift": 1},
    "vae": TINY_AUTOENCODER,
    "gan": {
        "batch_size": 8,
        "latent_dim": 4,
        "generator_filters": (8, 4),
        "discriminator_filters": (4, 8),
        "num_classes": 10,
    },
    "classifier": {"filters": (4,), "feature_units": 8},
}
TINY_CYCLEGAN = {"generator_filters": 4, "residual_blocks": 1, "discriminator_filters": 4, "pool_size": 3}


class Crash(Exception):
    """Stands for a crash right after a checkpoint was written."""


@pytest.fixture
def few_digits(monkeypatch):
    """Training data cut to 40 UCI digits: 3 steps an epoch at batch 16 (the last batch holds 8)."""
    load_images = sources.load_images

    def first_forty(*args, **kwargs):
        images, labels = load_images(*args, **kwargs)
        return images[:40], labels[:40]

    monkeypatch.setattr(sources, "load_images", first_forty)


def run_family(family, out, **extra):
    """Train a tiny model of `family` into `out` (without XLA: its compile time would dominate these tests)."""
    extra.setdefault("jit_compile", False)
    if family == "cyclegan":
        options = dict(epochs=2, batch_size=4, steps_per_epoch=3, image_size=16, **TINY_CYCLEGAN)
        return training.train("cyclegan", out, verbose=0, checkpoint_every=2, **options, **extra)
    options = {"data": "uci", "epochs": 2, "batch_size": 16, "image_size": 16, **FAMILY_OPTIONS[family]}
    return training.train(family, out, verbose=0, checkpoint_every=2, **options, **extra)


def crash_after_step(monkeypatch, step):
    save = training.RunCheckpoint.save

    def save_then_crash(callback):
        save(callback)
        if callback.step == step:
            raise Crash

    monkeypatch.setattr(training.RunCheckpoint, "save", save_then_crash)


def counters(folder):
    with np.load(folder / training.CHECKPOINT) as stored:
        return json.loads(str(stored["counters"]))


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


class Poison(keras.callbacks.Callback):
    """Sets a variable to NaN in epoch 2: before its first step, or after its last one, where no loss can see it.

    `where` is `before_epoch` (the first trainable weight), `after_last_step`
    (the same weight) or `optimizer_after_last_step` (the last variable of the
    model's first built optimizer).
    """

    def __init__(self, where):
        super().__init__()
        self.where = where
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        if epoch == 1 and self.where == "before_epoch":
            self.poison(self.model.trainable_weights[0])

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == 1 and batch == self.params["steps"] - 1 and self.where != "before_epoch":
            if self.where == "after_last_step":
                self.poison(self.model.trainable_weights[0])
            else:
                optimizers = [
                    value for value in vars(self.model).values() if isinstance(value, keras.optimizers.Optimizer)
                ]
                self.poison(next(optimizer for optimizer in optimizers if optimizer.built).variables[-1])

    @staticmethod
    def poison(variable):
        variable.assign(np.full(variable.shape, np.nan, "float32"))


def poison_every_fit(monkeypatch, where):
    fit = keras.Model.fit
    monkeypatch.setattr(
        keras.Model,
        "fit",
        lambda model, *args, callbacks=(), **kwargs: fit(model, *args, callbacks=[Poison(where), *callbacks], **kwargs),
    )


@pytest.mark.parametrize(
    "family, where",
    [
        *[(family, "before_epoch") for family in ["autoencoder", "vae", "gan", "classifier", "cyclegan"]],
        *[(family, "after_last_step") for family in ["autoencoder", "vae", "gan", "classifier", "cyclegan"]],
        ("gan", "optimizer_after_last_step"),
        ("cyclegan", "optimizer_after_last_step"),
    ],
)
def test_a_diverged_run_keeps_its_last_good_checkpoint_and_a_loadable_folder(
    family, where, few_digits, tmp_path, monkeypatch
):
    """A NaN the losses never see (poisoned after an epoch's last step) is caught from the variables."""
    poison_every_fit(monkeypatch, where)
    with pytest.raises(UserError, match="diverged in epoch 2: .* epoch 1, the last good one"):
        run_family(family, tmp_path / "run")
    card = zoo.card(tmp_path / "run")
    assert card["training"]["completed_epochs"] == 1
    steps_per_epoch, last_good_step = card["training"]["steps_per_epoch"], counters(tmp_path / "run")["step"]
    if where == "before_epoch":
        assert last_good_step == steps_per_epoch
    else:  # a mid-epoch checkpoint of epoch 2 was written before the poison, never the end of epoch 2
        assert steps_per_epoch <= last_good_step < 2 * steps_per_epoch
    assert all(np.isfinite(weight).all() for weight in zoo.load(tmp_path / "run").get_weights())
    with np.load(tmp_path / "run" / training.CHECKPOINT) as stored:
        assert all(np.isfinite(stored[key]).all() for key in stored.files if stored[key].dtype.kind == "f")


def non_finite_arrays(folder):
    """Every array of the folder's `model.weights.h5` (h5py) and `checkpoint.npz` holding a NaN or an infinity."""
    import h5py

    bad = []

    def visit(name, item):
        if isinstance(item, h5py.Dataset) and item.dtype.kind == "f" and not np.isfinite(item[()]).all():
            bad.append(f"model.weights.h5:{name}")

    with h5py.File(folder / "model.weights.h5", "r") as weights:
        weights.visititems(visit)
    with np.load(folder / training.CHECKPOINT) as stored:
        arrays = {key: stored[key] for key in stored.files}
    bad += [
        f"checkpoint.npz:{key}"
        for key, array in arrays.items()
        if array.dtype.kind == "f" and not np.isfinite(array).all()
    ]
    return bad


def test_a_state_holding_a_nan_is_never_written_as_a_checkpoint(tmp_path):
    from kerasgen.vae import VAE

    model = VAE(image_shape=(16, 16, 1), latent_dim=2, hidden_units=(8,), filters=(4,))
    model.compile()
    model.optimizer.build(model.trainable_variables)
    training.save_training_state(model, tmp_path / "checkpoint.npz", {"step": 3})
    before = (tmp_path / "checkpoint.npz").read_bytes()
    slot = model.optimizer.variables[-1]
    slot.assign(np.full(slot.shape, np.inf, "float32"))
    with pytest.raises(UserError, match="optimizer/.* is not finite; checkpoint .* was not written"):
        training.save_training_state(model, tmp_path / "checkpoint.npz", {"step": 6})
    assert (tmp_path / "checkpoint.npz").read_bytes() == before
    assert [path.name for path in tmp_path.iterdir()] == ["checkpoint.npz"]


def refuse_non_finite(constant):
    raise AssertionError(f"the card holds {constant}")


@pytest.mark.parametrize("family", ["gan", "vae"])
@pytest.mark.parametrize("where", ["after_last_step", "optimizer_after_last_step"])
def test_a_run_poisoned_in_its_last_epoch_writes_no_non_finite_value(family, where, few_digits, tmp_path, monkeypatch):
    """A weight, or an optimizer slot, turned NaN after the last step: every file written is finite, and fine-tuning
    (compile, then load_weights, which restores the optimizers too) starts from a finite state with epoch 1's counts."""
    poison_every_fit(monkeypatch, where)
    with pytest.raises(UserError, match="diverged in epoch 2: variable .* epoch 1, the last good one"):
        run_family(family, tmp_path / "run")
    folder = tmp_path / "run"
    assert non_finite_arrays(folder) == []
    card = json.loads((folder / zoo.CARD).read_text(), parse_constant=refuse_non_finite)
    assert card["training"]["completed_epochs"] == 1
    from kerasgen.finite import first_non_finite

    model = zoo.load(folder)
    model.compile_for_recipe(card["training"], jit_compile=False)
    model.load_weights(folder / "model.weights.h5")
    assert first_non_finite(model) is None
    optimizer = model.g_optimizer if family == "gan" else model.optimizer
    assert int(optimizer.iterations) == card["training"]["steps_per_epoch"]  # rolled back to the end of epoch 1


POISONED_CLI = """
import sys
import keras
import numpy as np
from kerasgen.cli import main

class PoisonSecondEpoch(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            kernel = self.model.trainable_weights[0]
            kernel.assign(np.full(kernel.shape, np.nan, "float32"))

fit = keras.Model.fit
keras.Model.fit = lambda model, *args, callbacks=(), **kwargs: fit(
    model, *args, callbacks=[PoisonSecondEpoch(), *callbacks], **kwargs
)
sys.argv = ["kerasgen", *sys.argv[1:]]
main()
"""


@pytest.mark.parametrize("onednn", ["0", "1"])
def test_a_nan_kernel_behind_fused_onednn_kernels_stops_the_cli_run(onednn, tmp_path):
    """With oneDNN's fused matmul+bias+ReLU the loss stays finite around a NaN kernel; the run still stops."""
    script = tmp_path / "poisoned.py"
    script.write_text(POISONED_CLI)
    options = "--data uci --epochs 3 --image-size 16 --architecture dense --hidden-units 16 --latent-dim 2"
    environment = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(
        [sys.executable, str(script), "train", "autoencoder", *options.split(), "--batch-size", "64"]
        + ["--no-jit-compile", "--out", str(tmp_path / "run")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "diverged in epoch 2" in result.stderr
    assert zoo.card(tmp_path / "run")["training"]["completed_epochs"] == 1
    assert all(np.isfinite(weight).all() for weight in zoo.load(tmp_path / "run").get_weights())


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
    import keras

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
