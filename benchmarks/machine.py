"""The machine a run measures: CPU, GPU, versions, date, and its measured fp32 matrix-multiply peak."""

import datetime
import os
import platform
import sys

from benchmarks.timing import best_of

INTERESTING_FLAGS = ("avx", "avx2", "fma", "f16c", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile")


def cpu_info(cpuinfo_text=None):
    """CPU model, logical cores, cores usable by this process and the SIMD flags that matter to TensorFlow.

    Args:
        cpuinfo_text: the text of `/proc/cpuinfo`; None to read it (empty where there is none).

    Returns:
        A dict with `model`, `logical_cores`, `usable_cores` and `flags` (the
        subset of `INTERESTING_FLAGS` present).

    Example:
        >>> cpu_info("model name : Test CPU\\nflags : fpu avx2 fma\\n")["flags"]
        ['avx2', 'fma']
    """
    if cpuinfo_text is None:
        try:
            with open("/proc/cpuinfo") as stream:
                cpuinfo_text = stream.read()
        except OSError:
            cpuinfo_text = ""
    fields = {}
    for line in cpuinfo_text.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    present = set(fields.get("flags", "").split())
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "model": fields.get("model name") or platform.processor() or platform.machine(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "flags": [flag for flag in INTERESTING_FLAGS if flag in present],
    }


def describe():
    """Everything the report's header states about the machine and the software, as a dict."""
    import keras
    import numpy as np
    import tensorflow as tf

    gpus = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        gpus.append(details.get("device_name", device.name))
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu_info(),
        "gpus": gpus,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "onednn": onednn_state(),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads() or "default",
    }


def matmul_peak(size=2048, repeats=5, device="/CPU:0", dtype="float32"):
    """The best rate of one `size` x `size` matrix product in a `tf.function`, in GFLOP/s (2 n^3 per product).

    Args:
        size: side of the square matrices.
        repeats: timed repetitions; the fastest counts.
        device: where to run it.
        dtype: the matrices' dtype.

    Returns:
        A dict with `size`, `seconds` (best) and `gflops`.

    Example:
        >>> matmul_peak(256, repeats=2)["gflops"] > 0
        True
    """
    import tensorflow as tf

    with tf.device(device):
        left = tf.random.normal((size, size), dtype=dtype, seed=1)
        right = tf.random.normal((size, size), dtype=dtype, seed=2)

        @tf.function
        def product(a, b):
            return tf.reduce_sum(tf.linalg.matmul(a, b)[:1, :1])  # a tiny output: no copy back is timed

        seconds = best_of(lambda: product(left, right).numpy(), repeats)
    return {"size": size, "dtype": dtype, "device": device, "seconds": seconds, "gflops": 2 * size**3 / seconds / 1e9}


def onednn_state():
    """Whether TensorFlow's oneDNN (MKL) kernels are on in this process, and what `TF_ENABLE_ONEDNN_OPTS` says.

    TensorFlow turns them on by default only on CPUs with AVX-512-class features; this is what it decided here.
    """
    from kerasgen.onednn import onednn_enabled

    setting = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset")
    return f"{'on' if onednn_enabled() else 'off'} (TF_ENABLE_ONEDNN_OPTS={setting})"
