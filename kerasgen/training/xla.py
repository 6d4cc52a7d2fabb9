"""Whether a run's train step is compiled with XLA: the user's choice, or measured on this machine.

Which of XLA or no XLA is faster depends on the CPU kind (oneDNN on or off),
the family and the image size (benchmarks/RESULTS.md), so a long run times
its own step both ways and keeps the faster. XLA and no XLA round
differently, so the same seed trains different weights under each: a run
records its choice (in the card and in the recorded command, see
`command_with_xla`), and a `--deterministic` run never races (no XLA unless
asked). If XLA cannot compile the train step (an op without an XLA kernel),
the run trains without it and says so in one line.

Example:
    >>> record = choose_xla(model, None, lambda: dataset, steps_left=2000)
    >>> print(describe_xla(record))
    XLA off: measured, 0.118 s/step with XLA, 0.0921 without.
"""

import shlex

import keras
import numpy as np

from kerasgen.training.checkpoint import state_variables

# Runs with fewer steps than this train without XLA: its compile time would not be paid back.
XLA_TRIAL_MIN_STEPS = 500


def compiled_jit(jit_compile, strategy):
    """What the model is compiled with: the option, or until `choose_xla` decides, no XLA.

    With several replicas the choice is Keras's (`"auto"`): XLA cannot
    compile cross-device collectives on CPUs.
    """
    if jit_compile is not None:
        return jit_compile
    return "auto" if strategy.num_replicas_in_sync > 1 else False


def choose_xla(model, jit_compile, make_data, steps_left, interrupted=None, deterministic=False):
    """Decide whether the train step runs with XLA, set it on the compiled `model`, and say why.

    In order: the `jit_compile` option if given; Keras's choice with several
    replicas; XLA with a mixed dtype policy (without it a mixed policy runs op
    by op, 5-10x slower on a CPU); the interrupted run's choice on a resume;
    no XLA for a `deterministic` run (a timing race would make the weights
    depend on the machine's load); no XLA for runs under
    `XLA_TRIAL_MIN_STEPS` steps; otherwise the faster of the two, timed on
    this machine by `time_train_step`, or no XLA if XLA fails to compile the
    step there.

    Args:
        model: a compiled model.
        jit_compile: the user's option (True, False or None).
        make_data: returns the run's dataset (batches for the trial).
        steps_left: steps the run still has to do.
        interrupted: the `choose_xla` record of the run being resumed, if any.
        deterministic: the run asked for deterministic ops (`--deterministic`):
            no timing race.

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
    elif deterministic:
        choice, reason = False, "--deterministic (no timing race)"
    elif steps_left < XLA_TRIAL_MIN_STEPS:
        choice, reason = False, f"short run (under {XLA_TRIAL_MIN_STEPS} steps)"
    else:
        try:
            seconds = time_train_step(model, make_data())
        except XLACompileError as error:
            return without_xla(model, error.__cause__ or error)
        choice, reason = seconds["xla"] < seconds["no_xla"], "measured"
        record = {"seconds_per_step": seconds}
    set_jit_compile(model, choice)
    return {"jit_compile": choice, "chosen_by": reason, **record}


class XLACompileError(RuntimeError):
    """XLA could not compile (or run) the train step; the TensorFlow error is its `__cause__`."""


def set_jit_compile(model, jit_compile):
    """Compile `model`'s train step with XLA or without from its next `fit` on."""
    if bool(model.jit_compile) != jit_compile:
        model.jit_compile = jit_compile
        model.train_function = None


def without_xla(model, error):
    """Switch `model` to no XLA after `error` (XLA failed on its train step); returns the `choose_xla` record.

    Example:
        >>> record = without_xla(model, error)
        >>> print(describe_xla(record))
        XLA off: XLA failed on the train step (InvalidArgumentError: Detected unsupported operations ...).
    """
    set_jit_compile(model, False)
    message = " ".join(str(getattr(error, "message", error)).split())
    if len(message) > 160:
        message = message[:157] + "..."
    return {"jit_compile": False, "chosen_by": f"XLA failed on the train step ({type(error).__name__}: {message})"}


