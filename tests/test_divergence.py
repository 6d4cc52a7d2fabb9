"""Divergence: a NaN or an infinity anywhere stops the run, rolls back to the last good epoch and is never written."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from tiny_runs import counters, run_family

from kerasgen import training, zoo
from kerasgen.errors import UserError


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
