"""Training: from a family name and plain options to a model folder, and back after a crash.

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
never leaves a half-written card, weights file or checkpoint, and none of
them ever holds a NaN or an infinity (a diverged run rolls every state
variable back to its last good epoch). The card's command carries the XLA
flag the run used, so that it repeats the run. Under a multi-worker
strategy only the chief writes.

Example:
    >>> from kerasgen.training import train
    >>> folder = train("vae", "runs/vae", epochs=5)
    >>> model = kerasgen.zoo.load(folder)

The package knows no family: it builds the model the family's spec names and
calls its methods (`compile_for_recipe`, `images_per_step`, `preview`).
Its modules, one job each: `run` (the run and its folder), `setup` (seeds, dtype policy, strategy, model), `callbacks`
(preview grids, the divergence guard, the run's checkpoint), `checkpoint`
(every state variable in one file) and `xla` (whether the step uses XLA).
"""

from kerasgen.training.callbacks import RunCheckpoint, SampleGrid, StopOnNonFinite
from kerasgen.training.checkpoint import (
    CHECKPOINT,
    restore_training_state,
    save_training_state,
    save_weights_atomically,
    state_variables,
)
from kerasgen.training.run import DEFAULT_CHECKPOINT_EVERY, fit_and_write, hyperparameters, prepare_output, train
from kerasgen.training.setup import build_model, precision_policy, start_run
from kerasgen.training.xla import XLA_TRIAL_MIN_STEPS, choose_xla, describe_xla, time_train_step

__all__ = [
    "CHECKPOINT",
    "DEFAULT_CHECKPOINT_EVERY",
    "XLA_TRIAL_MIN_STEPS",
    "RunCheckpoint",
    "SampleGrid",
    "StopOnNonFinite",
    "build_model",
    "choose_xla",
    "describe_xla",
    "fit_and_write",
    "hyperparameters",
    "precision_policy",
    "prepare_output",
    "restore_training_state",
    "save_training_state",
    "save_weights_atomically",
    "start_run",
    "state_variables",
    "time_train_step",
    "train",
]
