"""A training run: `train(family, out, **options)` builds, compiles, fits and writes the model folder."""

import inspect
import json
import pathlib
import tempfile

import keras

from kerasgen import data, distribute, families, imaging, zoo
from kerasgen.errors import UserError
from kerasgen.files import write_atomically
from kerasgen.finite import first_non_finite
from kerasgen.onednn import onednn_enabled
from kerasgen.training.callbacks import (
    KeepBestOnValidation,
    RunCheckpoint,
    SampleGrid,
    StopOnNonFinite,
    restore,
    snapshot,
)
from kerasgen.training.checkpoint import CHECKPOINT, restore_training_state, save_weights_atomically
from kerasgen.training.setup import as_flags, build_model, check_replica_batch, check_schedule, start_run
from kerasgen.training.xla import choose_xla, command_with_xla, compiled_jit, describe_xla, without_xla

DEFAULT_CHECKPOINT_EVERY = 200
BASE_CONFIG_KEYS = ("name", "trainable", "dtype")


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
    select_every=0,
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
        select_every: if > 0, measure the model's validation figure
            (`validation_figure`) every this many epochs and after the last,
            and publish the best epoch's weights (the last epoch's stay
            beside them as `last.weights.h5`); 0 publishes the last epoch.
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
    source = data.training_data(family.data, recipe, family.full_batches)
    if (recipe.get("max_shift") or 0) >= min(source.image_shape[:2]):
        raise UserError(
            f"--max-shift must be less than the image size ({min(source.image_shape[:2])}): a shift of "
            f"{recipe['max_shift']} pixels could move a whole image out of view."
        )
    with strategy.scope():
        model = build_model(family, {"image_shape": source.image_shape, **options}, options)
    source.load(family.uses_labels(hyperparameters(model)))
    validation_figure = None
    if select_every:
        recipe["select_every"] = select_every
        validation_figure = model.validation_figure(source.card)
    check_replica_batch(recipe["batch_size"], strategy)
    source.batch_size = model.images_per_step(recipe["batch_size"])
    recipe["steps_per_epoch"] = source.steps_per_epoch(strategy)
    recipe["data"] = source.name
    out = prepare_output(out, overwrite) if distribute.is_chief(strategy) else pathlib.Path(out)
    with strategy.scope():
        try:
            recipe["optimizer"] = model.compile_for_recipe(recipe, compiled_jit(jit_compile, strategy))
        except ValueError as error:
            raise UserError(as_flags(error, recipe)) from None
    recipe = {"command": command, **recipe, "precision": keras.mixed_precision.global_policy().name}
    run = {"verbose": verbose, "checkpoint_every": checkpoint_every, "overwrite": overwrite, "strategy": strategy}
    run["deterministic"] = deterministic
    return fit_and_write(
        model,
        out,
        source.make_data,
        source.preview,
        source.card,
        recipe,
        family.paper,
        jit_compile=jit_compile,
        validation_figure=validation_figure,
        **run,
    )


def resume_point(model, checkpoint, fingerprint, overwrite):
    """Restore an unfinished run's state from `checkpoint`; returns (start step, the checkpoint's counters)."""
    if overwrite or not checkpoint.exists():
        return 0, {}
    counters = restore_training_state(model, checkpoint)
    fingerprint = without_new_defaults(fingerprint, counters.get("fingerprint") or {}, model)
    if counters.get("fingerprint") != fingerprint:
        changed = sorted(key for key in fingerprint if fingerprint[key] != (counters.get("fingerprint") or {}).get(key))
        raise UserError(
            f"{str(checkpoint.parent)!r} holds an unfinished run with other settings ({', '.join(changed)}); "
            "rerun its own command to resume it, or pass --overwrite to start afresh."
        )
    return counters["step"], counters


