"""Training runs: from a family name and plain options to a model folder.

A run writes into its output folder:

* `card.json`: model class and config, data, the training recipe and command,
  the weights file and its sha256 (the same format as a zoo entry's card);
* `model.weights.h5`: the trained weights;
* `checkpoint.npz`: the whole training state (see `save_training_state`),
  every `checkpoint_every` steps and after each epoch; running the same
  command again after a crash resumes from it;
* `samples.png` and `samples/epoch_NNN.png`: the preview grid at the end and
  after every epoch;
* `logs/`: TensorBoard logs.

Files are written to a temporary name and renamed, so an interrupted run
never leaves a half-written card, weights file or checkpoint. Under a
multi-worker strategy only the chief writes.

Example:
    >>> from kerasgen.training import train
    >>> folder = train("vae", "runs/vae", epochs=5)
    >>> model = kerasgen.zoo.load(folder)
"""

import json
import math
import os
import pathlib
import tempfile
import zipfile

import keras
import numpy as np

from kerasgen import data, distribute, families, imaging, zoo
from kerasgen.errors import UserError
from kerasgen.files import save_atomically, write_atomically
from kerasgen.finite import first_non_finite

CHECKPOINT = "checkpoint.npz"
DEFAULT_CHECKPOINT_EVERY = 200
# Runs with fewer steps than this train without XLA: its compile time would not be paid back. Longer runs time
# the step both ways on their own batches and keep the faster (`choose_xla`): which one wins depends on the CPU
# kind (oneDNN on or off), the family and the image size (benchmarks/RESULTS.md).
XLA_TRIAL_MIN_STEPS = 500
DOMAINS = {"digits": {"a": "UCI digits (scikit-learn), upsampled", "b": "MNIST training digits"}}
BASE_CONFIG_KEYS = ("name", "trainable", "dtype")
DATA_LICENSES = {
    "mnist": "MNIST (LeCun, Cortes, Burges), CC BY-SA 3.0",
    "uci": "UCI Optical Recognition of Handwritten Digits (Alpaydin, Kaynak), CC BY 4.0, via scikit-learn",
}
DATA_LICENSES["digits"] = f"A: {DATA_LICENSES['uci']}; B: {DATA_LICENSES['mnist']}"


class SampleGrid(keras.callbacks.Callback):
    """Writes the model's preview grid to `folder/epoch_NNN.png` after each epoch.

    Args:
        folder: where the PNGs go.
        images: real images for autoencoder and classifier previews (ignored by samplers).
        count: images per grid.
        seed: fixed seed, so that grids of successive epochs are comparable.
        log_dir: if given, the grid also goes to TensorBoard's Images tab.

    Example:
        >>> model.fit(dataset, callbacks=[SampleGrid("runs/vae/samples")])
    """

    def __init__(self, folder, images=None, count=64, seed=0, log_dir=None):
        super().__init__()
        self.folder = pathlib.Path(folder)
        self.images = images
        self.count = count
        self.seed = seed
        self.log_dir = log_dir

    def on_epoch_end(self, epoch, logs=None):
        batch, columns = imaging.preview(self.model, self.count, self.seed, self.images)
        imaging.save_grid(batch, self.folder / f"epoch_{epoch + 1:03d}.png", columns)
        if self.log_dir:
            import tensorflow as tf

            with tf.summary.create_file_writer(str(self.log_dir)).as_default():
                picture = imaging.grid(batch, columns)
                picture = picture[None, ..., None] if picture.ndim == 2 else picture[None]
                tf.summary.image("samples", picture, step=epoch + 1)


