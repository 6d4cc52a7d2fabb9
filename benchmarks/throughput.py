"""Training throughput: median step time fed from the real pipeline and from memory, with XLA on and off.

One `fit` per (case, XLA setting, precision) runs `warmup` steps and `steps`
timed steps from the real pipeline, then `steps` timed steps from one batch of
that pipeline held in memory (`tf.data.Dataset.from_tensors(batch).repeat()`).
Both parts go through one dataset (`concatenate`), so the train function is
traced and compiled once and the two feeds time the same compiled step.
"""

import sys

from benchmarks.timing import make_step_timer, share, step_durations, summarize


def log(message):
    """Progress on stderr, so a long run shows where it is."""
    print(f"[benchmarks] {message}", file=sys.stderr, flush=True)


def memory_feed(batch):
    """A dataset that yields `batch` (tensors already in memory) forever."""
    import tensorflow as tf

    return tf.data.Dataset.from_tensors(batch).repeat()


def first_batch(dataset):
    """The first batch of a dataset, as tensors."""
    return next(iter(dataset))


def timed_fit(model, parts, warmup, batch_size):
    """Fit on the parts of a dataset one after the other and time each part's steps.

    Args:
        model: a compiled model.
        parts: `(label, dataset, steps)` triples; the warm-up steps come from
            the first part's dataset, before its timed steps.
        warmup: untimed steps at the start (at least 1).
        batch_size: images per step, for images per second.

    Returns:
        `{label: summary}` with `summarize`'s figures for each part.
    """
    warmup = max(warmup, 1)
    combined = None
    for index, (_, dataset, steps) in enumerate(parts):
        piece = dataset.take(steps + (warmup if index == 0 else 0))
        combined = piece if combined is None else combined.concatenate(piece)
    total = warmup + sum(steps for _, _, steps in parts)
    timer = make_step_timer()
    model.fit(combined, epochs=1, steps_per_epoch=total, callbacks=[timer], verbose=0)
    durations = step_durations(timer.stamps, warmup)
    results, start = {}, 0
    for label, _, steps in parts:
        results[label] = summarize(durations[start : start + steps], batch_size)
        start += steps
    return results


def measure_case(case, jit_settings=(True, False), policy="float32", feeds=("pipeline", "memory")):
    """Time one case's training step for each XLA setting under a dtype policy.

    Args:
        case: a `benchmarks.cases.Case`.
        jit_settings: the `jit_compile` values to time.
        policy: the Keras dtype policy to build the model in (restored to
            `float32` afterwards).
        feeds: `pipeline` and/or `memory`.

    Returns:
        A list of rows `{"case", "policy", "jit", "feed", "batch_size", **summary}`,
        plus `{"case", "policy", "jit", "pipeline_share"}` rows where both feeds ran;
        an `error` row for a setting that failed.
    """
    import keras

    rows = []
    pipeline = case.pipeline(case.warmup + case.steps)
    batch = first_batch(pipeline)
    for jit in jit_settings:
        label = f"{case.name} policy={policy} jit_compile={jit}"
        log(f"training {label}: {case.warmup} warm-up + {case.steps} timed steps per feed")
        try:
            keras.mixed_precision.set_global_policy(policy)
            keras.utils.set_random_seed(0)
            model = case.build()
            case.compile(model, jit)
            sources = {"pipeline": pipeline, "memory": memory_feed(batch)}
            parts = [(feed, sources[feed], case.steps) for feed in feeds]
            timings = timed_fit(model, parts, case.warmup, case.batch_size)
        except Exception as error:  # one failed setting must not stop the run
            log(f"FAILED {label}: {error!r}")
            rows.append({"case": case.name, "policy": policy, "jit": jit, "error": _one_line(error)})
            continue
        finally:
            keras.mixed_precision.set_global_policy("float32")
        for feed, summary in timings.items():
            row = {"case": case.name, "policy": policy, "jit": jit, "feed": feed, "batch_size": case.batch_size}
            rows.append({**row, **summary})
            log(f"  {feed}: {summary['median_s'] * 1e3:.1f} ms/step, {summary['images_per_s']:.1f} images/s")
        if {"pipeline", "memory"} <= timings.keys():
            pipeline_share = share(timings["pipeline"]["median_s"], timings["memory"]["median_s"])
            rows.append({"case": case.name, "policy": policy, "jit": jit, "pipeline_share": pipeline_share})
        del model
        keras.backend.clear_session()
    return rows


def _one_line(error):
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]