def without_new_defaults(fingerprint, stored, model):
    """`fingerprint` without the settings a later kerasgen added, where they keep their defaults.

    A run checkpointed by an older release has no hyperparameter or recipe
    key that was added since (a GAN's `spectral_norm`, `d_learning_rate`);
    left at its default, such a setting trains the same model, so the run
    resumes. Set to anything else, it stays and the comparison refuses.

    Example:
        >>> without_new_defaults({"config": {"r1_gamma": 0.0}, "recipe": {}}, {"config": {}, "recipe": {}}, gan)
        {'config': {}, 'recipe': {}}
    """
    parameters = inspect.signature(type(model).__init__).parameters
    defaults = {
        name: json.loads(json.dumps(parameter.default))
        for name, parameter in parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }
    config = {
        key: value
        for key, value in fingerprint["config"].items()
        if key in stored.get("config", {}) or key not in defaults or value != defaults[key]
    }
    recipe = {
        key: value
        for key, value in fingerprint["recipe"].items()
        if key in stored.get("recipe", {}) or value is not None
    }
    return {**fingerprint, "config": config, "recipe": recipe}


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
    deterministic=False,
    validation_figure=None,
):
    """Fit a compiled model with the standard callbacks, resuming from `out`'s checkpoint, then write the folder.

    `make_data(start_step)` must return the training dataset from step
    `start_step` to the end of the run (`recipe["epochs"]` epochs of
    `recipe["steps_per_epoch"]` steps). If `out` holds the checkpoint of an
    unfinished run with the same settings, training goes on from it: a
    partial epoch first, then the remaining epochs, for the same total
    number of steps.

    `jit_compile` True or False compiles the train step with XLA or without;
    None lets `choose_xla` decide (measured on this machine for long runs,
    never measured when `deterministic`). If XLA fails on the first step,
    the run trains without it and prints one line saying so. The card
    records the choice (`training.xla`) and the recorded command
    (`recipe["command"]`) gets the matching `--jit-compile` or
    `--no-jit-compile`, so that repeating it trains the same weights.

    If a logged value or a variable (optimizer slots included) turns
    non-finite, training stops and every state variable goes back to the
    last good epoch; the folder then holds the weights of that epoch and the
    call raises `UserError` saying so (or, if no epoch completed, writes
    nothing and raises). No file written (weights, checkpoint, card) ever
    holds a NaN or an infinity.

    With a `validation_figure`, `KeepBestOnValidation` measures it every
    `recipe["select_every"]` epochs; the folder then holds the best epoch
    (`last.weights.h5` the last) and the card's `training.selection` why.

    Under a multi-worker strategy all workers
    check at the same steps and stop together; workers other than the chief
    write nothing and return None (or raise the same `UserError`).

    Example:
        >>> fit_and_write(model, pathlib.Path("runs/vae"), source.make_data, images, card, recipe, paper)
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
    steps_left = total_steps - start_step
    xla = choose_xla(model, jit_compile, lambda: make_data(start_step), steps_left, counters.get("xla"), deterministic)
    if chief and (verbose or xla["chosen_by"].startswith("XLA failed")):
        print(describe_xla(xla))
    guard = StopOnNonFinite(every=checkpoint_every, start_step=start_step, strategy=strategy)
    guard.good_epochs = start_step // steps_per_epoch
    epoch_logs = counters.get("epoch_logs")
    run_checkpoint = RunCheckpoint(
        checkpoint, steps_per_epoch, start_step, checkpoint_every, fingerprint, epoch_logs, guard
    )
    run_checkpoint.xla = xla
    callbacks = [guard]
    selection = None
    if validation_figure is not None and chief:
        every, state = recipe["select_every"], counters.get("selection")
        selection = KeepBestOnValidation(validation_figure, every, out, epochs, state)
        run_checkpoint.selection = selection
    if chief:
        callbacks = [
            guard,
            *([selection] if selection else []),
            run_checkpoint,
            SampleGrid(out / "samples", preview_images, seed=recipe["seed"], log_dir=out / "logs" / "samples"),
            keras.callbacks.TensorBoard(str(out / "logs")),
        ]
    xla = fit_steps(model, make_data, start_step, recipe, callbacks, verbose, xla, chief)
    good_epochs = guard.good_epochs
    if guard.bad_key and not good_epochs:
        raise UserError(
            f"Training diverged in the first epoch: {guard.bad_key} became non-finite; "
            "no model was saved. Try a lower --learning-rate."
        )
    diverged = f"Training diverged in epoch {good_epochs + 1}: {guard.bad_key} became non-finite."
    if not chief:
        if guard.bad_key:
            raise UserError(f"{diverged} The chief keeps the weights of epoch {good_epochs}, the last good one.")
        return None
    bad_variable = first_non_finite(model)  # weights and optimizers: all that model.weights.h5 holds
    if bad_variable:  # cannot happen after a rollback to a checked epoch; never write such weights all the same
        raise UserError(f"Variable {bad_variable} is not finite; nothing was written to {out}.")
    training = {**recipe, "final_logs": run_checkpoint.epoch_logs, "completed_epochs": good_epochs, "xla": xla}
    training["onednn"] = onednn_enabled()
    training["command"] = command_with_xla(recipe.get("command"), xla["jit_compile"])
    if start_step:
        training["resumed_from_step"] = start_step
    if selection and selection.best_epoch:
        training["selection"] = selection.publish(out / "last.weights.h5")
    card_json(training, out)  # a non-finite value in the card stops the run before anything is written
    save_weights_atomically(
        model, out / "model.weights.h5", before_replacing=lambda: (out / zoo.CARD).unlink(missing_ok=True)
    )
    batch, columns = model.preview(64, recipe["seed"], preview_images)
    imaging.save_grid(batch, out / "samples.png", columns)
    if selection and selection.best_epoch:
        selection.best_weights().unlink(missing_ok=True)
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
    write_atomically(out / zoo.CARD, card_json(card, out) + "\n")
    if guard.bad_key:
        raise UserError(f"{diverged} {out} holds the weights of epoch {good_epochs}, the last good one.")
    return out


def card_json(card, out):
    """`card` as indented JSON; `UserError` if it holds a NaN or an infinity (JSON has none; a card never holds one)."""
    try:
        return json.dumps(card, indent=2, allow_nan=False)
    except ValueError:
        raise UserError(f"The card of {out} would hold a non-finite value; it was not written.") from None


def fit_steps(model, make_data, start_step, recipe, callbacks, verbose, xla, chief):
    """Fit from `start_step` to the end of the run (a partial epoch first, on a resume); returns the XLA record.

    Stops early when the guard (`callbacks[0]`, a `StopOnNonFinite`) does.
    If the train step fails with XLA before its first step is done (XLA cannot
    compile it), every state variable is put back and the run goes on
    without XLA; the returned record says so.
    """
    import tensorflow as tf

    guard = callbacks[0]
    steps_per_epoch, epochs = recipe["steps_per_epoch"], recipe["epochs"]
    total_steps = epochs * steps_per_epoch
    unproven = xla["jit_compile"] and model.distribute_strategy.num_replicas_in_sync == 1
    before = snapshot(model) if unproven else None
    step = start_step
    while step < total_steps and not guard.bad_key:
        epoch, done = divmod(step, steps_per_epoch)
        last_epoch = epoch + 1 if done else epochs
        try:
            model.fit(
                make_data(step),
                initial_epoch=epoch,
                epochs=last_epoch,
                steps_per_epoch=steps_per_epoch - done,
                callbacks=callbacks,
                verbose=verbose,
                shuffle=False,  # the dataset is shuffled by step; Keras would only warn that it ignores True
            )
        except tf.errors.OpError as error:
            if not unproven or guard.step != start_step:
                raise
            restore(model, before)
            xla = without_xla(model, error)
            for callback in callbacks:
                if isinstance(callback, RunCheckpoint):
                    callback.xla = xla  # a resume goes on without XLA too
            if chief:
                print(describe_xla(xla))
            unproven = False
            continue
        unproven = False
        step = last_epoch * steps_per_epoch
    return xla