class StopOnNonFinite(keras.callbacks.Callback):
    """Stops training when any logged value (not only `loss`) or any variable of the
    model or its optimizers becomes NaN or infinite, and puts back the weights of
    the last epoch that ended with finite values.

    Logged values are read after every batch; the variables (weights,
    optimizer slots, EMA copies, batch-norm statistics, image pools) at every
    epoch end and before every checkpoint, with `kerasgen.finite.first_non_finite`
    (one fused reduction). Both are needed: with TensorFlow's oneDNN kernels a
    NaN kernel can leave the loss finite.

    Attributes:
        bad_key: the first non-finite log entry or variable, or None.
        good_epochs: epochs completed before the divergence (their weights are kept).

    Example:
        >>> guard = StopOnNonFinite()
        >>> model.fit(dataset, epochs=10, callbacks=[guard])
        >>> if guard.bad_key: print(f"diverged; kept the weights of epoch {guard.good_epochs}")
    """

    def __init__(self):
        super().__init__()
        self.bad_key = None
        self.good_epochs = 0
        self.good_weights = None

    def on_train_begin(self, logs=None):
        self.good_weights = self.model.get_weights()

    def check(self, logs=None, variables=True):
        """True if `logs` (and, with `variables`, every variable) are finite; otherwise stop and roll back."""
        if self.bad_key is None:
            bad_log = next((key for key, value in (logs or {}).items() if not math.isfinite(float(value))), None)
            bad_variable = first_non_finite(self.model) if variables and bad_log is None else None
            if bad_log is None and bad_variable is None:
                return True
            self.bad_key = bad_log or f"variable {bad_variable}"
            self.model.stop_training = True
            self.model.set_weights(self.good_weights)
        return False

    def on_train_batch_end(self, batch, logs=None):
        self.check(logs, variables=False)

    def on_epoch_end(self, epoch, logs=None):
        if self.check(logs):
            self.good_weights = self.model.get_weights()
            self.good_epochs = epoch + 1


def _finite(logs):
    return all(math.isfinite(float(value)) for value in (logs or {}).values())


def state_variables(model):
    """Every variable a resumed run needs, by a stable key.

    The model's own variables (weights, batch-norm statistics, EMA copies,
    image pools and the states of its seed generators, which
    `save_weights` leaves out) as `model/INDEX`, then the variables of each
    built optimizer attribute as `ATTRIBUTE/INDEX` (`optimizer`,
    `d_optimizer`, `g_a2b_optimizer`, ...).
    """
    variables = {f"model/{index}": variable for index, variable in enumerate(model.variables)}
    for name in sorted(vars(model)):
        optimizer = vars(model)[name]
        if isinstance(optimizer, keras.optimizers.Optimizer) and optimizer.built:
            variables.update({f"{name}/{index}": variable for index, variable in enumerate(optimizer.variables)})
    return variables


def save_training_state(model, path, counters):
    """Write every state variable and the run's `counters` (a JSON-able dict) to one `.npz`, atomically.

    The file is written beside `path` under a temporary name, flushed to
    disk, then renamed over `path`: a crash at any moment leaves either the
    previous checkpoint or the new one, never a torn file. A failed write
    (a full disk) raises `UserError` and leaves the previous checkpoint.

    Example:
        >>> save_training_state(model, pathlib.Path("runs/gan/checkpoint.npz"), {"step": 400})
    """
    path = pathlib.Path(path)
    arrays = {key: keras.ops.convert_to_numpy(variable) for key, variable in state_variables(model).items()}
    arrays["counters"] = np.array(json.dumps(counters))

    def write(temporary):
        with open(temporary, "wb") as file:
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())

    save_atomically(path, write, suffix=".npz")


def restore_training_state(model, path):
    """Load a checkpoint written by `save_training_state` into `model`; returns its counters.

    Raises:
        UserError: the file is unreadable or holds another model's state.

    Example:
        >>> counters = restore_training_state(model, "runs/gan/checkpoint.npz")
        >>> counters["step"]
        400
    """
    try:
        with np.load(path) as stored:
            arrays = {key: stored[key] for key in stored.files}
        counters = json.loads(str(arrays.pop("counters")))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise UserError(f"Cannot read checkpoint {str(path)!r} ({error}); pass --overwrite to start afresh.") from None
    variables = state_variables(model)
    mismatched = sorted(
        key
        for key in set(arrays) | set(variables)
        if key not in arrays or key not in variables or arrays[key].shape != tuple(variables[key].shape)
    )
    if mismatched:
        raise UserError(
            f"Checkpoint {str(path)!r} holds the state of another model ({mismatched[0]} differs); "
            "rerun with the options that started it, or pass --overwrite to start afresh."
        )
    for key, variable in variables.items():
        variable.assign(arrays[key])
    return counters


