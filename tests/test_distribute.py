"""kerasgen.distribute, and every family trained under tf.distribute strategies.

Strategies need devices fixed before TensorFlow starts its runtime, which the
pytest process has long done, so the distributed runs happen in subprocesses
that run this file as a script:

* `python test_distribute.py mirrored OUT.json`: splits the CPU into 2
  logical devices and trains each family on the same global batches twice,
  with the default strategy and with `MirroredStrategy` over both devices,
  from the same initial weights; writes both loss trajectories, the largest
  weight difference, and whether every mirrored variable (weights, optimizer
  slots, seed states, EMA generator, image pools, metrics excluded) holds the
  same value on both replicas.
* `python test_distribute.py worker OUT.npz` (with `TF_CONFIG` set): one
  worker of a two-worker `MultiWorkerMirroredStrategy` run.

Why the trajectories can be compared closely: kerasgen cuts each replica's
noise (latents, VAE sampling and binarization, WGAN-GP mixing weights,
dropout masks) from one draw for the global batch, keeps one image pool for
the global batch, and normalizes the GAN generator's batches with global-batch
statistics, so a mirrored step computes the same function as a one-device
step on the same global batch, and randomness need not be switched off. Only
rounding differs: the order of floating-point sums (gradients summed over
replicas after 1/replicas scaling; batch statistics as E[x^2] - E[x]^2), and
eager (the reference run) against graph execution (the mirrored run).

Tolerances. Plain SGD is used, not Adam: Adam divides a gradient by its own
size, which would hide a wrongly scaled loss, while with SGD a loss not
divided by the number of replicas doubles every step. Measured differences
(3 steps, 2 replicas) are at most 3e-6 relative on the logged losses and
below 1e-6 of the weights' movement (CycleGAN: ~1%, see below); the tests
allow 1e-4 relative on losses and 1e-3 of the movement on weights. An
unscaled loss changes the losses by 1-5% from the second step; noise drawn
alike on both replicas, a pool or batch statistics per replica would change
them from the first. CycleGAN's L1 losses have sign gradients, so rounding
flips the gradient of residuals near zero (one device, eager against graph,
differs as much); its weights are allowed 25% of their movement, and its
losses after the first step 1e-2 relative (a flipped sign moves the next
step's cycle loss by ~1e-3; a loss not divided by the number of replicas
still shows, as twice the weights' movement), the first step's 1e-4 like
the others'.
"""

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from kerasgen.errors import UserError

pytestmark = pytest.mark.slow  # runs in .ci/run after the README's test command

FAMILIES = ("autoencoder", "vae", "gan", "classifier", "cyclegan", "cyclegan_semantic")
STEPS = 3
LEARNING_RATE = 1e-3
TOLERANCE = 1e-4
# CycleGAN's L1 losses have sign gradients: residuals near zero flip sign under rounding differences
# (the same happens between eager and graph execution on one device), moving weights by a few percent of a step.
RELATIVE_WEIGHT_TOLERANCE = {"cyclegan": 0.25, "cyclegan_semantic": 0.25}
LOSS_TOLERANCE_AFTER_THE_FIRST_STEP = {"cyclegan": 1e-2, "cyclegan_semantic": 1e-2}
HERE = os.path.dirname(os.path.abspath(__file__))


def build_compiled(family, run_eagerly=False):
    """A tiny, seeded model of `family`, compiled in the current strategy's scope."""
    import keras

    from kerasgen.autoencoder import AutoEncoder
    from kerasgen.classifier import Classifier
    from kerasgen.cyclegan import CycleGAN
    from kerasgen.gan import GAN
    from kerasgen.vae import VAE

    keras.utils.set_random_seed(0)
    small = {"image_shape": (16, 16, 1), "latent_dim": 3, "architecture": "conv", "hidden_units": (16,)}
    sgd = keras.optimizers.SGD
    if family == "autoencoder":
        model = AutoEncoder(**small, filters=(4, 8))
    elif family == "vae":
        model = VAE(**small, filters=(4, 8), seed=0)
    elif family == "gan":
        model = GAN(
            image_shape=(16, 16, 1),
            latent_dim=4,
            generator_filters=(8, 4),
            discriminator_filters=(4, 8),
            loss="wasserstein",
            d_steps=2,  # each step: two critic updates on disjoint halves of the global batch
            ema_decay=0.9,
            seed=0,
        )
        model.compile(
            d_optimizer=sgd(LEARNING_RATE),
            g_optimizer=sgd(LEARNING_RATE),
            run_eagerly=run_eagerly,
        )
        return model
    elif family == "classifier":
        model = Classifier(image_shape=(16, 16, 1), filters=(4, 8), feature_units=16, dropout=0.4)
        model.compile(optimizer=sgd(LEARNING_RATE), loss="sparse_categorical_crossentropy", run_eagerly=run_eagerly)
        return model
    else:
        options = {"generator_filters": 4, "residual_blocks": 1, "discriminator_filters": 4, "pool_size": 3}
        if family == "cyclegan_semantic":  # CyCADA's semantic loss through a frozen classifier (8 -> 32 pixels)
            options["semantic_classifier"] = "classifier.uci"
        model = CycleGAN(image_shape=(8, 8, 1), lambda_identity=0.0, seed=0, **options)
        optimizers = {name: sgd(LEARNING_RATE) for name in ("g_a2b", "g_b2a", "d_a", "d_b")}
        model.compile(
            **{f"{name}_optimizer": optimizer for name, optimizer in optimizers.items()}, run_eagerly=run_eagerly
        )
        return model
    model.compile(optimizer=sgd(LEARNING_RATE), run_eagerly=run_eagerly)
    return model


