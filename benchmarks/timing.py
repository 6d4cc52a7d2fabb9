"""Step timing: a callback that stamps every training step, and the statistics taken from the stamps.

Pure helpers (`step_durations`, `median`, `summarize`) take plain numbers, so
they are tested without TensorFlow.
"""

import statistics
import time


def step_durations(stamps, warmup):
    """Durations of the timed steps from the end time of every step.

    Step `i` (counting from 0) lasts `stamps[i] - stamps[i - 1]`; step 0 has
    no start stamp and always counts as warm-up. The first `warmup` steps
    (at least 1) are dropped: they include tracing and compilation.

    Args:
        stamps: `time.perf_counter()` at the end of each step, in order.
        warmup: steps to skip at the start.

    Returns:
        A list of `len(stamps) - max(warmup, 1)` durations in seconds.

    Example:
        >>> step_durations([10.0, 11.0, 11.5, 12.5], warmup=2)
        [0.5, 1.0]
    """
    warmup = max(int(warmup), 1)
    return [stamps[i] - stamps[i - 1] for i in range(warmup, len(stamps))]


def median(values):
    """The median of `values`, or None if there are none.

    Example:
        >>> median([3.0, 1.0, 2.0])
        2.0
    """
    values = list(values)
    return statistics.median(values) if values else None


def summarize(durations, batch_size):
    """Median step time and images per second of timed steps.

    Args:
        durations: seconds per timed step.
        batch_size: images per step.

    Returns:
        A dict with `steps`, `median_s`, `min_s`, `max_s` and `images_per_s`
        (`batch_size / median_s`).

    Example:
        >>> summarize([0.5, 1.0, 0.25], 8)["images_per_s"]
        16.0
    """
    middle = median(durations)
    if middle is None:
        raise ValueError("No timed steps: run more steps than warm-up steps.")
    return {
        "steps": len(durations),
        "median_s": middle,
        "min_s": min(durations),
        "max_s": max(durations),
        "images_per_s": batch_size / middle,
    }


def share(slower, faster):
    """The part of `slower` not spent in `faster`: `(slower - faster) / slower` (negative if `faster` is slower).

    Example:
        >>> share(0.2, 0.15)
        0.25
    """
    return (slower - faster) / slower


def make_step_timer():
    """A Keras callback that records `time.perf_counter()` at the end of every training batch.

    Reading one logged value as a Python float before stamping waits for the
    step's result, so asynchronous devices are timed correctly too.

    Example:
        >>> timer = make_step_timer()
        >>> model.fit(dataset, steps_per_epoch=13, callbacks=[timer])
        >>> step_durations(timer.stamps, warmup=3)
    """
    import keras

    class StepTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.stamps = []

        def on_train_batch_end(self, batch, logs=None):
            for value in (logs or {}).values():
                float(value)  # wait for the step
                break
            self.stamps.append(time.perf_counter())

    return StepTimer()


def best_of(function, repeats):
    """The shortest wall time of `repeats` calls of `function()` (after one untimed call).

    Example:
        >>> best_of(lambda: sum(range(1000)), 3) > 0
        True
    """
    function()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best