class RunCheckpoint(keras.callbacks.Callback):
    """Saves the whole training state every `every` steps and after each epoch (see `save_training_state`).

    Nothing is saved while a logged value or a variable is non-finite, so the
    file always holds the last good state.

    Args:
        path: the checkpoint file (`.npz`).
        steps_per_epoch: steps in one epoch.
        start_step: steps already done when training starts (on a resume).
        every: steps between checkpoints within an epoch; None for epoch ends only.
        fingerprint: the run's settings, stored so that a resume can check them.
        epoch_logs: the logs of the last completed epoch (on a resume).
        guard: the run's `StopOnNonFinite`, which checks logs and variables
            before each save (and rolls back and stops on a failure); None
            to check them here.

    Attributes:
        step: steps completed so far.
        epoch_logs: the logs of the last epoch that ended with finite values.

    Example:
        >>> model.fit(dataset, epochs=3, callbacks=[RunCheckpoint("runs/vae/checkpoint.npz", len(dataset), every=100)])
    """

    def __init__(self, path, steps_per_epoch, start_step=0, every=None, fingerprint=None, epoch_logs=None, guard=None):
        super().__init__()
        self.path = pathlib.Path(path)
        self.steps_per_epoch = steps_per_epoch
        self.step = self.epoch_start = start_step
        self.every = every
        self.fingerprint = fingerprint
        self.epoch_logs = epoch_logs or {}
        self.guard = guard
        self.xla = None

    def healthy(self, logs):
        if self.guard is not None:
            return self.guard.check(logs)
        return _finite(logs) and first_non_finite(self.model) is None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = self.step

    def on_train_batch_end(self, batch, logs=None):
        done_before, self.step = self.step, self.epoch_start + batch + 1  # batch: the last of `steps_per_execution`
        crossed = self.every and self.step // self.every > done_before // self.every
        if crossed and self.step % self.steps_per_epoch and self.healthy(logs):
            self.save()

    def on_epoch_end(self, epoch, logs=None):
        if self.healthy(logs):
            self.epoch_logs = {key: round(float(value), 4) for key, value in (logs or {}).items()}
            self.save()

    def save(self):
        counters = {
            "step": self.step,
            "epoch": self.step // self.steps_per_epoch,
            "epoch_logs": self.epoch_logs,
            "fingerprint": self.fingerprint,
            "xla": self.xla,
        }
        save_training_state(self.model, self.path, counters)


def save_weights_atomically(model, path):
    """`model.save_weights(path)` through a temporary file in the same folder (`UserError` if it cannot be written)."""
    save_atomically(path, model.save_weights, suffix=".weights.h5")


def prepare_output(out, overwrite):
    """Create the output folder; refuse a file, a folder holding a model (unless `overwrite`), or no permission."""
    out = pathlib.Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"Output path {str(out)!r} is a file, not a folder.")
    if (out / zoo.CARD).exists() and not overwrite:
        raise UserError(f"{str(out)!r} already holds a trained model; pass --overwrite or choose another --out.")
    try:
        out.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out).close()
    except OSError as error:
        raise UserError(f"Cannot write to output folder {str(out)!r}: {error.strerror}.") from None
    return out


def hyperparameters(model):
    """The model's own config, without Keras's name/trainable/dtype."""
    return {key: value for key, value in model.get_config().items() if key not in BASE_CONFIG_KEYS}


RUN_DEFAULTS = {"seed": 0}


