"""The bullets under "What limits each figure" in `RESULTS.md`: the figures read against the project's targets.

The example reads one case timed with XLA on and off and its FLOPs (the
`results` of `benchmarks.report_tables`):

    >>> rows = [{"case": "gan", "jit": jit, "feed": "pipeline", "policy": "float32", "median_s": s}
    ...         for jit, s in ((True, 0.2), (False, 0.25))]
    >>> results = {"training": rows, "matmul_peak": {"gflops": 100.0}, "flops": [{"case": "gan", "analytic": 2e9}]}
"""

from benchmarks.markdown import percent
from benchmarks.report_lookup import cases_in, faster_jit, peak_gflops, pipeline_share, timing, xla_speedup

PIPELINE_TARGET = 0.05  # the input pipeline should cost less than this share of a step
PEAK_TARGET = 0.5  # CycleGAN at 128 px and above should reach this fraction of the matmul peak
HELP_TARGET_S = 0.5


def limits_section(results):
    """Bullets that read the numbers: XLA per case, pipeline share, fraction of peak, serving, `--help`.

    Example:
        >>> print(limits_section(results), end="")
        - `gan`: the step is 1.25x faster with XLA on.
        - `gan`: 10.0% of the measured fp32 matmul peak.
    """
    bullets = []
    peak = peak_gflops(results)
    for case in cases_in(results):
        speedup = xla_speedup(results, case)
        if speedup is not None:
            faster = "on" if speedup > 1 else "off"
            bullets.append(f"`{case}`: the step is {max(speedup, 1 / speedup):.2f}x faster with XLA {faster}.")
        shares = [(pipeline_share(results, case, jit), jit) for jit in (True, False)]
        shares = [(value, jit) for value, jit in shares if value is not None]
        if shares:
            worst, jit = max(shares, key=lambda share: share[0])
            verdict = "under" if worst < PIPELINE_TARGET else "above"
            bullets.append(
                f"`{case}`: the input pipeline costs at most {percent(worst)} of a step ({verdict} the "
                f"{percent(PIPELINE_TARGET, 0)} target; {_share_noise(results, case, jit, worst)})."
            )
    for row in results.get("flops", []):
        _, best = faster_jit(results, row["case"])
        if row.get("analytic") and best and peak:
            fraction = row["analytic"] / best["median_s"] / 1e9 / peak
            line = f"`{row['case']}`: {percent(fraction)} of the measured fp32 matmul peak"
            if row["case"].startswith("cyclegan.") and row["case"] != "cyclegan.digits":
                verdict = "meets" if fraction >= PEAK_TARGET else "misses"
                line += f" ({verdict} the {percent(PEAK_TARGET, 0)} target for CycleGAN at 128 px and above)"
            elif fraction < 0.1:
                line += " (small layers: per-op overhead and memory traffic, not arithmetic, bound the step)"
            bullets.append(line + ".")
    for row in results.get("serving", []):
        if "error" in row:
            continue
        saved, keras_rates = row["saved_model"]["rates"].get("1", {}), row["keras"].get("1", {})
        if "images_per_s" in saved and "images_per_s" in keras_rates:
            ratio = saved["images_per_s"] / keras_rates["images_per_s"]
            bullets.append(
                f"`{row['case']}` served at batch 1: the SavedModel answers {ratio:.2f}x as many images/s as Keras "
                "`predict` (whose per-batch Python overhead weighs most at batch 1)."
            )
    cli = results.get("cli_help") or {}
    if "median_s" in cli:
        verdict = "under" if cli["median_s"] < HELP_TARGET_S else "above"
        bullets.append(f"`kerasgen --help`: {cli['median_s']:.3f} s, {verdict} the {HELP_TARGET_S} s target.")
    return "".join(f"- {bullet}\n" for bullet in bullets) or "- No figures to read.\n"


def _share_noise(results, case, jit, share):
    """Whether a pipeline share may be noise: near zero, or above target with timed steps of the two feeds that
    overlap (or not)."""
    fed, from_memory = timing(results, case, jit, "pipeline"), timing(results, case, jit, "memory")
    spreads = fed and from_memory and all("min_s" in row and "max_s" in row for row in (fed, from_memory))
    if share < PIPELINE_TARGET or not spreads:
        return "a share near zero or negative is within timing noise"
    steps = f"XLA {'on' if jit else 'off'}, its pipeline-fed steps ({_ms(fed)})"
    if fed["min_s"] <= from_memory["max_s"]:
        return f"{steps} overlap the memory-fed ones ({_ms(from_memory)}): not told apart from timing noise"
    return f"{steps} were all slower than the memory-fed ones ({_ms(from_memory)})"


def _ms(row):
    return f"{row['min_s'] * 1000:,.0f}-{row['max_s'] * 1000:,.0f} ms"
