"""Timing the peer against kerasgen: the step clock, the order of the turns, and the ratios of the rounds.

`benchmarks.peer.measure` runs the rounds; this module holds what it times
them with (`step_clock`), the order the runners take turns in (`turns`) and
how a row's durations become the figures of the report: per-round totals
(`per_round`), peer / kerasgen paired by round (`round_ratios`,
`paired_ratios`), on the wall clock or the CPU clock, or from medians
(`ratios`), and whether the team's goal is met (`goal_met`).
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
    """The order in which the runners take turns: every runner once per round, every other round reversed.

    On a shared machine the speed drifts within a round (a fifth over a minute
    has been seen); reversing the order every other round puts each runner
    before and after the others equally often, so a drift favours none of them.

    Args:
        runners: the runners' names.
        rounds: how many rounds.

    Returns:
        `(round index, runner)` pairs in the order they run.

    Example:
        >>> turns(["a", "b"], 3)
        [(0, 'a'), (0, 'b'), (1, 'b'), (1, 'a'), (2, 'a'), (2, 'b')]
    """
    return [(index, runner) for index in range(rounds) for runner in (runners[::-1] if index % 2 else runners)]


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


def round_ratios(peer, mine, steps_per_round):
    """The peer's time over one kerasgen mode's time in each round, in the order the rounds ran.

    Args:
        peer: the peer's seconds of each timed step, in order.
        mine: the mode's seconds of each timed step, in order.
        steps_per_round: timed steps per runner and round.

    Returns:
        One ratio per round that both ran (above 1: kerasgen was faster in that round).

    Example:
        >>> round_ratios([2.0, 2.0, 3.0, 3.0], [1.0, 1.0, 3.0, 3.0], 2)
        [2.0, 1.0]
    """
    pairs = zip(per_round(peer or [], steps_per_round), per_round(mine or [], steps_per_round), strict=False)
    return [ours / theirs for ours, theirs in pairs if theirs > 0]


def paired_ratios(durations, steps_per_round):
    """Peer over kerasgen, paired by round: in every round, the peer's time over each mode's time in the same
    round; the median over rounds. Load from other processes that changes from round to round falls on both
    sides of each quotient and cancels out, which the quotient of two medians does not ensure.

    Args:
        durations: `{runner: [seconds of each timed step, in order]}` for some of `RUNNERS`.
        steps_per_round: timed steps per runner and round.

    Returns:
        The keys of `ratios`, the faster mode being the one with the larger ratio, and `spread`: the smallest
        and the largest round's ratio of the faster mode (None without one).

    Example:
        >>> durations = {"kerasgen_xla": [1.0, 4.0], "kerasgen_no_xla": [2.0, 2.0], "peer": [2.0, 4.0]}
        >>> figures = paired_ratios(durations, 1)
        >>> figures["faster_mode"], figures["peer_over_faster"], figures["spread"]
        ('kerasgen_xla', 1.5, (1.0, 2.0))
    """
    import statistics

    per_mode = {
        mode: round_ratios(durations.get("peer"), durations.get(mode), steps_per_round)
        for mode in ("kerasgen_xla", "kerasgen_no_xla")
    }
    result = {
        key: statistics.median(per_mode[mode]) if per_mode[mode] else None
        for mode, key in (("kerasgen_xla", "peer_over_xla"), ("kerasgen_no_xla", "peer_over_no_xla"))
    }
    modes = {mode: result[f"peer_over_{mode.removeprefix('kerasgen_')}"] for mode in per_mode}
    modes = {mode: ratio for mode, ratio in modes.items() if ratio}
    faster = max(modes, key=modes.get) if modes else None
    spread = (min(per_mode[faster]), max(per_mode[faster])) if faster else None
    return {"faster_mode": faster, "peer_over_faster": modes.get(faster), **result, "spread": spread}


def row_ratios(row, clock="wall"):
    """The ratios of a result row: paired by round where its durations are kept, else from its medians.

    Args:
        row: a row of `benchmarks.peer.measure`; rows from before durations
            were kept have only each runner's `median_s`.
        clock: `"wall"` (`durations`) or `"cpu"` (`cpu_durations`, the
            process's CPU seconds per step); a row without CPU durations has
            no CPU ratios (None each).

    Returns:
        The keys of `ratios`, and `spread` where the ratios are paired by round.

    Example:
        >>> row_ratios({"runners": {"kerasgen_xla": {"median_s": 0.5}, "peer": {"median_s": 0.6}}})["peer_over_xla"]
        1.2
    """
    runners = row.get("runners", {})
    key = "durations" if clock == "wall" else "cpu_durations"
    durations = {runner: summary.get(key) for runner, summary in runners.items()}
    if "peer" in durations and all(durations.values()):
        return paired_ratios(durations, row.get("steps_per_round", 1))
    if clock != "wall":
        return ratios({})
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
