"""Writing files so that a reader never sees half of one, and a failed write loses nothing.

Every writer here writes to a temporary file beside the target and renames it
into place. If the write fails (a full disk, no permission, Ctrl-C), the
temporary file is removed, the target keeps its old content, and an `OSError`
becomes a one-line `UserError` that names the file.
"""

import os
import pathlib
import re
import tempfile

from kerasgen.errors import UserError, first_line


def kerasgen_home():
    """Where kerasgen keeps what it downloads or builds: `$KERASGEN_HOME`, default `~/.cache/kerasgen`.

    Example:
        >>> kerasgen_home() / "mnistm-skimage-v1.npy"
        PosixPath('/home/me/.cache/kerasgen/mnistm-skimage-v1.npy')
    """
    return pathlib.Path(os.environ.get("KERASGEN_HOME", pathlib.Path.home() / ".cache" / "kerasgen"))


def make_folder(folder):
    """Create `folder` and its parents, or raise a one-line `UserError` saying why not (e.g. a file in the way).

    Example:
        >>> make_folder("/etc/hostname/grids")
        UserError: Cannot create the folder '/etc/hostname/grids': '/etc/hostname' is a file, not a folder.
    """
    folder = pathlib.Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        blocker = next((parent for parent in (folder, *folder.parents) if parent.is_file()), None)
        reason = f"{str(blocker)!r} is a file, not a folder" if blocker else error.strerror or str(error)
        raise UserError(f"Cannot create the folder {str(folder)!r}: {reason}.") from None
    return folder


def write_atomically(path, payload):
    """Write bytes or text to `path` through a temporary file in the same folder.

    Raises:
        UserError: the file cannot be written; `path` is unchanged.

    Example:
        >>> write_atomically("runs/vae/card.json", json.dumps(card))
    """
    payload = payload.encode() if isinstance(payload, str) else payload

    def write(temporary):
        with open(temporary, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())

    save_atomically(path, write)


def save_atomically(path, save, suffix=".tmp"):
    """Call `save(temporary)` on a temporary file beside `path`, then rename it to `path`.

    Args:
        path: the file to write or replace.
        save: a function that writes the whole file to the path it is given
            (e.g. `model.save_weights`).
        suffix: the temporary file's suffix (Keras needs `.weights.h5` for weights).

    Raises:
        UserError: the file cannot be written (no space, no permission, ...);
            `path` keeps its old content and no temporary file is left.

    Example:
        >>> save_atomically("runs/gan/model.weights.h5", model.save_weights, suffix=".weights.h5")
    """
    path = pathlib.Path(path)
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
        os.close(handle)
        save(temporary)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as error:
        raise UserError(cannot_write(path, error)) from None
    finally:
        if temporary and os.path.exists(temporary):
            os.unlink(temporary)


def cannot_write(path, error):
    """The one-line message for an error raised while writing `path`: an `OSError`, or TensorFlow's `OpError`.

    Example:
        >>> cannot_write("runs/vae/model.weights.h5", OSError(28, "No space left on device"))
        "Cannot write 'runs/vae/model.weights.h5': No space left on device; anything already there is unchanged."
    """
    reason = getattr(error, "strerror", None) or getattr(error, "message", None) or str(error)
    code = re.search(r"errno = (\d+)", reason)  # h5py's messages spread the system's reason over several lines
    reason = os.strerror(int(code[1])) if code else first_line(reason or error)
    return f"Cannot write {str(path)!r}: {reason.strip().rstrip('.')}; anything already there is unchanged."