def train(
    family,
    out,
    overwrite=False,
    verbose="auto",
    command=None,
    checkpoint_every=DEFAULT_CHECKPOINT_EVERY,
    deterministic=False,
    strategy="default",
    mixed_precision=False,
    jit_compile=None,
    **options,
):
    """Train one model of a registered family and write its folder; returns the folder's path.

    Args:
        family: a family name (`kerasgen.families.names()`).
        out: output folder (created; refused if it already holds a model,
            unless `overwrite`).
        overwrite: replace a model already in `out`, or start afresh
            instead of resuming an unfinished run there.
        verbose: passed to `fit`.
        command: the command line to record in the card.
        checkpoint_every: steps between checkpoints within an epoch (one is
            also written after every epoch); None for epoch ends only.
        deterministic: make TensorFlow's ops deterministic
            (`tf.config.experimental.enable_op_determinism`), so that a run
            interrupted and resumed ends with the weights of an uninterrupted one.
        strategy: `default`, `mirrored` (all local devices) or `multiworker`
            (from `TF_CONFIG`); see `kerasgen.distribute`.
        mixed_precision: compute in bfloat16 (CPU) or float16 with loss
            scaling (GPU), keeping variables in float32; see `precision_policy`.
        jit_compile: compile the train step with XLA (True) or without
            (False); None to let `choose_xla` decide for this machine.
        **options: the family's recipe keys (`data`, `epochs`, `batch_size`,
            `learning_rate`, `seed`, `image_size`, and `max_shift` for single
            images or `channels`, `augment`, `decay_epochs`, `steps_per_epoch`
            for unpaired domains; defaults in `Family.recipe`) and model
            hyperparameters (defaults: the model class's).

    Example:
        >>> folder = train("autoencoder", "runs/ae", epochs=2, latent_dim=30)
        >>> folder = train("cyclegan", "runs/cyclegan", data="digits", epochs=1)
    """
    family = families.get(family)
    recipe = {**family.recipe, **RUN_DEFAULTS}
    recipe.update({key: options.pop(key) for key in list(options) if key in recipe})
    for key, value in family.data_defaults.get(recipe["data"], {}).items():
        chosen = recipe if key in recipe else options
        if chosen.get(key) is None:
            chosen[key] = value
    options = {key: None if value == "none" else value for key, value in options.items()}
    check_schedule(recipe["epochs"], recipe["batch_size"])
    strategy = start_run(recipe["seed"], deterministic, strategy, mixed_precision)
    source = DATA_KINDS[family.data](recipe, family)
    with strategy.scope():
        model = build_model(family, {"image_shape": source.image_shape, **options})
    source.load(family.uses_labels(hyperparameters(model)))
    check_replica_batch(recipe["batch_size"], strategy)
    if family.images_per_step:
        source.batch_size = family.hook("images_per_step")(model, recipe["batch_size"])
    recipe["steps_per_epoch"] = source.steps_per_epoch(strategy)
    recipe["data"] = source.name
    out = prepare_output(out, overwrite) if distribute.is_chief(strategy) else pathlib.Path(out)
    with strategy.scope():
        try:
            recipe["optimizer"] = family.hook("compile")(model, recipe, compiled_jit(jit_compile, strategy))
        except ValueError as error:
            raise UserError(str(error).splitlines()[0]) from None
    recipe = {"command": command, **recipe, "precision": keras.mixed_precision.global_policy().name}
    run = {"verbose": verbose, "checkpoint_every": checkpoint_every, "overwrite": overwrite, "strategy": strategy}
    return fit_and_write(
        model, out, source.make_data, source.preview, source.card, recipe, family.paper, jit_compile=jit_compile, **run
    )


class SingleDomainData:
    """A family's training images (and labels) from `mnist`, `uci`, `tfds:NAME` or a folder.

    Example:
        >>> source = SingleDomainData({"data": "uci", "image_size": 16, "batch_size": 32, ...})
        >>> source.load(with_labels=True)
        >>> dataset = source.make_data(start_step=0)
    """

    def __init__(self, recipe, family):
        self.recipe = recipe
        self.family = family
        self.name = recipe["data"]
        self.image_shape = (recipe["image_size"], recipe["image_size"], 1)
        self.batch_size = recipe["batch_size"]

    def load(self, with_labels):
        images, labels = data.load_images(self.name, "train", self.recipe["image_size"])
        if with_labels and labels.min() < 0:
            raise UserError(f"This model needs labelled data (mnist, uci, digits, tfds:NAME); {self.name!r} has none.")
        if not data.has_heldout_split(self.name):
            self.name = str(pathlib.Path(self.name).resolve())
        self.images, self.labels = images, labels if with_labels else None
        self.preview = data.to_unit_range(data.fixed_subset(images, 64))
        max_shift = self.recipe["max_shift"]
        self.card = {
            "dataset": self.name,
            "split": "train",
            "images": len(images),
            "image_size": self.recipe["image_size"],
            "augmentation": f"random shifts of up to {max_shift} pixels" if max_shift else "none",
            "license": DATA_LICENSES.get(self.name, "the user's"),
        }

    def steps_per_epoch(self, strategy):
        full = self.family.full_batches or strategy.num_replicas_in_sync > 1
        self.drop_remainder = full and len(self.images) >= self.batch_size
        return data.steps_per_epoch(len(self.images), self.batch_size, self.drop_remainder)

    def make_data(self, start_step):
        recipe = self.recipe
        return data.make_dataset(
            self.images,
            self.batch_size,
            seed=recipe["seed"],
            max_shift=recipe["max_shift"],
            labels=self.labels,
            drop_remainder=self.drop_remainder,
            epochs=recipe["epochs"],
            start_step=start_step,
        )


