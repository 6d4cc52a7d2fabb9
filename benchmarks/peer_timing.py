"""Timing the peer against kerasgen: the step clock, the order of the turns, and the ratios of the rounds.

`benchmarks.peer.measure` runs the rounds; this module holds what it times
them with (`step_clock`), the order the runners take turns in (`turns`) and
how a row's durations become the figures of the report: per-round totals
(`per_round`), peer / kerasgen paired by round (`paired_ratios`) or from
medians (`ratios`), and whether the team's goal is met (`goal_met`).
Runner names are those of `benchmarks.peer.RUNNERS`.
"""

import time


def step_clock(model, iterator):
    """A function that runs one training step of `model` on the next batch of `iterator` and times it.

    It calls `model.train_function`, the compiled step that `fit` calls for
    every batch (built by a `fit` before), on a `tf.data` iterator that lives
    across calls, so no `fit` set-up and no pipeline restart comes between
    two timed steps. One logged value is read as a float before the clocks
    stop, so the step has finished.

    Args:
        model: a compiled model whose `train_function` a `fit` has built.
        iterator: an iterator over its training batches.

    Returns:
        A function of no arguments returning `(wall seconds, CPU seconds of this process)`.

    Example:
        >>> model.fit(dataset.take(1), verbose=0)
        >>> clock = step_clock(model, iter(dataset))
        >>> wall, cpu = clock()
    """

    def step():
        wall, cpu = time.perf_counter(), time.process_time()
        logs = model.train_function(iterator)
        for value in logs.values():
            float(value)
            break
        return time.perf_counter() - wall, time.process_time() - cpu

    return step


def per_round(durations, steps_per_round):
    """Total time of each round from the durations of the steps, in the order they ran.

    Args:
        durations: seconds of each step, in the order they ran.
        steps_per_round: steps per round; a short last round is summed as it is.

    Returns:
        A list with one total per round.

    Example:
        >>> per_round([1.0, 2.0, 3.0, 4.0], 2)
        [3.0, 7.0]
    """
    return [sum(durations[start : start + steps_per_round]) for start in range(0, len(durations), steps_per_round)]


def turns(runners, rounds):
    """The order in which the runners take turns: every runner once per round, in the same order.

    Args:
        runners: the runners' names.
        rounds: how many rounds.

    Returns:
        `(round index, runner)` pairs in the order they run.

    Example:
        >>> turns(["a", "b"], 2)
        [(0, 'a'), (0, 'b'), (1, 'a'), (1, 'b')]
    """
    return [(index, runner) for index in range(rounds) for runner in runners]


def ratios(medians):
    """Peer over kerasgen: for the faster kerasgen mode and for each mode (above 1: kerasgen is faster).

    Args:
        medians: `{runner: median seconds per step}` for some of `RUNNERS`.

    Returns:
        A dict with `faster_mode` (`kerasgen_xla` or `kerasgen_no_xla`, None
        if neither ran), `peer_over_faster`, `peer_over_xla` and
        `peer_over_no_xla` (None where a figure is missing).

    Example:
        >>> round(ratios({"kerasgen_xla": 0.5, "kerasgen_no_xla": 0.4, "peer": 0.6})["peer_over_faster"], 2)
        1.5
    """
    kerasgen = {mode: medians.get(mode) for mode in ("kerasgen_xla", "kerasgen_no_xla") if medians.get(mode)}
    peer = medians.get("peer")
    faster = min(kerasgen, key=kerasgen.get) if kerasgen else None

    def over(mode):
        return peer / kerasgen[mode] if peer and mode in kerasgen else None

    return {
        "faster_mode": faster,
        "peer_over_faster": over(faster) if faster else None,
        "peer_over_xla": over("kerasgen_xla"),
        "peer_over_no_xla": over("kerasgen_no_xla"),
    }


def paired_ratios(durations, steps_per_round):
    """Peer over kerasgen, paired by round: in every round, the peer's time over each mode's time in the same
    round; the median over rounds. Load from other processes that changes from round to round falls on both
    sides of each quotient and cancels out, which the quotient of two medians does not ensure.

    Args:
        durations: `{runner: [seconds of each timed step, in order]}` for some of `RUNNERS`.
        steps_per_round: timed steps per runner and round.

    Returns:
        The keys of `ratios`; the faster mode is the one with the larger ratio.

    Example:
        >>> durations = {"kerasgen_xla": [1.0, 4.0], "kerasgen_no_xla": [2.0, 2.0], "peer": [2.0, 4.0]}
        >>> paired_ratios(durations, 1)["faster_mode"], paired_ratios(durations, 1)["peer_over_faster"]
        ('kerasgen_xla', 1.5)
    """
    import statistics

    peer = per_round(durations.get("peer") or [], steps_per_round)
    result = {}
    for mode, key in (("kerasgen_xla", "peer_over_xla"), ("kerasgen_no_xla", "peer_over_no_xla")):
        mine = per_round(durations.get(mode) or [], steps_per_round)
        pairs = [ours / theirs for ours, theirs in zip(peer, mine, strict=False) if theirs > 0]
        result[key] = statistics.median(pairs) if pairs else None
    modes = {
        mode: result[key]
        for mode, key in (("kerasgen_xla", "peer_over_xla"), ("kerasgen_no_xla", "peer_over_no_xla"))
        if result[key]
    }
    faster = max(modes, key=modes.get) if modes else None
    return {"faster_mode": faster, "peer_over_faster": modes.get(faster), **result}


def row_ratios(row):
    """The ratios of a result row: paired by round where its durations are kept, else from its medians.

    Args:
        row: a row of `benchmarks.peer.measure`; rows from before durations
            were kept have only each runner's `median_s`.

    Returns:
        The keys of `ratios`.

    Example:
        >>> row_ratios({"runners": {"kerasgen_xla": {"median_s": 0.5}, "peer": {"median_s": 0.6}}})["peer_over_xla"]
        1.2
    """
    runners = row.get("runners", {})
    durations = {runner: summary.get("durations") for runner, summary in runners.items()}
    if "peer" in durations and all(durations.values()):
        return paired_ratios(durations, row.get("steps_per_round", 1))
    return ratios({runner: summary["median_s"] for runner, summary in runners.items()})


def goal_met(row_ratios, name, at_least=1.0, digits_at_least=1.2):
    """Whether kerasgen's faster mode meets the team's goal for a row: never slower than the peer, and at least
    1.2x faster at the 32 px configuration (`peer.digits`). None if the figures are missing.

    Args:
        row_ratios: the ratios of a row (`row_ratios`).
        name: the row's case.
        at_least: the least `peer_over_faster` of any configuration but `peer.digits`.
        digits_at_least: the least `peer_over_faster` at `peer.digits`.

    Returns:
        True, False, or None.

    Example:
        >>> goal_met({"peer_over_faster": 1.1}, "peer.digits"), goal_met({"peer_over_faster": 1.1}, "peer.128")
        (False, True)
    """
    ratio = row_ratios.get("peer_over_faster")
    if ratio is None:
        return None
    return ratio >= (digits_at_least if name == "peer.digits" else at_least)
