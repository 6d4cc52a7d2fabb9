"""The callbacks of a training run: the preview grid each epoch, the divergence guard, the run's checkpoint.

Example:
    >>> guard = StopOnNonFinite()
    >>> model.fit(dataset, epochs=3, callbacks=[guard, RunCheckpoint("runs/vae/checkpoint.npz", len(dataset))])
"""

import math
import pathlib

import keras

from kerasgen import imaging
from kerasgen.finite import first_non_finite
from kerasgen.training.checkpoint import save_training_state


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
        batch, columns = self.model.preview(self.count, self.seed, self.images)
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
