"""kerasgen's benchmarks (issue 7): `python -m benchmarks` writes `benchmarks/RESULTS.md` and `results.json`.

What each figure is:

* fp32 matmul peak: the best of several products of two 2048x2048 float32
  matrices in a `tf.function` (2 n^3 FLOPs each), at the start and the end of
  the run; the higher one counts.
* Training throughput, per case and XLA setting (`jit_compile` on and off):
  one `fit` runs warm-up steps, then timed steps from the real `tf.data`
  pipeline (`kerasgen.data.make_dataset` / `make_unpaired_dataset` with
  `epochs`, as `kerasgen.training` builds it), then timed steps from one of
  its batches held in memory. A callback stamps `time.perf_counter()` at the
  end of every step; the median step after warm-up gives images/s. The
  pipeline's share is (pipeline - memory) / pipeline.
* FLOPs per step: the TF profiler's count on the graph of one `train_step`,
  and an analytic count of convolutions and dense layers
  (`benchmarks.flops`); achieved GFLOP/s and its fraction of the peak.
* Mixed precision (`--mixed-precision`): memory-fed steps under
  `kerasgen.training.precision_policy(True)`, against float32.
* Serving: each case's export (`kerasgen.export`) in a fresh process: time
  from launch to the first answer, images/s at batch 1 and 64; against Keras
  `predict` of the same network in this process.
* `kerasgen --help`: median wall time of 5 runs of the console script.
* Peer (`benchmarks.peer`): kerasgen's CycleGAN with XLA on and off against
  the same networks trained by a plain Keras train step (one persistent
  tape, four optimizers, `jit_compile="auto"`), taking turns in short rounds
  in one process; median seconds per step and the ratios peer / kerasgen
  on the wall and the CPU clock, paired by round, with their spread. Each
  configuration runs in two fresh processes, `TF_ENABLE_ONEDNN_OPTS=1` and
  `=0` (TensorFlow reads it at import).
* oneDNN on and off (`--onednn ON_JSON OFF_JSON`): the training cases of two
  runs, one per `TF_ENABLE_ONEDNN_OPTS` setting, side by side
  (`benchmarks.report_onednn`). Without the variable, a run has oneDNN on, as
  the `kerasgen` command does (`kerasgen.onednn`).

Cases: every family at its zoo entry's configuration and batch size
(autoencoder.mnist, vae.mnist, dcgan.mnist, cgan.mnist, classifier.mnist,
cyclegan.digits), and CycleGAN with the paper's networks at 128 and 256 px RGB
(batch 1; `--extended` adds batch 4 at 128 px) on random images through the
photo pipeline (`augment=True`). Peer cases (family `peer`): `peer.digits`
(the `cyclegan.digits` configuration without its semantic term, and its
pipeline) and `peer.128` (128 px RGB,
64-filter generators with 9 residual blocks, 70x70 PatchGAN, batch 1, random
images through the photo pipeline).
"""

import json
import pathlib
import time

from benchmarks import cases as cases_module
from benchmarks import peer as peer_module
from benchmarks import report
from benchmarks.throughput import log
from kerasgen.progress import progress

DEFAULT_OUT = pathlib.Path(__file__).resolve().parent
LARGE_CASES = ("cyclegan.128", "cyclegan.128.b4", "cyclegan.256")


def _error_text(error):
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]


def select_cases(only=(), extended=False, quick=False):
    """The training cases and the peer cases that `only` names (every one of both if it is empty).

    Example:
        >>> selected, peers = select_cases(["peer"])
        >>> [case.name for case in selected], [case.name for case in peers]
        ([], ['peer.digits', 'peer.128'])
    """
    only = list(only)
    others = [name for name in only if not peer_module.is_peer_name(name)]
    # `--only peer` alone runs no other case (an empty selection would mean every case).
    selected = cases_module.select(cases_module.all_cases(extended), others) if others or not only else []
    peers = peer_module.select(peer_module.peer_cases(), only)
    if quick:
        selected = [cases_module.quick(case) for case in selected]
        peers = [peer_module.quick(case) for case in peers]
    return selected, peers


