"""The tables of `RESULTS.md`, one function per section (the peer's are in `benchmarks.report_peer`).

Each takes a run's results (the dict in `results.json`) and returns
Markdown. The examples share one case timed with XLA on and off, fed by the
pipeline and from memory, and its FLOPs:

    >>> rows = [{"case": "gan", "jit": jit, "feed": feed, "policy": "float32", "batch_size": 64, "median_s": s,
    ...          "images_per_s": 64 / s}
    ...         for jit, feed, s in ((True, "pipeline", 0.2), (False, "pipeline", 0.25), (True, "memory", 0.19),
    ...                              (False, "memory", 0.25))]
    >>> results = {"training": rows, "training_family": {"gan": "gan"}, "matmul_peak": {"gflops": 100.0},
    ...            "flops": [{"case": "gan", "analytic": 2e9, "profiler": 2.2e9}]}
"""

from benchmarks.markdown import percent, table
from benchmarks.report_lookup import cases_in, faster_jit, peak_gflops, pipeline_share, timing, xla_speedup


def _ms(row):
    return None if row is None else row["median_s"] * 1e3


def _rate(row):
    return None if row is None else row["images_per_s"]


def machine_section(machine):
    """Bullets of the machine a run measured: date, CPU, GPU, versions, platform (`-` for what is missing).

    Args:
        machine: the `machine` entry of a run's results (`benchmarks.machine`).

    Example:
        >>> cpu = {"model": "Xeon", "logical_cores": 2, "usable_cores": 2, "flags": ["avx2"]}
        >>> machine_section({"date": "2025-01-01", "cpu": cpu}).splitlines()[1]
        '- CPU: Xeon, 2 logical cores (2 usable); flags: avx2'
    """
    cpu = machine.get("cpu", {})
    lines = [
        f"- Date: {machine.get('date', '-')}",
        f"- CPU: {cpu.get('model', '-')}, {cpu.get('logical_cores', '-')} logical cores "
        f"({cpu.get('usable_cores', '-')} usable); flags: {', '.join(cpu.get('flags', [])) or 'none of interest'}",
        f"- GPU: {', '.join(machine.get('gpus') or []) or 'none'}",
        f"- Python {machine.get('python', '-')}, TensorFlow {machine.get('tensorflow', '-')}, "
        f"Keras {machine.get('keras', '-')}, NumPy {machine.get('numpy', '-')}; oneDNN: {machine.get('onednn', '-')}",
        f"- Platform: {machine.get('platform', '-')}",
    ]
    return "\n".join(lines) + "\n"


def throughput_table(results, policy="float32"):
    """Per case and XLA setting: ms/step and images/s fed by the pipeline and from memory, and the pipeline share.

    Example:
        >>> throughput_table(results).splitlines()[2]
        '| gan | 64 | on | 200 | 320 | 190 | 337 | - |'
    """
    rows = []
    for case in cases_in(results):
        for jit in (True, False):
            pipeline, memory = (
                timing(results, case, jit, "pipeline", policy),
                timing(results, case, jit, "memory", policy),
            )
            if not (pipeline or memory):
                continue
            batch = (pipeline or memory)["batch_size"]
            share = pipeline_share(results, case, jit, policy)
            rows.append(
                [
                    case,
                    batch,
                    "on" if jit else "off",
                    _ms(pipeline),
                    _rate(pipeline),
                    _ms(memory),
                    _rate(memory),
                    percent(share),
                ]
            )
    headers = [
        "case",
        "batch",
        "XLA",
        "pipeline ms/step",
        "pipeline images/s",
        "memory ms/step",
        "memory images/s",
        "pipeline share",
    ]
    return table(headers, rows)


def xla_table(results):
    """Per case: pipeline-fed images/s with XLA on and off, and the faster setting.

    Example:
        >>> xla_table(results).splitlines()[2]
        '| gan | gan | 320 | 256 | 1.25x | on |'
    """
    family_of = results.get("training_family", {})
    rows = []
    for case in cases_in(results):
        speedup = xla_speedup(results, case)
        if speedup is not None:
            on, off = timing(results, case, True, "pipeline"), timing(results, case, False, "pipeline")
            faster = "on" if speedup >= 1 else "off"
            rows.append([case, family_of.get(case, "-"), _rate(on), _rate(off), f"{speedup:.2f}x", faster])
    headers = ["case", "family", "XLA on images/s", "XLA off images/s", "speed-up of XLA", "faster"]
    return table(headers, rows)