class UnpairedData:
    """Two unpaired domains, A and B, from `digits`, a `trainA/ trainB/` folder or `tfds:cycle_gan/NAME`.

    Example:
        >>> source = UnpairedData({"data": "digits", "image_size": 32, "channels": None, ...})
        >>> source.load(with_labels=False)
    """

    def __init__(self, recipe, family):
        self.recipe = recipe
        self.name = recipe["data"]
        digits = self.name == "digits"
        recipe["channels"] = int(recipe["channels"] or (1 if digits else 3))
        recipe["augment"] = (not digits) if recipe["augment"] is None else bool(recipe["augment"])
        self.image_shape = (recipe["image_size"], recipe["image_size"], recipe["channels"])

    def load(self, with_labels):
        recipe = self.recipe
        self.images_a, self.images_b = data.load_unpaired(self.name, "train", recipe["image_size"], recipe["channels"])
        for domain, images in (("A", self.images_a), ("B", self.images_b)):
            if not len(images):
                raise UserError(f"Domain {domain} of {self.name!r} has no training images.")
        if not (self.name == "digits" or self.name.startswith("tfds:")):
            self.name = str(pathlib.Path(self.name).resolve())
        self.preview = (
            data.to_unit_range(data.fixed_subset(self.images_a, 8)),
            data.to_unit_range(data.fixed_subset(self.images_b, 8)),
        )
        self.card = {
            "dataset": self.name,
            "domains": DOMAINS.get(self.name, {"a": "trainA", "b": "trainB"}),
            "split": "train",
            "images": {"a": len(self.images_a), "b": len(self.images_b)},
            "image_size": recipe["image_size"],
            "channels": recipe["channels"],
            "augmentation": "resize to 286/256 of the size, random crop, random horizontal flip"
            if recipe["augment"]
            else "none",
            "license": DATA_LICENSES.get(self.name, "the user's"),
        }

    def steps_per_epoch(self, strategy):
        recipe = self.recipe
        return data.unpaired_steps_per_epoch(
            len(self.images_a), len(self.images_b), recipe["batch_size"], recipe["steps_per_epoch"]
        )

    def make_data(self, start_step):
        recipe = self.recipe
        return data.make_unpaired_dataset(
            self.images_a,
            self.images_b,
            recipe["batch_size"],
            recipe["steps_per_epoch"],
            seed=recipe["seed"],
            augment=recipe["augment"],
            epochs=recipe["epochs"],
            start_step=start_step,
        )


DATA_KINDS = {families.IMAGES: SingleDomainData, families.UNPAIRED: UnpairedData}


def check_schedule(epochs, batch_size):
    for option, value in (("epochs", epochs), ("batch_size", batch_size)):
        if value < 1:
            raise UserError(f"{option} must be at least 1. Received: {option}={value}")


def check_replica_batch(batch_size, strategy):
    """The global batch must split evenly over the replicas (losses are scaled by their number)."""
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise UserError(
            f"--batch-size {batch_size} does not split evenly over {replicas} replicas; use a multiple of {replicas}."
        )


def build_model(family, config):
    """A fresh model of `family` from hyperparameters; the model's own ValueError (bad hyperparameters)
    becomes a one-line UserError."""
    try:
        return family.model_class()(**config)
    except (ValueError, TypeError) as error:
        raise UserError(str(error).splitlines()[0]) from None


