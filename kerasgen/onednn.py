"""TensorFlow's oneDNN CPU kernels, on by default for kerasgen's command line.

TensorFlow 2.21 turns its oneDNN kernels on by itself only on CPUs with
AVX-512 (and the like); on AVX2-only CPUs they stay off unless
`TF_ENABLE_ONEDNN_OPTS=1`. On 2 AMD EPYC AVX2 cores every family's train
step was faster with them on, each in its faster XLA mode: CycleGAN 1.12x
at 32 px, GAN 1.18x, conditional GAN 1.27x, classifier 1.72x, AutoEncoder
1.82x, VAE 2.87x, and CycleGAN at 128 px level (benchmarks/RESULTS.md,
"oneDNN on and off"); `kerasgen train cyclegan` went from 10 min 50 s to
5 min 52 s - 7 min 18 s. So the `kerasgen` command sets the variable to 1 before
TensorFlow is imported, unless it is already set: `TF_ENABLE_ONEDNN_OPTS=0
kerasgen ...` keeps them off. Only on x86-64, where it was measured; other
CPUs (ARM) and code that imports kerasgen keep TensorFlow's own default.

Example:
    >>> from kerasgen.onednn import prefer_onednn
    >>> prefer_onednn()  # before anything imports TensorFlow
    True
"""

import os
import platform
import sys

VARIABLE = "TF_ENABLE_ONEDNN_OPTS"
X86_64 = ("x86_64", "amd64")


def prefer_onednn(environ=None, machine=None):
    """Set `TF_ENABLE_ONEDNN_OPTS=1` in `environ` (this process's environment if None) unless it is set.

    Args:
        environ: the environment to change; None for `os.environ`.
        machine: the CPU architecture (`platform.machine()` if None); only x86-64 gets the variable.

    Returns:
        True if the variable was set here; False if it was already set, if
        the CPU is not x86-64, or if TensorFlow is already imported (the
        variable is read at import, so setting it then would only mislead the
        processes this one starts).

    Example:
        >>> prefer_onednn({"TF_ENABLE_ONEDNN_OPTS": "0"})
        False
    """
    environ = os.environ if environ is None else environ
    machine = platform.machine() if machine is None else machine
    if VARIABLE in environ or "tensorflow" in sys.modules or machine.lower() not in X86_64:
        return False
    environ[VARIABLE] = "1"
    return True


def onednn_enabled():
    """Whether TensorFlow's oneDNN kernels are on in this process (imports TensorFlow).

    Example:
        >>> onednn_enabled()
        True
    """
    from tensorflow.python.util import _pywrap_util_port

    return bool(_pywrap_util_port.IsMklEnabled())