def xla_speedups(results, prefix):
    """XLA's pipeline-fed speed-ups (off / on step time) of the cases whose name starts with `prefix`.

    Example:
        >>> xla_speedups(results, "cyclegan.")
        [1.27, 1.09, 1.41]
    """
    speedups = [xla_speedup(results, case) for case in cases_in(results) if case.startswith(prefix)]
    return [round(speedup, 2) for speedup in speedups if speedup is not None]


def flops_table(results):
    """Per case: FLOPs per step (profiler, analytic), the faster pipeline-fed step, and the share of the peak.

    Example:
        >>> flops_table(results).splitlines()[2]
        '| gan | 2.2 | 2 | 1.100 | 200 | on | 10 | 10.0% |'
    """
    peak = peak_gflops(results)
    rows = []
    for row in results.get("flops", []):
        case = row["case"]
        jit, best = faster_jit(results, case)
        profiler, analytic = row.get("profiler"), row.get("analytic")
        ratio = f"{profiler / analytic:.3f}" if profiler and analytic else "-"
        achieved = analytic / best["median_s"] / 1e9 if (analytic and best) else None
        fraction = achieved / peak if (achieved and peak) else None
        rows.append(
            [
                case,
                None if profiler is None else profiler / 1e9,
                None if analytic is None else analytic / 1e9,
                ratio,
                _ms(best),
                "-" if jit is None else ("on" if jit else "off"),
                achieved,
                percent(fraction),
            ]
        )
    headers = [
        "case",
        "profiler GFLOP/step",
        "analytic GFLOP/step",
        "profiler / analytic",
        "step ms (pipeline, faster XLA)",
        "XLA",
        "achieved GFLOP/s (analytic)",
        "of fp32 matmul peak",
    ]
    return table(headers, rows)


def mixed_table(results):
    """Per case and XLA setting: memory-fed images/s in float32 and in the run's `mixed_policy`, and the speed-up.

    Example:
        >>> mixed_table({**results, "mixed_policy": "mixed_float16"}).splitlines()[0]
        '| case | XLA | float32 images/s (memory) | mixed_float16 images/s (memory) | speed-up |'
    """
    policy = results.get("mixed_policy")
    rows = []
    for case in cases_in(results):
        for jit in (True, False):
            full, mixed = timing(results, case, jit, "memory"), timing(results, case, jit, "memory", policy)
            if not mixed:
                continue
            speedup = f"{full['median_s'] / mixed['median_s']:.2f}x" if full else "-"
            rows.append([case, "on" if jit else "off", _rate(full), _rate(mixed), speedup])
    headers = ["case", "XLA", "float32 images/s (memory)", f"{policy} images/s (memory)", "speed-up"]
    return table(headers, rows)


def serving_table(results):
    """Per served case: SavedModel start-to-first-answer and images/s, against Keras `predict`, at batch 1 and 64.

    Rows that record an error are left out; a skipped batch size says why.

    Example:
        >>> len(serving_table({"serving": [{"case": "gan", "error": "..."}]}).splitlines())  # the headers only
        2
    """
    rows = []
    for row in results.get("serving", []):
        if "error" in row:
            continue
        saved, keras_rates = row["saved_model"]["rates"], row["keras"]
        rows.append(
            [
                row["case"],
                row["saved_model"]["first_answer_s"],
                *(_served(saved.get(str(batch))) for batch in (1, 64)),
                *(_served(keras_rates.get(str(batch))) for batch in (1, 64)),
            ]
        )
    headers = [
        "case",
        "process start to first answer (s)",
        "SavedModel images/s, batch 1",
        "SavedModel images/s, batch 64",
        "Keras predict images/s, batch 1",
        "Keras predict images/s, batch 64",
    ]
    return table(headers, rows)


def _served(figures):
    if not figures:
        return None
    if "skipped" in figures:
        return f"skipped ({figures['skipped']})"
    return figures["images_per_s"]
