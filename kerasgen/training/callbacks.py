"""The callbacks of a training run: the preview grid each epoch, the divergence guard, the run's checkpoint.

Example:
    >>> guard = StopOnNonFinite()
    >>> model.fit(dataset, epochs=3, callbacks=[guard, RunCheckpoint("runs/vae/checkpoint.npz", len(dataset))])
"""

import math
import pathlib

import keras

from kerasgen import imaging
from kerasgen.distribute import any_worker
from kerasgen.finite import first_non_finite
from kerasgen.training.checkpoint import save_training_state, save_weights_atomically, state_variables


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
    model or its optimizers becomes NaN or infinite, and puts back the whole state
    of the last epoch that ended with finite values.

    Logged values are read after every batch; the variables (weights,
    optimizer slots and iterations, EMA copies, batch-norm statistics, image
    pools) every `every` steps and at every epoch end, with
    `kerasgen.finite.first_non_finite` (one fused reduction). Both are needed:
    with TensorFlow's oneDNN kernels a NaN kernel can leave the loss finite.
    The rollback assigns every variable of `kerasgen.training.state_variables`
    (weights, optimizer slots and iterations, pools, seed generators) its value
    at the end of the last good epoch (or at the start of training), so no
    diverged optimizer state survives into a saved file.

    Under a strategy that spans several workers, every worker checks its
    variables at the same steps and the verdict is all-reduced
    (`kerasgen.distribute.any_worker`), so all workers stop at the same step
    and none is left waiting in an all-reduce. The logs need no vote: Keras
    averages them over all replicas, so every worker reads the same values.

    Put it before any callback that relies on its verdict (`RunCheckpoint`).

    Args:
        every: steps between variable checks within an epoch (those of the
            run's checkpoints); None for epoch ends only.
        start_step: steps already done when training starts (on a resume).
        strategy: the run's `tf.distribute` strategy; the checks are
            synchronized across workers if it spans several.

    Attributes:
        bad_key: the first non-finite log entry or variable, or None.
        good_epochs: epochs completed before the divergence (their state is kept).
        step: steps completed so far.
        checked_step: the step of the last check of the variables.

    Example:
        >>> guard = StopOnNonFinite(every=200)
        >>> model.fit(dataset, epochs=10, callbacks=[guard])
        >>> if guard.bad_key: print(f"diverged; kept the state of epoch {guard.good_epochs}")
    """

    def __init__(self, every=None, start_step=0, strategy=None):
        super().__init__()
        self.bad_key = None
        self.good_epochs = 0
        self.good_state = None
        self.every = every
        self.step = self.epoch_start = start_step
        self.checked_step = None
        self.strategy = strategy

    def on_train_begin(self, logs=None):
        self.good_state = snapshot(self.model)

    def check(self, logs=None, variables=True):
        """True if `logs` (and, with `variables`, every variable) are finite; otherwise stop and roll back.

        Under a multi-worker strategy a check of the variables is a collective:
        every worker must make it at the same step.
        """
        if self.bad_key is not None:
            return False
        bad_log = next((key for key, value in (logs or {}).items() if not math.isfinite(float(value))), None)
        bad_variable = elsewhere = None
        if variables:
            self.checked_step = self.step
            bad_variable = first_non_finite(self.model) if bad_log is None else None
            bad_here = bad_log is not None or bad_variable is not None
            elsewhere = any_worker(self.strategy, bad_here) and not bad_here  # every worker votes, good or bad
        if bad_log is None and bad_variable is None and not elsewhere:
            return True
        self.bad_key = bad_log or (f"variable {bad_variable}" if bad_variable else "a variable on another worker")
        self.model.stop_training = True
        restore(self.model, self.good_state)
        return False

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = self.step

    def on_train_batch_end(self, batch, logs=None):
        done_before, self.step = self.step, self.epoch_start + batch + 1  # batch: the last of `steps_per_execution`
        crossed = bool(self.every) and self.step // self.every > done_before // self.every
        self.check(logs, variables=crossed)

    def on_epoch_end(self, epoch, logs=None):
        if self.check(logs, variables=self.checked_step != self.step):
            self.good_state = snapshot(self.model)
            self.good_epochs = epoch + 1


def snapshot(model):
    """The value of every state variable of `model` (`state_variables`), as NumPy arrays by key."""
    return {key: keras.ops.convert_to_numpy(variable) for key, variable in state_variables(model).items()}


def restore(model, values):
    """Assign every state variable of `model` its value in `values` (a `snapshot`)."""
    for key, variable in state_variables(model).items():
        variable.assign(values[key])


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
        guard: the run's `StopOnNonFinite`, whose verdict on logs and
            variables decides each save (it rolls back and stops on a
            failure; put it before this callback, with the same `every`, so
            that it has checked the step already); None to check them here.
        selection: the run's `KeepBestOnValidation`, whose state each save
            stores (put it before this callback); None for none.

    Attributes:
        step: steps completed so far.
        epoch_logs: the logs of the last epoch that ended with finite values.

    Example:
        >>> model.fit(dataset, epochs=3, callbacks=[RunCheckpoint("runs/vae/checkpoint.npz", len(dataset), every=100)])
    """

    def __init__(
        self,
        path,
        steps_per_epoch,
        start_step=0,
        every=None,
        fingerprint=None,
        epoch_logs=None,
        guard=None,
        selection=None,
    ):
        super().__init__()
        self.path = pathlib.Path(path)
        self.steps_per_epoch = steps_per_epoch
        self.step = self.epoch_start = start_step
        self.every = every
        self.fingerprint = fingerprint
        self.epoch_logs = epoch_logs or {}
        self.guard = guard
        self.selection = selection
        self.xla = None

    def healthy(self, logs):
        if self.guard is None:
            return _finite(logs) and first_non_finite(self.model) is None
        if self.guard.checked_step != self.step:  # a guard checking on another schedule: ask it now
            return self.guard.check(logs)
        return self.guard.bad_key is None  # the guard, earlier in the callbacks, has checked this step

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
        if self.selection is not None:
            counters["selection"] = self.selection.state()
        save_training_state(self.model, self.path, counters)


class KeepBestOnValidation(keras.callbacks.Callback):
    """Measures the model's validation figure every `every` epochs and after the last; keeps the best epoch's weights.

    The best epoch's weights sit in `folder/best-epoch-NNN.weights.h5` (one
    file, replaced when a later epoch beats it). An epoch the divergence
    guard rolled back is not measured. The state (`state()`: the curve of
    the figure over epochs and the best epoch) goes into the run's
    checkpoint, so a resumed run goes on comparing against the same best.

    Put it after `StopOnNonFinite` and before `RunCheckpoint`.

    Args:
        figure: the model's `kerasgen.base.ValidationFigure`.
        every: epochs between measurements.
        folder: where the best epoch's weights go.
        epochs: the run's last epoch (always measured).
        state: a previous `state()` (on a resume), or None.

    Attributes:
        curve: `{epoch: figure}` of the measured epochs.
        best_epoch: the epoch with the best figure so far, or None.

    Example:
        >>> best = KeepBestOnValidation(model.validation_figure(card["data"]), every=2, folder=out, epochs=30)
        >>> model.fit(dataset, epochs=30, callbacks=[guard, best, checkpoint])
        >>> model.load_weights(best.best_weights())
    """

    def __init__(self, figure, every, folder, epochs, state=None):
        super().__init__()
        if every < 1:
            raise ValueError(f"every must be at least 1. Received: every={every}")
        self.figure = figure
        self.every = every
        self.folder = pathlib.Path(folder)
        self.epochs = epochs
        state = state or {}
        self.curve = {int(epoch): value for epoch, value in state.get("curve", {}).items()}
        self.best_epoch = state.get("best_epoch")

    def best_weights(self, epoch=None):
        """The weights file of the best epoch (or of `epoch`)."""
        return self.folder / f"best-epoch-{epoch or self.best_epoch:03d}.weights.h5"

    def on_train_begin(self, logs=None):
        keep = self.best_weights() if self.best_epoch else None
        for stale in self.folder.glob("best-epoch-*.weights.h5"):  # left by a run killed before its checkpoint
            if stale != keep:
                stale.unlink()

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if (done % self.every and done != self.epochs) or self.model.stop_training:
            return
        value = round(float(self.figure.measure()), 4)
        self.curve[done] = value
        best = self.curve.get(self.best_epoch)
        if self.figure.better(value, best):
            save_weights_atomically(self.model, self.best_weights(done))
            if self.best_epoch and self.best_epoch != done:
                self.best_weights().unlink(missing_ok=True)
            self.best_epoch = done
        print(
            f"Epoch {done}: {self.figure.name} {value} (best: epoch {self.best_epoch}, {self.curve[self.best_epoch]})"
        )

    def publish(self, last_path):
        """Save the last epoch's weights to `last_path`, load the best epoch's; returns the card's record of it."""
        save_weights_atomically(self.model, last_path)
        self.model.load_weights(self.best_weights())
        best, figure = self.best_epoch, self.figure
        comparison = "lowest" if figure.lower_is_better else "highest"
        return {
            **self.state(),
            "published_epoch": best,
            "reason": f"epoch {best} has the {comparison} {figure.name} ({self.curve[best]}) of the measured "
            f"epochs; {pathlib.Path(last_path).name} holds the last epoch's weights",
            "definition": figure.definition,
        }

    def state(self):
        """The curve and the best epoch, as plain data for the checkpoint and the card."""
        return {
            "figure": self.figure.name,
            "lower_is_better": self.figure.lower_is_better,
            "every": self.every,
            "curve": {str(epoch): value for epoch, value in sorted(self.curve.items())},
            "best_epoch": self.best_epoch,
        }
