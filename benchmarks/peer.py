"""A peer for kerasgen's CycleGAN: the same networks trained by the plain Keras train step users write.

This module holds the peer cases, which of them a run selects, and
`measure`, which times them. The peer itself, `PlainCycleGAN` (one
persistent `tf.GradientTape`, four Adam optimizers,
`jit_compile="auto"`), is built in `benchmarks.peer_model`; the step clock
and the ratios of the rounds are in `benchmarks.peer_timing`. Both are
importable from here too.

Timing: in one process, each configuration builds kerasgen's CycleGAN with
XLA on, kerasgen's CycleGAN with XLA off and the peer; each runs its
warm-up steps through `fit` (tracing, compilation), then one more untimed
step each in turn, then the three take turns in short rounds (A, B, C, C,
B, A, A, B, C, ...), each a few steps of the compiled train step that `fit` runs
(`model.train_function`) on an iterator of the same real pipeline that
lives across rounds, so that load from other processes on shared cores
falls on all three alike. Each step is timed on the wall clock (and the
process's CPU clock) until a logged value has been read; the report gives
the median seconds per step of each runner and the ratios peer / kerasgen
paired by round (`paired_ratios`), on the wall clock and on the CPU clock,
with the smallest and largest round's ratio as the spread. TensorFlow reads
`TF_ENABLE_ONEDNN_OPTS` at import, so `measure_both_settings` times each
configuration in two fresh processes (`python -m benchmarks.peer CASE`), one
per setting; each row records the setting it ran under and the load average
at its start and end.

kerasgen runs without the semantic term (a plain CycleGAN), so that both
sides train the same networks on the same batches with the same losses.
"""

import dataclasses
import json
import os
import subprocess
import sys
import time

# Re-exported: the report, the tests and users of this module reach them here.
from benchmarks.peer_model import build_peer, peer_class, peer_networks  # noqa: F401
from benchmarks.peer_timing import (  # noqa: F401
    goal_met,
    paired_ratios,
    per_round,
    ratios,
    round_ratios,
    row_ratios,
    step_clock,
    turns,
)

RUNNERS = ("kerasgen_xla", "kerasgen_no_xla", "peer")
RUNNER_TITLES = {"kerasgen_xla": "kerasgen XLA on", "kerasgen_no_xla": "kerasgen XLA off", "peer": "peer"}
FAMILY = "peer"
QUICK_FILTERS = 8
ONEDNN_SETTINGS = ("1", "0")


@dataclasses.dataclass
class PeerCase:
    """One configuration timed for kerasgen (XLA on, XLA off) and the peer.

    Attributes:
        name: `peer.digits` or `peer.128`.
        base: the `benchmarks.cases.Case` whose networks, batch size, learning
            rate and pipeline all three use.
        title: the configuration in words, for the report.
        warmup: untimed steps per runner before the rounds.
        rounds: rounds of the three runners taking turns.
        steps: timed steps per runner and round.
    """

    name: str
    base: object
    title: str
    warmup: int
    rounds: int
    steps: int

    @property
    def family(self):
        return FAMILY


def peer_cases():
    """The two configurations: the digits zoo entry's networks and the paper's at 128 px (9 residual blocks).

    Both train a plain CycleGAN (the digits entry's semantic term is left
    out, as the peer has none), in at least 5 rounds of 10 timed steps (an even
    number, so that `turns` runs each order as often as the other).

    Example:
        >>> [case.name for case in peer_cases()]
        ['peer.digits', 'peer.128']
    """
    from benchmarks import cases

    digits = cases.zoo_case("peer.digits", "cyclegan.digits")
    digits = dataclasses.replace(digits, config={**digits.config, "semantic_classifier": None, "lambda_semantic": 0.0})
    photo = cases.photo_cyclegan_case(128)
    photo = dataclasses.replace(photo, name="peer.128", config={**photo.config, "residual_blocks": 9})
    return [
        PeerCase(
            "peer.digits",
            digits,
            "32x32x1 digits, G 16 / D 32 filters, batch 8, real digits pipeline, no semantic term",
            warmup=3,
            rounds=8,
            steps=10,
        ),
        PeerCase(
            "peer.128",
            photo,
            "128x128x3, G 64 filters 9 blocks / 70x70 PatchGAN 64, batch 1, synthetic photo pipeline",
            warmup=1,
            rounds=6,
            steps=10,
        ),
    ]