def training_batches(family):
    """`(x, y, global_batch_size)`: STEPS batches of real digits in [0, 1]."""
    from kerasgen import data

    if family.startswith("cyclegan"):
        images_a, images_b = data.load_unpaired("digits", "test", size=8)
        return data.to_unit_range(images_a[: 4 * STEPS]), data.to_unit_range(images_b[: 4 * STEPS]), 4
    images, labels = data.load_images("mnist", "train", size=16)
    labels = labels[: 8 * STEPS] if family == "classifier" else None
    return data.to_unit_range(images[: 8 * STEPS]), labels, 8


def loss_recorder():
    """A Keras callback whose `steps` collects each step's logged losses (running means over the epoch)."""
    import keras

    class LossRecorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.steps = []

        def on_train_batch_end(self, batch, logs=None):
            self.steps.append({key: float(value) for key, value in logs.items() if "loss" in key})

    return LossRecorder()


def train(family, strategy, initial_weights=None, run_eagerly=False):
    """Fit `family` for STEPS steps under `strategy`; returns (model, initial weights, per-step losses)."""
    with strategy.scope():
        model = build_compiled(family, run_eagerly)
        if initial_weights is not None:
            model.set_weights(initial_weights)
    start = [np.array(weight) for weight in model.get_weights()]
    x, y, batch_size = training_batches(family)
    recorder = loss_recorder()
    model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0, callbacks=[recorder])
    return model, start, recorder.steps


def replica_copies_agree(model):
    """Whether every non-metric variable of `model` and its optimizers holds the same value on all replicas."""
    variables = list(model.variables)
    for name in ("optimizer", "d_optimizer", "g_optimizer", "g_a2b_optimizer", "g_b2a_optimizer", "d_a_optimizer"):
        optimizer = getattr(model, name, None)
        variables += list(optimizer.variables) if optimizer is not None else []
    metric_ids = {id(variable) for metric in model.metrics for variable in metric.variables}
    disagreeing = []
    for variable in variables:
        copies = getattr(variable.value, "values", None)
        if id(variable) in metric_ids or copies is None:
            continue
        first = np.asarray(copies[0])
        if any(not np.array_equal(first, np.asarray(copy)) for copy in copies[1:]):
            disagreeing.append(variable.path)
    return disagreeing


def largest_difference(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b)), initial=0.0))


def run_mirrored_comparison(out_path, families):
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    results = {}
    for family in families.split(","):
        single, start, single_losses = train(family, tf.distribute.get_strategy(), run_eagerly=True)
        multi, _, multi_losses = train(family, mirrored, initial_weights=start)
        trainable = [index for index, weight in enumerate(single.weights) if weight.trainable]
        single_weights, multi_weights = single.get_weights(), multi.get_weights()
        results[family] = {
            "default": single_losses,
            "mirrored": multi_losses,
            "weight_difference": max(largest_difference(single_weights[i], multi_weights[i]) for i in trainable),
            "weights_moved": max(largest_difference(single_weights[i], start[i]) for i in trainable),
            "disagreeing_replica_copies": replica_copies_agree(multi),
            "replicas": mirrored.num_replicas_in_sync,
        }
    with open(out_path, "w") as handle:
        json.dump(results, handle)


def run_worker(out_path, family):
    from kerasgen import distribute

    strategy = distribute.make_strategy("multiworker")
    model, _, losses = train(family, strategy)
    arrays = {f"weight_{index}": np.asarray(weight) for index, weight in enumerate(model.get_weights())}
    losses = np.array([step["loss"] for step in losses])
    np.savez(out_path, is_chief=distribute.is_chief(strategy), losses=losses, **arrays)


# ---------------------------------------------------------------- in-process tests


