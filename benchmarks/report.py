"""`RESULTS.md` from a run's results (the dict that is also written to `results.json`), and merging partial runs.

`render` puts the sections together: the tables come from
`benchmarks.report_tables` and `benchmarks.report_peer`, the bullets that
read them from `benchmarks.report_limits`, and the figures all of them read
from `benchmarks.report_lookup`. The public names of those modules are
importable from here too.
"""

# The sections `render` puts together; the names marked noqa are re-exported, so that
# `benchmarks.report.<name>` keeps working for the tests and other callers.
from benchmarks.markdown import fmt
from benchmarks.report_limits import HELP_TARGET_S, PEAK_TARGET, PIPELINE_TARGET, limits_section  # noqa: F401
from benchmarks.report_lookup import (  # noqa: F401
    cases_in,
    faster_jit,
    peak_gflops,
    pipeline_share,
    timing,
    training_rows,
    xla_recommendation,
    xla_slower,
)
from benchmarks.report_onednn import onednn_section
from benchmarks.report_peer import latest_peer_rows, peer_section, peer_table  # noqa: F401
from benchmarks.report_tables import (
    flops_table,
    machine_section,
    mixed_table,
    serving_table,
    throughput_table,
    xla_speedups,
    xla_table,
)


def render(results):
    """The whole report as Markdown text.

    Args:
        results: a run's results, as `benchmarks.run` returns them or
            `results.json` holds them; missing sections say so.

    Returns:
        The text of `RESULTS.md`.

    Example:
        >>> render(json.loads(pathlib.Path("benchmarks/results.json").read_text())).splitlines()[0]
        '# kerasgen benchmarks'
    """
    options = results.get("options", {})
    parts = ["# kerasgen benchmarks\n"]
    if options.get("quick"):
        parts.append(
            "\n**Quick smoke run (tiny step counts; the 128 and 256 px CycleGANs with 8-filter networks): "
            "these figures are not measurements to quote.**\n"
        )
    parts.append(
        "\nWritten by `python -m benchmarks` (see `benchmarks/__init__.py` for what each figure means); "
        "raw numbers in `results.json`.\n\n## Machine\n\n"
    )
    parts.append(machine_section(results.get("machine", {})))
    peak = results.get("matmul_peak") or {}
    parts.append("\n## fp32 matrix-multiply peak (this run)\n\n")
    if "gflops" in peak:
        parts.append(
            f"Best of {peak.get('repeats', '-')} products of two {peak['size']}x{peak['size']} float32 matrices "
            f"(`tf.linalg.matmul` in a `tf.function`), measured at the start and the end of the run: "
            f"**{fmt(peak['gflops'])} GFLOP/s** (2 n^3 per product).\n"
        )
    else:
        parts.append(f"Not measured: {peak.get('error', 'no figure')}\n")
    parts.append(
        "\n## Training throughput (float32)\n\nMedian step time after warm-up; images/s = batch / median "
        "(CycleGAN: image pairs). Pipeline: the real `tf.data` pipeline of `kerasgen.training`; memory: one of its "
        "batches repeated from memory. Pipeline share = (pipeline - memory) / pipeline.\n\n"
    )
    parts.append(throughput_table(results))
    steps = results.get("steps", {})
    if steps:
        parts.append(
            "\nSteps per feed (warm-up + timed): "
            + ", ".join(f"`{case}` {warmup} + {timed}" for case, (warmup, timed) in steps.items())
            + ".\n"
        )
    parts.append("\n## XLA: on or off per family\n\nPipeline-fed images/s.\n\n")
    parts.append(xla_table(results))
    recommended = xla_recommendation(results)
    if recommended:
        parts.append(
            f"\nXLA faster on this machine, per family: `{recommended}`. `kerasgen train` does not read this table, "
            f"because the answer changes with the CPU kind and the oneDNN setting ({_cyclegan_xla_range(results)}"
            "on 2 AMD EPYC AVX-512 cores with oneDNN on, `docs/benchmarks.md` has XLA 0.39-0.56x as fast for "
            "CycleGAN at 32 and 128 px): a run of 500 steps or more compiles its train step both ways, times both "
            "on its own batches in alternating rounds, keeps the faster and records the two timings in its card "
            "(`kerasgen.training.choose_xla`); shorter runs train without XLA.\n"
        )
    parts.append(
        "\n## Floating-point work per training step\n\nProfiler: TensorFlow's profiler on the graph of one "
        "`train_step` (no XLA; every op with registered statistics, before unused gradients are pruned). "
        "Analytic: convolutions, transposed convolutions and dense layers, 3x the forward work for every pass on a "
        "gradient tape (`benchmarks/flops.py`). Achieved rate = analytic FLOPs / median pipeline-fed step at the "
        "faster XLA setting.\n\n"
    )
    parts.append(flops_table(results))
    if results.get("mixed_policy"):
        parts.append(f"\n## Mixed precision ({results['mixed_policy']})\n\nMemory-fed steps, against float32.\n\n")
        parts.append(mixed_table(results))
    parts.append(
        "\n## Serving\n\nSavedModel: `serving_default` of the export, in a fresh process that imports TensorFlow "
        "only; the first column is from launching that process to its first answer (batch 1). Keras: `predict` of "
        "the network behind the same signature, in the benchmark's process. Batch sizes whose call would take too "
        "long on this machine are skipped.\n\n"
    )
    parts.append(serving_table(results))
    if results.get("peer"):
        parts.append(peer_section(results))
    if results.get("onednn"):
        parts.append(onednn_section(results["onednn"]))
    cli = results.get("cli_help") or {}
    parts.append("\n## `kerasgen --help`\n\n")
    if "median_s" in cli:
        parts.append(f"Median of {len(cli['runs'])} runs of `{cli['command']}`: **{cli['median_s']:.3f} s**.\n")
    else:
        parts.append(f"Not measured: {cli.get('error', 'no figure')}\n")
    parts.append("\n## What limits each figure\n\n")
    parts.append(limits_section(results))
    errors = results.get("errors", [])
    parts.append("\n## Errors\n\n")
    parts.append("".join(f"- {error}\n" for error in errors) if errors else "None.\n")
    if "elapsed_s" in results:
        parts.append(f"\nThe run took {results['elapsed_s'] / 60:.1f} minutes.\n")
    return "".join(parts)