def compiled_jit(jit_compile, strategy):
    """What the model is compiled with: the option, or until `choose_xla` decides, no XLA.

    With several replicas the choice is Keras's (`"auto"`): XLA cannot
    compile cross-device collectives on CPUs.
    """
    if jit_compile is not None:
        return jit_compile
    return "auto" if strategy.num_replicas_in_sync > 1 else False


def choose_xla(model, jit_compile, make_data, steps_left, interrupted=None):
    """Decide whether the train step runs with XLA, set it on the compiled `model`, and say why.

    In order: the `jit_compile` option if given; Keras's choice with several
    replicas; XLA with a mixed dtype policy (without it a mixed policy runs op
    by op, 5-10x slower on a CPU); the interrupted run's choice on a resume;
    no XLA for runs under `XLA_TRIAL_MIN_STEPS` steps; otherwise the faster
    of the two, timed on this machine by `time_train_step`.

    Args:
        model: a compiled model.
        jit_compile: the user's option (True, False or None).
        make_data: returns the run's dataset (batches for the trial).
        steps_left: steps the run still has to do.
        interrupted: the `choose_xla` record of the run being resumed, if any.

    Returns:
        A JSON-able record: `jit_compile`, `chosen_by` and, when measured,
        `seconds_per_step` with and without XLA.

    Example:
        >>> record = choose_xla(model, None, lambda: dataset, steps_left=2000)
        >>> record["jit_compile"], record["seconds_per_step"]
        (True, {'xla': 0.118, 'no_xla': 0.164})
    """
    record = {}
    if jit_compile is not None:
        choice, reason = bool(jit_compile), "option"
    elif model.distribute_strategy.num_replicas_in_sync > 1:
        return {"jit_compile": bool(model.jit_compile), "chosen_by": "Keras (several replicas)"}
    elif keras.mixed_precision.global_policy().compute_dtype != "float32":
        choice, reason = True, "mixed precision"
    elif interrupted and "jit_compile" in interrupted:
        choice, reason = interrupted["jit_compile"], "the interrupted run's choice"
        record = {key: interrupted[key] for key in ("seconds_per_step",) if key in interrupted}
    elif steps_left < XLA_TRIAL_MIN_STEPS:
        choice, reason = False, f"short run (under {XLA_TRIAL_MIN_STEPS} steps)"
    else:
        seconds = time_train_step(model, make_data())
        choice, reason = seconds["xla"] < seconds["no_xla"], "measured"
        record = {"seconds_per_step": seconds}
    if bool(model.jit_compile) != choice:
        model.jit_compile = choice
        model.train_function = None
    return {"jit_compile": choice, "chosen_by": reason, **record}


def describe_xla(record):
    """One line for the log, e.g. `XLA on: measured, 0.118 s/step with XLA, 0.164 without.`"""
    line = f"XLA {'on' if record['jit_compile'] else 'off'}: {record['chosen_by']}"
    seconds = record.get("seconds_per_step")
    if seconds:
        line += f", {seconds['xla']:.4g} s/step with XLA, {seconds['no_xla']:.4g} without"
    return line + "."


def time_train_step(model, dataset, steps=3, rounds=3):
    """Median seconds per train step with and without XLA, on batches of `dataset`; the model is left unchanged.

    Both versions are traced and compiled first, then timed in alternating
    rounds of `steps` steps, so that other load on the machine hits both
    alike. Every state variable (weights, optimizers, seed generators, image
    pools) is put back afterwards, and the metrics reset.

    Example:
        >>> time_train_step(model, dataset)
        {'xla': 0.118, 'no_xla': 0.164}
    """
    import time

    import tensorflow as tf

    variables = state_variables(model)
    saved = {key: keras.ops.convert_to_numpy(variable) for key, variable in variables.items()}
    batches = iter(dataset)
    functions = {mode: tf.function(model.train_step, jit_compile=mode == "xla") for mode in ("xla", "no_xla")}
    timings = {mode: [] for mode in functions}
    try:
        for function in functions.values():
            keras.tree.map_structure(np.asarray, function(next(batches)))
        for _ in range(rounds):
            for mode, function in functions.items():
                start = time.perf_counter()
                for _ in range(steps):
                    logs = function(next(batches))
                keras.tree.map_structure(np.asarray, logs)
                timings[mode].append((time.perf_counter() - start) / steps)
    finally:
        for key, variable in variables.items():
            variable.assign(saved[key])
        model.reset_metrics()
    return {mode: round(float(np.median(values)), 5) for mode, values in timings.items()}


