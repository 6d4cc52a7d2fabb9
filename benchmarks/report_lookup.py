"""Figures read out of a run's results (the dict in `results.json`): timings per case, XLA setting and feed.

The examples share two training rows of one case, XLA on and off, fed by the
pipeline:

    >>> rows = [{"case": "gan", "jit": jit, "feed": "pipeline", "policy": "float32", "median_s": s}
    ...         for jit, s in ((True, 0.2), (False, 0.3))]
    >>> results = {"training": rows, "training_family": {"gan": "gan"}}
"""


def training_rows(results, policy="float32", error=False):
    """The training rows of one policy: timings (with `feed`), pipeline shares, or errors.

    Args:
        results: a run's results.
        policy: the dtype policy the rows ran under.
        error: if True, only the rows that record an error.

    Returns:
        The rows, in the order they ran.

    Example:
        >>> len(training_rows(results)), training_rows(results, error=True)
        (2, [])
    """
    rows = [row for row in results.get("training", []) if row.get("policy") == policy]
    if error:
        return [row for row in rows if "error" in row]
    return rows


def timing(results, case, jit, feed, policy="float32"):
    """The summary of one (case, XLA setting, feed, policy), or None.

    Example:
        >>> timing(results, "gan", True, "pipeline")["median_s"], timing(results, "gan", True, "memory")
        (0.2, None)
    """
    for row in training_rows(results, policy):
        if row["case"] == case and row["jit"] == jit and row.get("feed") == feed:
            return row
    return None


def pipeline_share(results, case, jit, policy="float32"):
    """The share of a step the input pipeline costs for one (case, XLA setting, policy), or None.

    Example:
        >>> pipeline_share({"training": [{**rows[0], "pipeline_share": 0.01}]}, "gan", True)
        0.01
    """
    for row in training_rows(results, policy):
        if row["case"] == case and row["jit"] == jit and "pipeline_share" in row:
            return row["pipeline_share"]
    return None


def cases_in(results):
    """Case names in the order they ran (training, then FLOPs, then serving rows).

    Example:
        >>> cases_in({**results, "serving": [{"case": "vae"}]})
        ['gan', 'vae']
    """
    names = []
    for row in results.get("training", []) + results.get("flops", []) + results.get("serving", []):
        if row["case"] not in names:
            names.append(row["case"])
    return names


def faster_jit(results, case, feed="pipeline", policy="float32"):
    """`(jit setting, its row)` of the faster XLA setting for a case, or `(None, None)` if neither ran.

    Example:
        >>> faster_jit(results, "gan")[0], faster_jit(results, "vae")
        (True, (None, None))
    """
    timed = [(jit, timing(results, case, jit, feed, policy)) for jit in (True, False)]
    timed = [(jit, row) for jit, row in timed if row]
    if not timed:
        return None, None
    return min(timed, key=lambda pair: pair[1]["median_s"])


def xla_speedup(results, case):
    """XLA's pipeline-fed speed-up for a case (step time without XLA over with it), or None unless both ran.

    Example:
        >>> xla_speedup(results, "gan")
        1.25
    """
    on, off = timing(results, case, True, "pipeline"), timing(results, case, False, "pipeline")
    return off["median_s"] / on["median_s"] if on and off else None


def peak_gflops(results):
    """The measured fp32 matmul peak in GFLOP/s, or None if it was not measured.

    Example:
        >>> peak_gflops({"matmul_peak": {"gflops": 137.8}}), peak_gflops({"matmul_peak": {"error": "..."}})
        (137.8, None)
    """
    peak = results.get("matmul_peak") or {}
    return peak.get("gflops")


def xla_slower(results, case, margin=0.05):
    """True if XLA made a case's step slower by more than `margin` with every feed timed (noise-proof "off").

    Example:
        >>> xla_slower(results, "gan"), xla_slower(results, "vae")
        (False, False)
    """
    ratios = []
    for feed in ("pipeline", "memory"):
        on, off = timing(results, case, True, feed, "float32"), timing(results, case, False, feed, "float32")
        if on and off:
            ratios.append(on["median_s"] / off["median_s"])
    return bool(ratios) and min(ratios) > 1 + margin


def xla_recommendation(results):
    """Per family, whether XLA was faster here: off only if it was more than 5% slower
    with both feeds in every case of that family (the photo-sized CycleGANs count for `cyclegan`).

    Example:
        >>> xla_recommendation(results)
        {'gan': True}
    """
    family_of = {**results.get("training_family", {})}
    family_of.update({case: "cyclegan" for case in cases_in(results) if case.startswith("cyclegan.")})
    chosen = {}
    for case, family in family_of.items():
        if faster_jit(results, case)[0] is not None:
            chosen[family] = chosen.get(family, False) or not xla_slower(results, case)
    return chosen
