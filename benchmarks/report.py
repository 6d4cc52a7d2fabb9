"""`RESULTS.md` from a run's results (the dict that is also written to `results.json`)."""

from benchmarks.markdown import fmt, percent, table
from benchmarks.timing import median

PIPELINE_TARGET = 0.05  # the input pipeline should cost less than this share of a step
PEAK_TARGET = 0.5  # CycleGAN at 128 px and above should reach this fraction of the matmul peak
HELP_TARGET_S = 0.5


def training_rows(results, policy="float32", error=False):
    """The training rows of one policy: timings (with `feed`), pipeline shares, or errors."""
    rows = [row for row in results.get("training", []) if row.get("policy") == policy]
    if error:
        return [row for row in rows if "error" in row]
    return rows


def timing(results, case, jit, feed, policy="float32"):
    """The summary of one (case, XLA setting, feed, policy), or None."""
    for row in training_rows(results, policy):
        if row["case"] == case and row["jit"] == jit and row.get("feed") == feed:
            return row
    return None


def pipeline_share(results, case, jit, policy="float32"):
    for row in training_rows(results, policy):
        if row["case"] == case and row["jit"] == jit and "pipeline_share" in row:
            return row["pipeline_share"]
    return None


def cases_in(results):
    """Case names in the order they ran."""
    names = []
    for row in results.get("training", []) + results.get("flops", []) + results.get("serving", []):
        if row["case"] not in names:
            names.append(row["case"])
    return names


def faster_jit(results, case, feed="pipeline", policy="float32"):
    """`(jit setting, its row)` of the faster XLA setting for a case, or `(None, None)` if neither ran."""
    timed = [(jit, timing(results, case, jit, feed, policy)) for jit in (True, False)]
    timed = [(jit, row) for jit, row in timed if row]
    if not timed:
        return None, None
    return min(timed, key=lambda pair: pair[1]["median_s"])


def peak_gflops(results):
    peak = results.get("matmul_peak") or {}
    return peak.get("gflops")


def _ms(row):
    return None if row is None else row["median_s"] * 1e3


def _rate(row):
    return None if row is None else row["images_per_s"]


def machine_section(machine):
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
    """Per case: pipeline-fed images/s with XLA on and off, and the faster setting."""
    current = results.get("xla_by_default", {})
    family_of = results.get("training_family", {})
    rows = []
    for case in cases_in(results):
        on, off = timing(results, case, True, "pipeline"), timing(results, case, False, "pipeline")
        if not (on and off):
            continue
        faster, _ = faster_jit(results, case)
        ratio = off["median_s"] / on["median_s"]
        family = family_of.get(case)
        now = current.get(family) if family else None
        rows.append(
            [case, family or "-", _rate(on), _rate(off), f"{ratio:.2f}x", "on" if faster else "off", _on_off(now)]
        )
    headers = [
        "case",
        "family",
        "XLA on images/s",
        "XLA off images/s",
        "speed-up of XLA",
        "faster",
        "default now",
    ]
    return table(headers, rows)


def _on_off(value):
    return "-" if value is None else ("on" if value else "off")


def flops_table(results):
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


def latest_peer_rows(results):
    """The peer rows, the latest one per (case, `TF_ENABLE_ONEDNN_OPTS`), in the order they first ran."""
    latest = {}
    for row in results.get("peer", []):
        latest[(row["case"], row.get("onednn_opts"))] = row
    return list(latest.values())


def _ratio(value):
    return "-" if value is None else f"{value:.2f}x"


def _mode(runner):
    return {"kerasgen_xla": "XLA on", "kerasgen_no_xla": "XLA off"}.get(runner, "-")


def _cpu_words(cpu):
    flags = cpu.get("flags", [])
    simd = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    if "avx512_bf16" in flags:
        simd += " with bf16"
    return f"{cpu.get('model', '-')}, {simd}, {cpu.get('usable_cores', '-')} usable cores"