def test_strategy_names_and_default_strategy():
    import tensorflow as tf

    from kerasgen import distribute

    assert distribute.STRATEGIES == ("default", "mirrored", "multiworker")
    assert distribute.make_strategy("default") is tf.distribute.get_strategy()
    assert distribute.is_chief() and distribute.is_chief(distribute.make_strategy("default"))
    with pytest.raises(UserError, match="Unknown strategy 'horovod'"):
        distribute.make_strategy("horovod")


@pytest.mark.parametrize(
    "tf_config, message",
    [
        (None, "TF_CONFIG .* is not set"),
        ("{cluster", "not valid JSON"),
        ('{"task": {"type": "worker", "index": 0}}', '"cluster"'),
        ('{"cluster": {"worker": ["127.0.0.1:1"]}}', '"task"'),
        ('{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 3}}', "not in its cluster"),
    ],
)
def test_multiworker_needs_a_valid_tf_config(monkeypatch, tf_config, message):
    from kerasgen import distribute

    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(UserError, match=message) as error:
        distribute.make_strategy("multiworker")
    assert "\n" not in str(error.value)


def test_helpers_are_the_identity_with_one_replica():
    import keras

    from kerasgen import distribute

    loss = keras.ops.convert_to_tensor(3.0)
    assert distribute.num_replicas() == 1
    assert distribute.scale_loss_for_replicas(loss) is loss
    assert distribute.replica_rows(5) == (0, 5)
    generator = keras.random.SeedGenerator(7)
    drawn = distribute.draw_for_replica_batch(lambda shape: keras.random.normal(shape, seed=generator), (4, 2))
    np.testing.assert_array_equal(drawn, keras.random.normal((4, 2), seed=keras.random.SeedGenerator(7)))


# ---------------------------------------------------------------- distributed runs (subprocesses)


