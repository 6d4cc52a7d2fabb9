"""Writing files so that a reader never sees half of one."""

import os
import pathlib
import tempfile


def write_atomically(path, payload):
    """Write bytes or text to `path` through a temporary file in the same folder."""
    path = pathlib.Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload.encode() if isinstance(payload, str) else payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