def precision_policy(mixed_precision):
    """The Keras dtype policy for a run: `float32`, or `mixed_float16` on a GPU and `mixed_bfloat16` otherwise.

    Example:
        >>> keras.mixed_precision.set_global_policy(precision_policy(True))
    """
    if not mixed_precision:
        return "float32"
    import tensorflow as tf

    return "mixed_float16" if tf.config.list_physical_devices("GPU") else "mixed_bfloat16"


def start_run(seed, deterministic=False, strategy="default", mixed_precision=False):
    """Seed Python, NumPy and TensorFlow, set the dtype policy, optionally make ops deterministic.

    Returns the tf.distribute strategy.
    """
    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_global_policy(precision_policy(mixed_precision))
    if deterministic:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    return distribute.make_strategy(strategy) if isinstance(strategy, str) else strategy


def resume_point(model, checkpoint, fingerprint, overwrite):
    """Restore an unfinished run's state from `checkpoint`; returns (start step, the checkpoint's counters)."""
    if overwrite or not checkpoint.exists():
        return 0, {}
    counters = restore_training_state(model, checkpoint)
    if counters.get("fingerprint") != fingerprint:
        changed = sorted(key for key in fingerprint if fingerprint[key] != (counters.get("fingerprint") or {}).get(key))
        raise UserError(
            f"{str(checkpoint.parent)!r} holds an unfinished run with other settings ({', '.join(changed)}); "
            "rerun its own command to resume it, or pass --overwrite to start afresh."
        )
    return counters["step"], counters


