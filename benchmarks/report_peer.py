"""The peer section of `RESULTS.md`: kerasgen against the plain Keras CycleGAN (`benchmarks.peer`).

The examples share one peer row with two runners:

    >>> runners = {"kerasgen_xla": {"median_s": 0.2}, "peer": {"median_s": 0.3}}
    >>> results = {"peer": [{"case": "peer.digits", "onednn": "on", "runners": runners}]}
"""

from benchmarks.markdown import fmt, table
from benchmarks.peer_timing import goal_met, row_ratios
from benchmarks.timing import median


def latest_peer_rows(results):
    """The peer rows, the latest one per (case, `TF_ENABLE_ONEDNN_OPTS`), in the order they first ran.

    Example:
        >>> rows = [{"case": "peer.digits", "onednn_opts": opts, "date": date} for opts, date in ("1a", "1b", "0c")]
        >>> [row["date"] for row in latest_peer_rows({"peer": rows})]
        ['b', 'c']
    """
    latest = {}
    for row in results.get("peer", []):
        latest[(row["case"], row.get("onednn_opts"))] = row
    return list(latest.values())


def _ratio(value):
    return "-" if value is None else f"{value:.2f}x"


def _spread(figures):
    spread = figures.get("spread")
    return "-" if not spread else f"{spread[0]:.2f}-{spread[1]:.2f}x"


def _mode(runner):
    return {"kerasgen_xla": "XLA on", "kerasgen_no_xla": "XLA off"}.get(runner, "-")


def describe_cpu(cpu):
    """A CPU of `benchmarks.machine.cpu_info` in words, e.g. `AMD EPYC, AVX2, 2 usable cores`."""
    flags = cpu.get("flags", [])
    simd = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    if "avx512_bf16" in flags:
        simd += " with bf16"
    return f"{cpu.get('model', '-')}, {simd}, {cpu.get('usable_cores', '-')} usable cores"


def peer_table(results):
    """Per configuration and oneDNN setting: s/step of kerasgen (XLA on, off) and the peer, and the ratios.

    Ratios are paired by round where a row keeps its durations
    (`benchmarks.peer_timing.row_ratios`); the goal is `goal_met`'s, on the
    wall clock. Then the smallest and largest round's wall-clock ratio of
    the faster mode, and the same mode's ratio on the CPU clock.

    Example:
        >>> peer_table(results).splitlines()[2]
        '| peer.digits | on | 0.2 | - | 0.3 | 1.50x (XLA on) | 1.50x | - | met | - | - |'
    """
    rows = []
    for row in latest_peer_rows(results):
        runners = row.get("runners", {})
        medians = {runner: summary["median_s"] for runner, summary in runners.items()}
        figures, cpu_figures = row_ratios(row), row_ratios(row, "cpu")
        met = goal_met(figures, row["case"])
        cpu_ratio = cpu_figures.get(f"peer_over_{(figures['faster_mode'] or '').removeprefix('kerasgen_')}")
        rows.append(
            [
                row["case"],
                row.get("onednn", "-"),
                *(medians.get(runner) for runner in ("kerasgen_xla", "kerasgen_no_xla", "peer")),
                f"{_ratio(figures['peer_over_faster'])} ({_mode(figures['faster_mode'])})",
                _ratio(figures["peer_over_xla"]),
                _ratio(figures["peer_over_no_xla"]),
                "-" if met is None else ("met" if met else "missed"),
                _spread(figures),
                _ratio(cpu_ratio),
            ]
        )
    headers = [
        "config",
        "oneDNN",
        "kerasgen XLA on s/step",
        "kerasgen XLA off s/step",
        "peer s/step",
        "peer / kerasgen (faster mode)",
        "peer / kerasgen XLA on",
        "peer / kerasgen XLA off",
        "goal",
        "spread over rounds (faster mode)",
        "CPU time: peer / kerasgen (faster mode)",
    ]
    return table(headers, rows)


def peer_section(results):
    """The peer table with what its rows are: configurations, CPU, rounds.

    Example:
        >>> peer_section({"peer": []}).splitlines()[1]
        '## Peer: plain Keras CycleGAN'
    """
    rows = latest_peer_rows(results)
    parts = [
        "\n## Peer: plain Keras CycleGAN\n\nThe same networks (kerasgen's builders) trained by the plain Keras train "
        "step (`benchmarks/peer.py`: one persistent `tf.GradientTape`, least squares + cycle + identity losses, "
        'four Adam optimizers, four `apply_gradients`, `compile(jit_compile="auto")`; no image pool, no loss '
        "trackers), against kerasgen's `CycleGAN` with XLA on and off, without the semantic term (the same networks, "
        "batches and losses). For each oneDNN setting, a fresh process; in it the three take turns in "
        "short rounds (A, B, C, C, B, A, A, B, C, ...) after their warm-up steps and one untimed step each in turn, "
        "fed by the same real pipeline; median seconds per step over all rounds. Ratios: in each round the peer's "
        "time over kerasgen's, median over rounds (load that drifts between rounds cancels out); the faster mode "
        "is the one with the larger ratio; the spread is its smallest and largest round's ratio, and the CPU column "
        "pairs the rounds' CPU seconds of this process the same way. A ratio above 1 means kerasgen is faster. "
        "Goal: kerasgen's faster mode never slower than the peer, and at least 1.2x faster at `peer.digits`, "
        "on the wall clock, with both oneDNN settings, on a machine with no training running (the load "
        "averages below say how quiet it was)."
        "\n\n",
        peer_table(results),
        "\nWhere the time goes (`python -m benchmarks.peer_trace CASE RUNNER`, TensorFlow's profiler, op time by "
        "kind): not the step's order (no dependency keeps the discriminators' updates from running beside the "
        "generators' backward pass) but the size of its ops. At 32 px and batch 8, or 128 px and batch 1, one "
        "convolution does not keep both cores busy, so kerasgen calls each network once on the batches that do "
        "not depend on each other (`kerasgen.networks.in_one_call`): at `peer.digits` the same convolutions run "
        "in 236 ops a step instead of the peer's 356. `docs/benchmarks.md` has the traced table.\n",
    ]
    if rows:
        parts.append("\n")
        titles = {row["case"]: row.get("title", "") for row in rows}
        parts += [f"- `{case}`: {title}.\n" for case, title in titles.items()]
        for row in rows:
            cpu = describe_cpu(row.get("cpu", {}))
            resolved = row.get("peer_jit_compile")
            load = [value for value in row.get("load_average") or [] if value is not None]
            load_words = f"; load average {' -> '.join(f'{value:.1f}' for value in load)}" if load else ""
            averages = [value for value in row.get("load_averages") or [] if value]
            if averages:
                load_words = "; load average (1, 5, 15 min) " + " -> ".join(
                    ", ".join(f"{value:.1f}" for value in three) for three in averages
                )
            cpu_times = {
                runner: median(summary["cpu_durations"])
                for runner, summary in row.get("runners", {}).items()
                if summary.get("cpu_durations")
            }
            cpu_words = (
                "; CPU s/step " + ", ".join(f"{runner} {fmt(value)}" for runner, value in cpu_times.items())
                if cpu_times
                else ""
            )
            parts.append(
                f"- `{row['case']}`, oneDNN {row.get('onednn', '-')}: {cpu}, {row.get('date', '-')}{load_words}; "
                f"{row['warmup']} warm-up steps, then {row['rounds']} rounds of {row['steps_per_round']} timed steps "
                f"per runner{cpu_words}; the peer's `jit_compile` resolved to {resolved}.\n"
            )
    return "".join(parts)
