"""The oneDNN section of `RESULTS.md`: each training case with TensorFlow's oneDNN kernels on and off.

TensorFlow reads `TF_ENABLE_ONEDNN_OPTS` at import, so the comparison comes
from two runs of the same cases on one machine, one per setting, then
`python -m benchmarks --onednn ON_JSON OFF_JSON` (see `compare`). It backs
the `kerasgen` command's default (`kerasgen.onednn`).

The examples share two results dicts:

    >>> def run(onednn, ms):
    ...     rows = [{"case": "gan", "policy": "float32", "feed": "pipeline", "jit": jit, "median_s": s / 1000}
    ...             for jit, s in zip((True, False), ms)]
    ...     machine = {"cpu": {"model": "EPYC", "flags": ["avx2"]}, "date": "2026-12-04", "onednn": onednn}
    ...     return {"training": rows, "machine": machine}
    >>> on, off = run("on (TF_ENABLE_ONEDNN_OPTS=1)", (133, 135)), run("off (TF_ENABLE_ONEDNN_OPTS=0)", (158, 254))
"""

from benchmarks.markdown import fmt, table
from benchmarks.report_peer import describe_cpu

ONEDNN_CASES = "autoencoder,vae,gan,cgan,classifier,cyclegan.digits"
"""The cases of the section as measured in RESULTS.md: every family's default configuration."""


def fastest_steps(results):
    """Per case, the faster XLA mode's median pipeline-fed float32 step: `{case: (seconds, jit)}`.

    Example:
        >>> fastest_steps(on)
        {'gan': (0.133, True)}
    """
    fastest = {}
    for row in results.get("training", []):
        if row.get("policy") != "float32" or row.get("feed") != "pipeline" or "median_s" not in row:
            continue
        if row["case"] not in fastest or row["median_s"] < fastest[row["case"]][0]:
            fastest[row["case"]] = (row["median_s"], row["jit"])
    return fastest


def compare(on_results, off_results):
    """The `onednn` entry of results.json from a run with oneDNN on and one with it off, on the same machine.

    Raises:
        ValueError: the runs' oneDNN states are not on and off, or they share no case.

    Example:
        >>> [row["speedup"] for row in compare(on, off)["rows"]]
        [1.188]
    """
    states = [results["machine"]["onednn"] for results in (on_results, off_results)]
    if not (states[0].startswith("on") and states[1].startswith("off")):
        raise ValueError(f"--onednn takes a run with oneDNN on, then one with it off; these were {states}")
    on, off = fastest_steps(on_results), fastest_steps(off_results)
    rows = [
        {
            "case": case,
            "on_s": on[case][0],
            "on_xla": on[case][1],
            "off_s": off[case][0],
            "off_xla": off[case][1],
            "speedup": round(off[case][0] / on[case][0], 3),
        }
        for case in on
        if case in off
    ]
    if not rows:
        raise ValueError("the two runs share no training case")
    dates = [results["machine"]["date"] for results in (on_results, off_results)]
    return {"cpu": on_results["machine"]["cpu"], "dates": dates, "states": states, "rows": rows}


def onednn_section(comparison):
    """The section's Markdown: how it was measured, then a row per case.

    Example:
        >>> onednn_section(compare(on, off)).splitlines()[-1]
        '| gan | 133 (XLA on) | 158 (XLA on) | 1.19x |'
    """
    rows = [
        [
            row["case"],
            f"{fmt(row['on_s'] * 1000)} (XLA {'on' if row['on_xla'] else 'off'})",
            f"{fmt(row['off_s'] * 1000)} (XLA {'on' if row['off_xla'] else 'off'})",
            f"{row['speedup']:.2f}x",
        ]
        for row in comparison["rows"]
    ]
    return (
        "\n## oneDNN on and off\n\n"
        f"{describe_cpu(comparison['cpu'])}; oneDNN {comparison['states'][0]} at {comparison['dates'][0]}, "
        f"{comparison['states'][1]} at {comparison['dates'][1]}. Each side: a run of "
        f"`TF_ENABLE_ONEDNN_OPTS=1` (then `=0`) `python -m benchmarks --only {ONEDNN_CASES} --no-serving --out "
        "DIR`, then `python -m benchmarks --onednn ON/results.json OFF/results.json`. Median pipeline-fed ms/step "
        "of float32 training in each setting's faster XLA mode (the mode `kerasgen train` would time and keep); "
        "the last column is off / on. On x86-64 the `kerasgen` command turns oneDNN on unless "
        "`TF_ENABLE_ONEDNN_OPTS` is set (`kerasgen.onednn`).\n\n"
        + table(["case", "oneDNN on ms/step", "oneDNN off ms/step", "speed-up of oneDNN"], rows)
    )
