"""Checkpoints: every state variable of a run (weights, optimizer slots, pools, seed generators) in one file.

Example:
    >>> save_training_state(model, "runs/gan/checkpoint.npz", {"step": 400})
    >>> restore_training_state(model, "runs/gan/checkpoint.npz")["step"]
    400
"""

import json
import os
import pathlib
import zipfile

import keras
import numpy as np

from kerasgen.errors import UserError, first_line
from kerasgen.files import save_atomically

CHECKPOINT = "checkpoint.npz"


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
    A state holding a NaN or an infinity is refused (`UserError`), so a
    checkpoint never holds a diverged state.

    Example:
        >>> save_training_state(model, pathlib.Path("runs/gan/checkpoint.npz"), {"step": 400})
    """
    path = pathlib.Path(path)
    arrays = {key: keras.ops.convert_to_numpy(variable) for key, variable in state_variables(model).items()}
    bad = next(
        (key for key, array in arrays.items() if array.dtype.kind in "fc" and not np.isfinite(array).all()), None
    )
    if bad:
        raise UserError(f"State variable {bad} is not finite; checkpoint {str(path)!r} was not written.")
    arrays["counters"] = np.array(json.dumps(counters, allow_nan=False))

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
    except EOFError:  # np.load of an empty file
        raise UserError(f"Checkpoint {str(path)!r} is empty; pass --overwrite to start afresh.") from None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        reason = "not a kerasgen checkpoint" if "pickle" in str(error) else first_line(error)
        raise UserError(f"Cannot read checkpoint {str(path)!r} ({reason}); pass --overwrite to start afresh.") from None
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


def save_weights_atomically(model, path, before_replacing=None):
    """`model.save_weights(path)` through a temporary file in the same folder (`UserError` if it cannot be written).

    `before_replacing`, if given, is called once the weights are whole in the temporary file, just before
    they replace `path`: `fit_and_write` removes the old card there, so that a failed write leaves the old
    model whole and a replaced model never sits beside a stale card.
    """

    def save(temporary):
        model.save_weights(temporary)
        if before_replacing:
            before_replacing()

    save_atomically(path, save, suffix=".weights.h5")