ROW_KEYS = ("training", "flops", "serving", "peer")


def peer_only(part):
    """True for the results of a run that measured peer rows and nothing else (`--only peer --no-serving`).

    Example:
        >>> peer_only({"peer": [{}]}), peer_only({"peer": [{}], "training": [{}]})
        (True, False)
    """
    return bool(part.get("peer")) and not any(part.get(key) for key in ("training", "flops", "serving"))


def merge(parts):
    """One results dict from several partial runs: rows are concatenated, other fields taken from the last run
    that has them, the matmul peak is the highest, and an error line about a case measured later is dropped.

    A run that measured only peer rows adds its rows and errors and nothing else: each peer row names its own
    CPU, date and oneDNN setting, while the machine, the matmul peak and `kerasgen --help` of the report's
    header belong to the runs of the other tables (possibly another machine).

    Args:
        parts: results dicts, oldest first.

    Returns:
        The merged results dict.

    Example:
        >>> first = {"training": [{"case": "gan"}], "errors": ["gan: failed"], "matmul_peak": {"gflops": 90.0}}
        >>> second = {"training": [{"case": "gan"}], "errors": [], "matmul_peak": {"gflops": 100.0}}
        >>> merged = merge([first, second])
        >>> len(merged["training"]), merged["errors"], merged["matmul_peak"]["gflops"]
        (2, [], 100.0)
    """
    merged = {}
    for part in parts:
        if peer_only(part):
            merged["peer"] = merged.get("peer", []) + part["peer"]
            continue
        for key, value in part.items():
            if key in ROW_KEYS:
                merged[key] = merged.get(key, []) + value
            elif isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "matmul_peak":
                merged[key] = {**merged[key], **value}
            elif key != "errors":
                merged[key] = value
    peaks = [part["matmul_peak"] for part in parts if part.get("matmul_peak", {}).get("gflops") and not peer_only(part)]
    if peaks:
        merged["matmul_peak"] = max(peaks, key=lambda peak: peak["gflops"])
    measured = {row["case"] for key in ("training", "serving") for row in merged.get(key, []) if "error" not in row}
    measured |= {row["case"] for row in merged.get("peer", []) if row.get("runners") and not row.get("errors")}
    errors = [error for part in parts for error in part.get("errors", [])]
    merged["errors"] = [error for error in errors if error.split(":")[0].split()[0] not in measured]
    return merged


def _cyclegan_xla_range(results):
    speedups = xla_speedups(results, "cyclegan.")
    if not speedups:
        return ""
    return f"this table has XLA {min(speedups):.2f}-{max(speedups):.2f}x as fast for CycleGAN; "
