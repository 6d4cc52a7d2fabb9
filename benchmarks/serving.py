"""Serving: the exported SavedModel in a fresh process against Keras `predict` in this one.

For each case the serving networks are exported (`kerasgen.export`) to a
temporary folder. A fresh Python process (`serving_child.py`, which imports
TensorFlow, never kerasgen) loads the SavedModel and answers one request of
batch 1 through `serving_default`; the time from launching that process to
the answer is the cold start. It then times `serving_default` at batch 1 and
64. In this process, the Keras network behind the same signature is timed
with `predict` at the same batch sizes, one `predict` call per batch as a
request would be answered (so its per-call setup counts, as the signature's does).
"""

import os
import pathlib
import subprocess
import sys
import tempfile
import time

from benchmarks import serving_child
from benchmarks.throughput import log

CHILD = pathlib.Path(serving_child.__file__)
BATCHES = (1, 64)


def keras_network_and_inputs(model, count, seed=0):
    """The Keras network that `serving_default` runs, and `count` random inputs for it.

    AutoEncoder and Classifier: the model on images; VAE: the decoder on
    latents; GAN: the (moving-average) generator on latents (and labels);
    CycleGAN: the A-to-B generator on images in [-1, 1].
    """
    return model.serving_counterpart(count, seed)


def _rows(inputs, count):
    if isinstance(inputs, list):
        return [part[:count] for part in inputs]
    return inputs[:count]


def keras_predict_rates(model, batches, max_call_s, budget_s):
    """Images per second of Keras `predict` on the serving network, one call per batch (as one request).

    Timed like the SavedModel (`serving_child.rates`): the median of repeated
    calls after one warm-up call, sizes whose call would exceed `max_call_s` skipped.
    """
    network, inputs = keras_network_and_inputs(model, max(batches))

    def make_call(batch):
        batch_inputs = _rows(inputs, batch)
        return lambda: network.predict(batch_inputs, batch_size=batch, verbose=0)

    return serving_child.rates(make_call, batches, max_call_s, budget_s)


def cold_start(path, batches, max_call_s, budget_s, timeout_s=900):
    """Launch `serving_child.py` on a SavedModel; time to its first answer and its rates.

    Returns:
        A dict with `first_answer_s` (from launch to `READY`) and `rates`.
    """
    import json

    command = [sys.executable, str(CHILD), str(path), ",".join(map(str, batches)), str(max_call_s), str(budget_s)]
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    start = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment) as child:
        first_answer = None
        for line in child.stdout:
            if line.strip() == "READY":
                first_answer = time.perf_counter() - start
                break
        try:
            rest, errors = child.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            child.kill()
            raise
    if first_answer is None or child.returncode:
        last = (errors or "").strip().splitlines()
        raise RuntimeError(f"serving process failed (exit {child.returncode}): {last[-1] if last else 'no output'}")
    return {"first_answer_s": first_answer, "rates": json.loads(rest.strip().splitlines()[-1])}


def measure_case(case, max_call_s=10.0, budget_s=3.0):
    """Export a case's model and time it served (fresh process) and in Keras (this process).

    Zoo cases export the entry with its pretrained weights; others a freshly built model.

    Returns:
        A dict with `case`, `saved_model` (`cold_start`'s figures) and `keras` (`keras_predict_rates`').
    """
    import keras

    from kerasgen import export, zoo

    with tempfile.TemporaryDirectory(prefix="kerasgen-bench-") as base:
        log(f"serving {case.name}: export, cold start, batches {BATCHES}")
        if case.entry:
            path = export.export(case.entry, base=base)
            model = zoo.load(case.entry)
        else:
            keras.utils.set_random_seed(0)
            model = case.build()
            path = export.export_model(model, base=base, name=case.name)
        served = cold_start(path, BATCHES, max_call_s, budget_s)
    in_process = keras_predict_rates(model, BATCHES, max_call_s, budget_s)
    del model
    keras.backend.clear_session()
    return {"case": case.name, "saved_model": served, "keras": in_process}


def help_wall_time(runs=5):
    """Median wall time of `kerasgen --help` in fresh processes (the console script beside this Python, if any).

    Returns:
        A dict with `command`, `runs` (seconds each) and `median_s`.
    """
    import statistics

    script = pathlib.Path(sys.executable).parent / "kerasgen"
    command = [str(script), "--help"] if script.exists() else [sys.executable, "-m", "kerasgen.cli", "--help"]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return {"command": " ".join(command), "runs": times, "median_s": statistics.median(times)}