def select(peers, only):
    """The peer cases that `only` names (`peer` for all, or a case name); all if `only` is empty.

    Example:
        >>> [case.name for case in select(peer_cases(), ["peer.128", "gan"])]
        ['peer.128']
    """
    if not only:
        return list(peers)
    return [case for case in peers if case.name in only or case.family in only]


def is_peer_name(name):
    """True for `peer` and `peer.*` (the names this module owns).

    Example:
        >>> is_peer_name("peer.digits"), is_peer_name("cyclegan.digits")
        (True, False)
    """
    return name == FAMILY or name.startswith(FAMILY + ".")


def quick(case):
    """A smoke-run version: one warm-up step, two rounds of one step, and 8-filter networks at 128 px.

    Example:
        >>> smoke = quick(peer_cases()[1])
        >>> smoke.rounds, smoke.steps, smoke.base.config["generator_filters"]
        (2, 1, 8)
    """
    base = case.base
    if base.data.get("source") == "synthetic":
        config = {**base.config, "generator_filters": QUICK_FILTERS, "discriminator_filters": QUICK_FILTERS}
        base = dataclasses.replace(base, config=config)
    return dataclasses.replace(case, base=base, warmup=1, rounds=2, steps=1)


def onednn_env(environ=None):
    """What `TF_ENABLE_ONEDNN_OPTS` says in `environ` (this process's environment if None): `1`, `0` or `unset`.

    Example:
        >>> onednn_env({"TF_ENABLE_ONEDNN_OPTS": "1"}), onednn_env({})
        ('1', 'unset')
    """
    environ = os.environ if environ is None else environ
    return environ.get("TF_ENABLE_ONEDNN_OPTS", "unset")


def _build_runner(case, runner):
    import keras

    keras.utils.set_random_seed(0)
    base = case.base
    if runner == "peer":
        return build_peer(base.config, base.learning_rate)
    model = base.build()
    base.compile(model, runner == "kerasgen_xla")
    return model


def _fit_steps(model, dataset, steps):
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)


def measure(case, log=print):
    """Time kerasgen (XLA on, XLA off) and the peer on one configuration, taking turns in rounds.

    Each runner gets its warm-up steps through `fit` (tracing, compilation),
    then one untimed step each in turn; then `rounds` rounds in which each
    runner in turn takes `steps` timed steps (`step_clock`) from its own copy
    of the pipeline.

    Args:
        case: a `PeerCase`.
        log: called with each line of progress.

    Returns:
        A row: `case`, `title`, `config`, `batch_size`, `warmup`, `rounds`,
        `steps_per_round`, `onednn` (TensorFlow's state and the variable),
        `onednn_opts` (the variable alone), `load_average` (1-minute load
        average of the machine at the start and the end), `load_averages`
        (1, 5 and 15 minutes, at the start and the end), `peer_jit_compile`
        (what `"auto"` resolved to), `runners` (`{runner: timing.summarize(...)}`
        of wall times plus `durations` and `cpu_durations`, per step in
        order), `ratios` and `cpu_ratios` (`row_ratios` on the wall and the
        CPU clock) and `errors` (`{runner: text}`) for runners that failed.

    Example:
        >>> row = measure(quick(peer_cases()[0]))
        >>> row["ratios"]["peer_over_faster"]
    """
    import keras

    from benchmarks import machine, timing

    base = case.base
    row = {
        "case": case.name,
        "title": case.title,
        "config": dict(base.config),
        "batch_size": base.batch_size,
        "warmup": case.warmup,
        "rounds": case.rounds,
        "steps_per_round": case.steps,
        "onednn": machine.onednn_state(),
        "onednn_opts": onednn_env(),
        "load_average": [_load_average()],
        "load_averages": [_load_averages()],
        "runners": {},
        "errors": {},
    }
    models, clocks, walls, cpus = {}, {}, {}, {}
    for runner in RUNNERS:
        log(f"{case.name}: building {RUNNER_TITLES[runner]}, {case.warmup} warm-up steps")
        try:
            models[runner] = _build_runner(case, runner)
            started = time.perf_counter()
            _fit_steps(models[runner], base.pipeline(case.warmup), case.warmup)
            log(f"  warm-up {time.perf_counter() - started:.1f} s")
            iterator = iter(base.pipeline(1 + case.rounds * case.steps))
            clocks[runner], walls[runner], cpus[runner] = step_clock(models[runner], iterator), [], []
        except Exception as error:  # a failed runner is reported; the others still run
            log(f"FAILED {case.name} {runner}: {error!r}")
            row["errors"][runner] = _one_line(error)
            models.pop(runner, None)
    row["peer_jit_compile"] = bool(models["peer"].jit_compile) if "peer" in models else None
    # One untimed step each in turn: the first step of a model after another model's first steps can take
    # several times as long (seen: 3 to 8 s for a 0.3 s step), a one-off that no round should carry.
    for index, runner in turns(list(clocks), case.rounds + 1):
        if runner in row["errors"]:
            continue
        try:
            for _ in range(1 if index == 0 else case.steps):
                wall, cpu = clocks[runner]()
                if index:
                    walls[runner].append(wall)
                    cpus[runner].append(cpu)
        except Exception as error:
            log(f"FAILED {case.name} {runner} round {index}: {error!r}")
            row["errors"][runner] = _one_line(error)
    for runner, values in walls.items():
        if runner in row["errors"] or not values:
            continue
        summary = timing.summarize(values, base.batch_size)
        row["runners"][runner] = {**summary, "durations": values, "cpu_durations": cpus[runner]}
    row["load_average"].append(_load_average())
    row["load_averages"].append(_load_averages())
    row["ratios"] = row_ratios(row)
    row["cpu_ratios"] = row_ratios(row, "cpu")
    log(
        f"{case.name} ({row['onednn']}): "
        + ", ".join(
            f"{RUNNER_TITLES[runner]} {summary['median_s'] * 1e3:.1f} ms/step"
            for runner, summary in row["runners"].items()
        )
        + f"; paired peer / kerasgen, wall: {row['ratios']}, CPU: {row['cpu_ratios']}"
        + f"; load average {row['load_averages'][0]} -> {row['load_averages'][1]}"
    )
    del models, clocks
    keras.backend.clear_session()
    return row