def clean_environment(**extra):
    environment = {key: value for key, value in os.environ.items() if key != "TF_CONFIG"}
    environment.update(CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2", **extra)
    return environment


def run_script(processes, timeout):
    """Wait for `processes` (running this file as a script); kill those still running after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    try:
        for process in processes:
            _, stderr = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
            assert process.returncode == 0, stderr[-3000:]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def start_script(mode, out, argument, **environment):
    return subprocess.Popen(
        [sys.executable, os.path.join(HERE, "test_distribute.py"), mode, str(out), argument],
        env=clean_environment(**environment),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def mirrored_results(tmp_path_factory):
    """The mirrored-vs-default runs of all families, in two processes at once (one per core)."""
    folder = tmp_path_factory.mktemp("mirrored")
    groups = ("cyclegan,cyclegan_semantic,classifier", "autoencoder,vae,gan")
    run_script([start_script("mirrored", folder / f"{index}.json", group) for index, group in enumerate(groups)], 240)
    results = {}
    for index in range(len(groups)):
        with open(folder / f"{index}.json") as handle:
            results.update(json.load(handle))
    return results


@pytest.mark.parametrize("family", FAMILIES)
def test_mirrored_strategy_follows_the_default_strategys_trajectory(mirrored_results, family):
    """Same initial weights, same global batches, same seeds: the same steps up to rounding (see the module doc)."""
    result = mirrored_results[family]
    assert result["replicas"] == 2
    assert len(result["default"]) == len(result["mirrored"]) == STEPS
    for step, (single, multi) in enumerate(zip(result["default"], result["mirrored"], strict=True)):
        assert set(single) == set(multi)
        tolerance = LOSS_TOLERANCE_AFTER_THE_FIRST_STEP.get(family, TOLERANCE) if step else TOLERANCE
        for key in single:
            assert multi[key] == pytest.approx(single[key], rel=tolerance, abs=TOLERANCE), (step, key)
    assert result["weights_moved"] > 0
    assert result["weight_difference"] < RELATIVE_WEIGHT_TOLERANCE.get(family, 1e-3) * result["weights_moved"]
    assert result["disagreeing_replica_copies"] == []


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for handle in sockets:
        handle.bind(("127.0.0.1", 0))
    ports = [handle.getsockname()[1] for handle in sockets]
    for handle in sockets:
        handle.close()
    return ports


def test_two_workers_train_to_identical_weights(tmp_path):
    """Two MultiWorkerMirroredStrategy workers on 127.0.0.1 fit a tiny VAE (random draws included) for a few steps.

    Both end with the same weights, bit for bit, and their losses follow a
    one-device run on the same global batches: each worker saw its half of
    every batch (dataset sharding) and the gradients are those of the global
    batch's mean.
    """
    from kerasgen import distribute

    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    tasks = [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}) for index in range(2)]
    run_script(
        [start_script("worker", tmp_path / f"{index}.npz", "vae", TF_CONFIG=tasks[index]) for index in range(2)], 240
    )
    chief, other = (np.load(tmp_path / f"{index}.npz") for index in range(2))
    assert bool(chief["is_chief"]) and not bool(other["is_chief"])
    np.testing.assert_array_equal(chief["losses"], other["losses"])
    _, _, one_device = train("vae", distribute.make_strategy("default"), run_eagerly=True)
    np.testing.assert_allclose(chief["losses"], [step["loss"] for step in one_device], rtol=TOLERANCE)
    names = sorted(name for name in chief.files if name.startswith("weight_"))
    assert names == sorted(name for name in other.files if name.startswith("weight_"))
    for name in names:
        np.testing.assert_array_equal(chief[name], other[name], err_msg=name)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    mode, path, argument = sys.argv[1:4]
    {"mirrored": run_mirrored_comparison, "worker": run_worker}[mode](path, argument)


def test_kerasgen_train_on_two_workers_writes_only_on_the_chief(tmp_path):
    """`kerasgen train --strategy multiworker` in two processes: one model folder, by the chief, and no other file."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    command = [
        *(sys.executable, "-m", "kerasgen.cli", "train", "autoencoder", "--data", "uci", "--image-size", "16"),
        *("--filters", "4,8", "--latent-dim", "3", "--batch-size", "256", "--epochs", "2", "--strategy", "multiworker"),
    ]
    workers = []
    for index in range(2):
        task = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        workers.append(
            subprocess.Popen(
                [*command, "--out", str(tmp_path / f"out{index}")],
                env=clean_environment(TF_CONFIG=task),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = []
    try:
        for worker in workers:
            outputs.append(worker.communicate(timeout=240)[0])
            assert worker.returncode == 0, outputs[-1][-3000:]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    assert "Model folder:" in outputs[0] and "Worker done" in outputs[1]
    card = json.loads((tmp_path / "out0" / "card.json").read_text())
    assert card["training"]["completed_epochs"] == 2
    assert (tmp_path / "out0" / "checkpoint.npz").exists() and (tmp_path / "out0" / "samples.png").exists()
    assert not (tmp_path / "out1").exists()


POISON_ONE_WORKER = """
import json
import os
import sys

import keras
import numpy as np

from kerasgen.cli import main


class PoisonAfterSecondEpoch(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if self.params["steps"] - 1 == batch and getattr(self, "epoch", None) == 1:
            kernel = self.model.trainable_weights[0]
            kernel.assign(np.full(kernel.shape, np.nan, "float32"))  # this worker's copy only

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch


if json.loads(os.environ["TF_CONFIG"])["task"]["index"] == 1:
    fit = keras.Model.fit
    keras.Model.fit = lambda model, *args, callbacks=(), **kwargs: fit(
        model, *args, callbacks=[PoisonAfterSecondEpoch(), *callbacks], **kwargs
    )
sys.argv = ["kerasgen", *sys.argv[1:]]
main()
"""


def test_a_nan_on_one_worker_stops_every_worker_at_the_same_step(tmp_path):
    """A weight turns NaN on the non-chief worker only, after the last step of epoch 2, where no loss sees it.

    Every worker checks its variables at the same steps and they vote, so
    both stop there and exit 2 (none waits forever in an all-reduce), and the
    chief's folder holds epoch 1.
    """
    script = tmp_path / "poison_one_worker.py"
    script.write_text(POISON_ONE_WORKER)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    command = [
        *(sys.executable, str(script), "train", "autoencoder", "--data", "uci", "--image-size", "16"),
        *("--architecture", "dense", "--hidden-units", "16", "--latent-dim", "3", "--batch-size", "256"),
        *("--epochs", "3", "--checkpoint-every", "2", "--strategy", "multiworker", "--no-jit-compile"),
    ]
    workers = [
        subprocess.Popen(
            [*command, "--out", str(tmp_path / f"out{index}")],
            env=clean_environment(
                TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for index in range(2)
    ]
    deadline = time.monotonic() + 120
    outputs = []
    try:
        for worker in workers:
            outputs.append(worker.communicate(timeout=max(1.0, deadline - time.monotonic()))[0])
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    for worker, output in zip(workers, outputs, strict=True):
        assert worker.returncode == 2, output[-3000:]
        assert "Training diverged in epoch 2:" in output, output[-3000:]
    assert "epoch 2: a variable on another worker became non-finite" in outputs[0]  # the chief's copy was fine
    assert "epoch 2: variable " in outputs[1] and "another worker" not in outputs[1]
    card = json.loads((tmp_path / "out0" / "card.json").read_text())
    assert card["training"]["completed_epochs"] == 1
    assert not (tmp_path / "out1").exists()