def command_with_xla(command, jit_compile):
    """`command` (a shell-quoted `kerasgen train ...` line) with the XLA flag the run used, so repeating it
    repeats the choice: `--jit-compile` or `--no-jit-compile` replaces any XLA flag it had.

    Example:
        >>> command_with_xla("kerasgen train vae --epochs 2", False)
        'kerasgen train vae --epochs 2 --no-jit-compile'
    """
    if command is None:
        return None
    words = [word for word in shlex.split(command) if word not in ("--jit-compile", "--no-jit-compile")]
    return shlex.join([*words, "--jit-compile" if jit_compile else "--no-jit-compile"])


def describe_xla(record):
    """One line for the log, e.g. `XLA on: measured, 0.118 s/step with XLA, 0.164 without.`"""
    line = f"XLA {'on' if record['jit_compile'] else 'off'}: {record['chosen_by']}"
    seconds = record.get("seconds_per_step")
    if seconds:
        line += f", {seconds['xla']:.4g} s/step with XLA, {seconds['no_xla']:.4g} without"
    return line + "."


def time_train_step(model, dataset, steps=3, rounds=3):
    """Median seconds per train step with and without XLA, on batches of `dataset`.

    Both versions of the model's own train function (the one `fit` calls)
    are traced and compiled first, then timed in alternating rounds of
    `steps` steps, so that other load on the machine hits both alike. XLA's
    compilation (C++, mostly on one core) runs in a thread while the
    version without XLA is traced and optimized, which takes a fifth off the
    trial (30.6 to 24.1 s for the main job on 2 AVX2 cores; see `_traced`);
    the two first steps may run at once, which is harmless since every
    state variable (weights, optimizers, seed generators, image pools) is put
    back afterwards. The metrics are reset, and the model keeps the faster
    version, compiled, so the run's `fit` does not trace it again.

    Raises:
        XLACompileError: XLA failed to compile or run the step (its cause:
            TensorFlow's error); the model is then as it was.

    Example:
        >>> time_train_step(model, dataset)
        {'xla': 0.118, 'no_xla': 0.164}
    """
    import concurrent.futures
    import time

    import tensorflow as tf

    variables = state_variables(model)
    saved = {key: keras.ops.convert_to_numpy(variable) for key, variable in variables.items()}
    before = model.jit_compile, model.train_function
    batches = iter(model.distribute_strategy.experimental_distribute_dataset(dataset))
    functions, timings = {}, {"xla": [], "no_xla": []}
    try:
        for mode in timings:
            model.jit_compile = mode == "xla"
            if model.run_eagerly or model.jit_compile is not (mode == "xla"):  # Keras refused XLA for this model
                raise XLACompileError("this model's train step does not run compiled with XLA")
            model.make_train_function(force=True)
            functions[mode] = model.train_function
        _traced(functions["xla"], batches)
        with concurrent.futures.ThreadPoolExecutor(1) as executor:
            compiled = executor.submit(lambda: keras.tree.map_structure(np.asarray, functions["xla"](batches)))
            keras.tree.map_structure(np.asarray, functions["no_xla"](batches))
            try:
                compiled.result()
            except tf.errors.OpError as error:
                raise XLACompileError("XLA failed on the train step") from error
        for _ in range(rounds):
            for mode, function in functions.items():
                start = time.perf_counter()
                for _ in range(steps):
                    logs = function(batches)
                keras.tree.map_structure(np.asarray, logs)
                timings[mode].append((time.perf_counter() - start) / steps)
    except BaseException:
        model.jit_compile, model.train_function = before
        raise
    finally:
        for key, variable in variables.items():
            variable.assign(saved[key])
        model.reset_metrics()
    seconds = {mode: round(float(np.median(values)), 5) for mode, values in timings.items()}
    faster = "xla" if seconds["xla"] < seconds["no_xla"] else "no_xla"
    model.jit_compile, model.train_function = faster == "xla", functions[faster]
    return seconds


def _traced(train_function, iterator):
    """Trace Keras's `train_function` for `iterator` without running it, so that its first call only compiles.

    Keras keeps the `tf.function` it calls inside a closure; if a Keras
    version keeps it elsewhere, nothing is traced here and the first call
    traces it (the trial takes longer, nothing else changes). Tracing the
    XLA version before its compilation starts in a thread keeps the two
    traces (Python, one at a time) from interleaving.

    Returns:
        Whether it was traced here.
    """
    cells = getattr(train_function, "__closure__", None) or ()
    for cell in cells:
        function = cell.cell_contents
        if getattr(function, "__name__", None) == "multi_step_on_iterator" and hasattr(
            function, "get_concrete_function"
        ):
            function.get_concrete_function(iterator)
            return True
    return False