def run(
    only=(), quick=False, mixed_precision=False, extended=False, out=DEFAULT_OUT, serving=True, measure_training=True
):
    """Run the benchmarks and write `RESULTS.md` and `results.json` into `out`; returns the results dict.

    Args:
        only: case names or families to run (all if empty).
        quick: tiny step counts, for a smoke run (the report says so).
        mixed_precision: also time each case under the mixed dtype policy.
        extended: add CycleGAN at 128 px with batch 4.
        out: the folder for the two files.
        serving: also measure serving (export, cold start, predict).
        measure_training: measure training (throughput, FLOPs, mixed precision); False
            for serving and `kerasgen --help` only.
    """
    import keras
    import tensorflow as tf  # noqa: F401 - imported first so that its start-up is not timed below

    from benchmarks import flops, machine, throughput
    from benchmarks import serving as serving_module
    from kerasgen import training

    started = time.perf_counter()
    extended = extended or "cyclegan.128.b4" in only
    selected, peers = select_cases(only, extended, quick)
    training_families = cases_module.training_families()
    results = {
        "options": {"only": list(only), "quick": quick, "mixed_precision": mixed_precision, "extended": extended},
        "machine": machine.describe(),
        "training_family": {
            case.name: training_families[case.name] for case in selected if case.name in training_families
        },
        "steps": {case.name: (case.warmup, case.steps) for case in selected},
        "training": [],
        "flops": [],
        "serving": [],
        "peer": [],
        "errors": [],
    }
    if mixed_precision:
        results["mixed_policy"] = training.precision_policy(True)

    def attempt(what, function, *args, **kwargs):
        try:
            return function(*args, **kwargs)
        except Exception as error:  # a failed measurement is reported; the others still run
            log(f"FAILED {what}: {error!r}")
            results["errors"].append(f"{what}: {_error_text(error)}")
            return None

    peak_size, peak_repeats = (1024, 3) if quick else (2048, 10)
    log(f"fp32 matmul peak ({peak_size}x{peak_size})")
    peak = attempt("matmul peak", machine.matmul_peak, peak_size, peak_repeats)
    results["matmul_peak"] = {**peak, "repeats": peak_repeats} if peak else {"error": results["errors"][-1]}
    for case in selected if measure_training else ():
        batch = attempt(f"{case.name} pipeline", lambda case=case: throughput.first_batch(case.pipeline(1)))
        if batch is not None:
            log(f"FLOPs of {case.name}")
            row = attempt(f"{case.name} FLOPs", flops.measure_case, case, batch)
            if row:
                results["flops"].append(row)
                if "error" in row:
                    results["errors"].append(f"{case.name} FLOPs: {row['error']}")
        rows = attempt(f"{case.name} training", throughput.measure_case, case) or []
        if mixed_precision:
            policy = results["mixed_policy"]
            # Without XLA, bfloat16 on a CPU without bf16 instructions runs op by op in emulation: already 5-7x
            # slower at the zoo's sizes (see the report), and many minutes a step at 128 and 256 px, so only XLA there.
            jits = (True,) if case.name in LARGE_CASES else (True, False)
            rows += (
                attempt(
                    f"{case.name} {policy}",
                    throughput.measure_case,
                    case,
                    jit_settings=jits,
                    policy=policy,
                    feeds=("memory",),
                )
                or []
            )
        results["training"] += rows
        results["errors"] += [
            f"{row['case']} training ({row['policy']}, XLA {row['jit']}): {row['error']}"
            for row in rows
            if "error" in row
        ]
        _write(results, out)  # partial results survive a crash of a later case
    for case in peers if measure_training else ():
        for row in attempt(f"{case.name} peer", peer_module.measure_both_settings, case, quick, log) or []:
            row.update(cpu=results["machine"]["cpu"], date=results["machine"]["date"])
            results["peer"].append(row)
            results["errors"] += [f"{case.name} {runner}: {error}" for runner, error in row["errors"].items()]
        _write(results, out)
    log("kerasgen --help wall time")
    results["cli_help"] = attempt("kerasgen --help", serving_module.help_wall_time) or {"error": "failed"}
    if serving:
        max_call_s, budget_s = (2.0, 0.5) if quick else (30.0, 3.0)
        for case in progress(selected, "Serving benchmark"):
            row = attempt(f"{case.name} serving", serving_module.measure_case, case, max_call_s, budget_s)
            results["serving"].append(row or {"case": case.name, "error": results["errors"][-1]})
            _write(results, out)
    log("fp32 matmul peak again")
    again = attempt("matmul peak (end)", machine.matmul_peak, peak_size, peak_repeats)
    if again and again["gflops"] > results["matmul_peak"].get("gflops", 0):
        results["matmul_peak"] = {**again, "repeats": peak_repeats}
    keras.mixed_precision.set_global_policy("float32")
    results["elapsed_s"] = time.perf_counter() - started
    _write(results, out)
    log(f"done in {results['elapsed_s'] / 60:.1f} min; wrote {pathlib.Path(out) / 'RESULTS.md'}")
    return results


def _write(results, out):
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (out / "RESULTS.md").write_text(report.render(results))
