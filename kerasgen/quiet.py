"""Keep TensorFlow's start-up lines out of a normal run.

Importing TensorFlow 2.21 prints lines such as "oneDNN custom operations are
on" and "Could not find cuda drivers" from C++, before absl's logging is set
up, so `TF_CPP_MIN_LOG_LEVEL` does not stop them. `silence_tensorflow_import`
installs an import hook that points the process's standard error (file
descriptor 2) at a temporary file while TensorFlow's package is imported, and
puts it back afterwards; if the import fails, what was captured is printed.

Example:
    >>> from kerasgen.quiet import silence_tensorflow_import
    >>> silence_tensorflow_import()
    >>> import keras  # imports TensorFlow without its start-up lines
"""

import contextlib
import importlib.abc
import importlib.util
import os
import sys
import tempfile


@contextlib.contextmanager
def stderr_captured():
    """Send file descriptor 2 to a temporary file; replay it to standard error if the block raises."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            os.write(2, captured.read())
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        with stderr_captured():
            self.loader.exec_module(module)


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def silence_tensorflow_import():
    """Import TensorFlow without its C++ start-up lines from now on (a no-op once it is imported)."""
    if "tensorflow" in sys.modules or any(isinstance(finder, _QuietTensorFlowFinder) for finder in sys.meta_path):
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.meta_path.insert(0, _QuietTensorFlowFinder())