def peer_table(results):
    """Per configuration and oneDNN setting: s/step of kerasgen (XLA on, off) and the peer, and the ratios."""
    from benchmarks.peer import goal_met, row_ratios

    rows = []
    for row in latest_peer_rows(results):
        runners = row.get("runners", {})
        medians = {runner: summary["median_s"] for runner, summary in runners.items()}
        figures = row_ratios(row)
        met = goal_met(figures, row["case"])
        rows.append(
            [
                row["case"],
                row.get("onednn", "-"),
                *(medians.get(runner) for runner in ("kerasgen_xla", "kerasgen_no_xla", "peer")),
                f"{_ratio(figures['peer_over_faster'])} ({_mode(figures['faster_mode'])})",
                _ratio(figures["peer_over_xla"]),
                _ratio(figures["peer_over_no_xla"]),
                "-" if met is None else ("met" if met else "missed"),
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
    ]
    return table(headers, rows)


def peer_section(results):
    """The peer table with what its rows are: configurations, CPU, rounds."""
    rows = latest_peer_rows(results)
    parts = [
        "\n## Peer: plain Keras CycleGAN\n\nThe same networks (kerasgen's builders) trained by the plain Keras train "
        "step (`benchmarks/peer.py`: one persistent `tf.GradientTape`, least squares + cycle + identity losses, "
        'four Adam optimizers, four `apply_gradients`, `compile(jit_compile="auto")`; no image pool, no loss '
        "trackers), against kerasgen's `CycleGAN` with XLA on and off. In one process the three take turns in "
        "short rounds (A, B, C, A, B, C, ...) after their warm-up steps and one untimed step each in turn, fed "
        "by the same real pipeline; median seconds per step over all rounds. Ratios: in each round the peer's "
        "time over kerasgen's, median over rounds (load that drifts between rounds cancels out); the faster mode "
        "is the one with the larger ratio. A ratio above 1 means kerasgen is faster. Goal: kerasgen's faster "
        "mode never slower than the peer, and at least 1.2x faster at `peer.digits`.\n\n",
        peer_table(results),
    ]
    if rows:
        parts.append("\n")
        titles = {row["case"]: row.get("title", "") for row in rows}
        parts += [f"- `{case}`: {title}.\n" for case, title in titles.items()]
        for row in rows:
            cpu = _cpu_words(row.get("cpu", {}))
            resolved = row.get("peer_jit_compile")
            load = [value for value in row.get("load_average") or [] if value is not None]
            load_words = f"; load average {' -> '.join(f'{value:.1f}' for value in load)}" if load else ""
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


def limits_section(results):
    """Bullets that read the numbers: XLA per case, pipeline share, fraction of peak, serving, `--help`."""
    bullets = []
    peak = peak_gflops(results)
    for case in cases_in(results):
        on, off = timing(results, case, True, "pipeline"), timing(results, case, False, "pipeline")
        if on and off:
            faster = "on" if on["median_s"] < off["median_s"] else "off"
            ratio = max(on["median_s"], off["median_s"]) / min(on["median_s"], off["median_s"])
            bullets.append(f"`{case}`: the step is {ratio:.2f}x faster with XLA {faster}.")
        shares = [pipeline_share(results, case, jit) for jit in (True, False)]
        shares = [value for value in shares if value is not None]
        if shares:
            worst = max(shares)
            verdict = "under" if worst < PIPELINE_TARGET else "above"
            bullets.append(
                f"`{case}`: the input pipeline costs at most {percent(worst)} of a step ({verdict} the "
                f"{percent(PIPELINE_TARGET, 0)} target; a share near zero or negative is within timing noise)."
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


def xla_slower(results, case, margin=0.05):
    """True if XLA made a case's step slower by more than `margin` with every feed timed (noise-proof "off")."""
    ratios = []
    for feed in ("pipeline", "memory"):
        on, off = timing(results, case, True, feed, "float32"), timing(results, case, False, feed, "float32")
        if on and off:
            ratios.append(on["median_s"] / off["median_s"])
    return bool(ratios) and min(ratios) > 1 + margin


def xla_recommendation(results):
    """Per family, whether XLA was faster here: off only if it was more than 5% slower
    with both feeds in every case of that family (the photo-sized CycleGANs count for `cyclegan`)."""
    family_of = {**results.get("training_family", {})}
    family_of.update({case: "cyclegan" for case in cases_in(results) if case.startswith("cyclegan.")})
    chosen = {}
    for case, family in family_of.items():
        if faster_jit(results, case)[0] is not None:
            chosen[family] = chosen.get(family, False) or not xla_slower(results, case)
    return chosen


def render(results):
    """The whole report as Markdown text."""
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
            "because the answer changes with the CPU kind (the peer table below, with oneDNN on and off, has XLA "
            "0.39-0.94x as fast for CycleGAN where this table has it 0.93-1.40x): a run of 500 steps or more "
            "compiles its train step both ways, times both on its own batches in alternating rounds, keeps the "
            "faster and records the two timings in its card (`kerasgen.training.choose_xla`); shorter runs train "
            "without XLA.\n"
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
    """True for the results of a run that measured peer rows and nothing else (`--only peer --no-serving`)."""
    return bool(part.get("peer")) and not any(part.get(key) for key in ("training", "flops", "serving"))


def merge(parts):
    """One results dict from several partial runs: rows are concatenated, other fields taken from the last run
    that has them, the matmul peak is the highest, and an error line about a case measured later is dropped.

    A run that measured only peer rows adds its rows and errors and nothing else: each peer row names its own
    CPU, date and oneDNN setting, while the machine, the matmul peak and `kerasgen --help` of the report's
    header belong to the runs of the other tables (possibly another machine).
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
