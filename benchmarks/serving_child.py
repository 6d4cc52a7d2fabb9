"""Run as a script in a fresh process: load a SavedModel, answer once, then time its default signature.

    python serving_child.py SAVED_MODEL_DIR BATCHES MAX_CALL_S BUDGET_S

Prints `READY` as soon as the first answer (batch 1) is back, then one JSON
line `{"BATCH": {...}}` with `rate`'s figures per batch size. Imports
TensorFlow and NumPy only (never kerasgen), as a server would.
"""

import json
import sys
import time


def rate(call, batch, budget_s, max_reps=50):
    """Images per second of `call()` answering `batch` images: median over repeated calls after one warm-up.

    Args:
        call: a function that answers one batch (and waits for the answer).
        batch: images per call.
        budget_s: stop repeating once this much time is spent; at least 3 timed
            calls unless one call alone takes longer than the budget.
        max_reps: at most this many timed calls.

    Returns:
        A dict with `batch`, `calls`, `median_s` and `images_per_s`.
    """
    call()
    times = []
    spent = 0.0
    while len(times) < max_reps and (not times or spent < budget_s or (len(times) < 3 and times[-1] < budget_s)):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
        spent += times[-1]
    times.sort()
    middle = times[len(times) // 2] if len(times) % 2 else (times[len(times) // 2 - 1] + times[len(times) // 2]) / 2
    return {"batch": batch, "calls": len(times), "median_s": middle, "images_per_s": batch / middle}


def rates(make_call, batches, max_call_s, budget_s):
    """`rate` at each batch size in increasing order, skipping sizes whose calls would take too long.

    A batch size is skipped when the time per image measured at the previous
    size, times this size, exceeds `max_call_s`.

    Args:
        make_call: `make_call(batch)` returns the call that answers `batch` images.
        batches: batch sizes.
        max_call_s: the longest estimated call to attempt.
        budget_s: `rate`'s time budget per batch size.

    Returns:
        `{str(batch): figures}`; a skipped size has `skipped` with the reason.
    """
    results, per_image = {}, None
    for batch in sorted(batches):
        if per_image is not None and per_image * batch > max_call_s:
            estimate = per_image * batch
            results[str(batch)] = {"batch": batch, "skipped": f"estimated {estimate:.0f} s per call > {max_call_s} s"}
            continue
        figures = rate(make_call(batch), batch, budget_s)
        per_image = figures["median_s"] / batch
        results[str(batch)] = figures
    return results


def signature_inputs(signature, batch, seed=0):
    """Random inputs for a serving signature: floats in [0, 1), labels 0-9, seeds 0..batch-1."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    inputs = {}
    for name, spec in signature.structured_input_signature[1].items():
        shape = (batch, *spec.shape[1:])
        if spec.dtype.is_floating:
            value = rng.random(shape, dtype=np.float32)
        elif name == "labels":
            value = rng.integers(0, 10, shape).astype(spec.dtype.as_numpy_dtype)
        else:
            value = np.arange(batch).reshape(shape).astype(spec.dtype.as_numpy_dtype)
        inputs[name] = tf.constant(value)
    return inputs


def main(path, batches, max_call_s, budget_s):
    import tensorflow as tf

    signature = tf.saved_model.load(path).signatures["serving_default"]

    def make_call(batch):
        inputs = signature_inputs(signature, batch)
        return lambda: [output.numpy() for output in signature(**inputs).values()]

    make_call(1)()
    print("READY", flush=True)
    print(json.dumps(rates(make_call, batches, max_call_s, budget_s)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], [int(batch) for batch in sys.argv[2].split(",")], float(sys.argv[3]), float(sys.argv[4]))