def measure_both_settings(case, quick_run=False, log=print):
    """`measure` in two fresh processes, one with `TF_ENABLE_ONEDNN_OPTS=1` and one with `=0`.

    TensorFlow reads the variable at import, so each setting needs its own
    process. A setting whose process fails gives a row with its error.

    Args:
        case: a `PeerCase` of `peer_cases()` (by name; `quick_run` makes it `quick`).
        quick_run: the smoke-run version of the case.
        log: called with each line of the children's progress.

    Returns:
        One row per setting, in the order of `ONEDNN_SETTINGS`.

    Example:
        >>> [row["onednn_opts"] for row in measure_both_settings(peer_cases()[0], quick_run=True)]
        ['1', '0']
    """
    rows = []
    for setting in ONEDNN_SETTINGS:
        command = [sys.executable, "-m", "benchmarks.peer", case.name] + (["--quick"] if quick_run else [])
        environment = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": setting, "TF_CPP_MIN_LOG_LEVEL": "2"}
        log(f"{case.name}: a process with TF_ENABLE_ONEDNN_OPTS={setting}")
        child = subprocess.run(command, env=environment, capture_output=True, text=True, cwd=_repository())
        for line in child.stderr.splitlines():
            if line.startswith(case.name) or line.startswith(("  warm-up", "FAILED")):
                log(line)
        lines = child.stdout.strip().splitlines()
        if child.returncode == 0 and lines:
            rows.append(json.loads(lines[-1]))
        else:
            error = (child.stderr.strip().splitlines() or ["no output"])[-1]
            rows.append({"case": case.name, "onednn_opts": setting, "runners": {}, "errors": {"process": error[:300]}})
    return rows


def _repository():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load_average():
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def _load_averages():
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def _one_line(error):
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]


def main(argv=None):
    """`python -m benchmarks.peer CASE [--quick] [--rounds N] [--steps N]`: one `measure` row as JSON on the
    last line of stdout; `--rounds` and `--steps` shorten (or lengthen) the case's rounds."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.peer", description=main.__doc__)
    parser.add_argument("case", choices=[case.name for case in peer_cases()])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--steps", type=int)
    args = parser.parse_args(argv)
    case = next(case for case in peer_cases() if case.name == args.case)
    case = quick(case) if args.quick else case
    case = dataclasses.replace(case, rounds=args.rounds or case.rounds, steps=args.steps or case.steps)
    row = measure(case, log=lambda line: print(line, file=sys.stderr, flush=True))
    print(json.dumps(row, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