def fit_and_write(
    model,
    out,
    make_data,
    preview_images,
    data_card,
    recipe,
    paper,
    verbose="auto",
    checkpoint_every=DEFAULT_CHECKPOINT_EVERY,
    overwrite=False,
    strategy=None,
    jit_compile=None,
):
    """Fit a compiled model with the standard callbacks, resuming from `out`'s checkpoint, then write the folder.

    `make_data(start_step)` must return the training dataset from step
    `start_step` to the end of the run (`recipe["epochs"]` epochs of
    `recipe["steps_per_epoch"]` steps). If `out` holds the checkpoint of an
    unfinished run with the same settings, training goes on from it: a
    partial epoch first, then the remaining epochs, for the same total
    number of steps.

    `jit_compile` True or False compiles the train step with XLA or without;
    None lets `choose_xla` decide (measured on this machine for long runs).

    If a logged value or a variable turns non-finite, training stops; the folder then holds
    the weights of the last good epoch and the call raises `UserError`
    saying so (or, if no epoch completed, writes nothing and raises). Under
    a multi-worker strategy, workers other than the chief write nothing and
    return None.
    """
    chief = distribute.is_chief(strategy)
    steps_per_epoch, epochs = recipe["steps_per_epoch"], recipe["epochs"]
    fingerprint = json.loads(
        json.dumps(
            {
                "class": type(model).__name__,
                "config": hyperparameters(model),
                "data": data_card,
                "recipe": {key: value for key, value in recipe.items() if key != "command"},
            }
        )
    )
    checkpoint = out / CHECKPOINT
    if chief:
        for torn in out.glob(f".{checkpoint.stem}.*"):  # left by a kill while writing
            torn.unlink()
        if overwrite:
            checkpoint.unlink(missing_ok=True)
    start_step, counters = resume_point(model, checkpoint, fingerprint, overwrite)
    total_steps = epochs * steps_per_epoch
    if start_step and chief:
        print(f"Resuming from {checkpoint}: {start_step} of {total_steps} steps done.")
    xla = choose_xla(model, jit_compile, lambda: make_data(start_step), total_steps - start_step, counters.get("xla"))
    if chief and verbose:
        print(describe_xla(xla))
    stop_on_non_finite = StopOnNonFinite()
    stop_on_non_finite.good_epochs = start_step // steps_per_epoch
    run_checkpoint = RunCheckpoint(
        checkpoint,
        steps_per_epoch,
        start_step,
        checkpoint_every,
        fingerprint,
        counters.get("epoch_logs"),
        guard=stop_on_non_finite,
    )
    run_checkpoint.xla = xla
    callbacks = [stop_on_non_finite]
    if chief:
        callbacks = [
            stop_on_non_finite,
            run_checkpoint,
            SampleGrid(out / "samples", preview_images, seed=recipe["seed"], log_dir=out / "logs" / "samples"),
            keras.callbacks.TensorBoard(str(out / "logs")),
        ]
    step = start_step
    while step < total_steps and not stop_on_non_finite.bad_key:
        epoch, done = divmod(step, steps_per_epoch)
        last_epoch = epoch + 1 if done else epochs
        model.fit(
            make_data(step),
            initial_epoch=epoch,
            epochs=last_epoch,
            steps_per_epoch=steps_per_epoch - done,
            callbacks=callbacks,
            verbose=verbose,
            shuffle=False,  # the dataset is shuffled by step; Keras would only warn that it ignores True
        )
        step = last_epoch * steps_per_epoch
    good_epochs = stop_on_non_finite.good_epochs
    if stop_on_non_finite.bad_key and not good_epochs:
        raise UserError(
            f"Training diverged in the first epoch: {stop_on_non_finite.bad_key} became non-finite; "
            "no model was saved. Try a lower --learning-rate."
        )
    if not chief:
        return None
    bad_variable = first_non_finite(model, optimizers=False)
    if bad_variable:  # cannot happen after a rollback to a checked epoch; never write such weights all the same
        raise UserError(f"Variable {bad_variable} is not finite; nothing was written to {out}.")
    (out / zoo.CARD).unlink(missing_ok=True)  # a replaced model never sits beside a stale card
    save_weights_atomically(model, out / "model.weights.h5")
    batch, columns = imaging.preview(model, 64, recipe["seed"], preview_images)
    imaging.save_grid(batch, out / "samples.png", columns)
    training = {**recipe, "final_logs": run_checkpoint.epoch_logs, "completed_epochs": good_epochs, "xla": xla}
    if start_step:
        training["resumed_from_step"] = start_step
    card = {
        "name": out.name,
        "class": type(model).__name__,
        "config": hyperparameters(model),
        "data": data_card,
        "training": training,
        "metrics": {},
        "weights": {"file": "model.weights.h5", "sha256": zoo.sha256(out / "model.weights.h5"), "url": None},
        "sample_grid": "samples.png",
        "paper": paper,
        "license": "Apache-2.0 (weights); data as stated",
    }
    write_atomically(out / zoo.CARD, json.dumps(card, indent=2) + "\n")
    if stop_on_non_finite.bad_key:
        raise UserError(
            f"Training diverged in epoch {good_epochs + 1}: {stop_on_non_finite.bad_key} became "
            f"non-finite. {out} holds the weights of epoch {good_epochs}, the last good one."
        )
    return out


def compile_with_adam(model, recipe, jit_compile="auto"):
    """Adam at the recipe's learning rate, built at once; returns the optimizer's recipe for the card.

    Building the optimizer now, not at the first step, gives a checkpoint the
    same variables before and after training starts.

    Example:
        >>> compile_with_adam(model, {"learning_rate": 1e-3})
        {'name': 'Adam', 'learning_rate': 0.001, 'beta_1': 0.9, 'beta_2': 0.999}
    """
    optimizer = keras.optimizers.Adam(recipe["learning_rate"])
    model.compile(optimizer=optimizer, jit_compile=jit_compile)
    model.optimizer.build(model.trainable_variables)
    return optimizer_recipe(optimizer)


def optimizer_recipe(optimizer, schedule=None):
    """An optimizer's settings as plain data for the card: name, learning rate (or schedule), betas."""
    recipe = {"name": type(optimizer).__name__}
    config = optimizer.get_config()
    for key in ("learning_rate", "beta_1", "beta_2", "epsilon"):
        if key in config and not isinstance(config[key], dict):
            recipe[key] = round(float(config[key]), 10)
    if schedule is not None:
        recipe["learning_rate"] = schedule
    return recipe
