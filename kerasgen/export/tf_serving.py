"""Serving the exports with TF Serving: its `--model_config_file` for a folder of models, and a `docker run` line.

A folder of served models (`<base>/<name>/<version>/`, as `kerasgen export`
writes it) becomes one `config` entry per model folder that holds at least one
integer version with a `saved_model.pb`; hidden folders, temporary export
folders and stray files are left out.

Example:
    >>> write_serving_config("saved_models/models.config", "saved_models", root="/models")
    PosixPath('saved_models/models.config')
    >>> print(docker_command("saved_models/vae.mnist/1"))
    docker run -p 8501:8501 -v /home/me/saved_models/vae.mnist:/models/vae.mnist -e MODEL_NAME=vae.mnist \
        tensorflow/serving
"""

import pathlib
import shlex

from kerasgen.errors import UserError
from kerasgen.export.savedmodel import versions
from kerasgen.files import make_folder, write_atomically


def model_folders(base="saved_models"):
    """Folders under `base` that TF Serving can serve: with an integer subfolder holding `saved_model.pb`.

    Args:
        base: the folder of model folders.

    Returns:
        The model folders, sorted by name.

    Raises:
        UserError: `base` is not a folder.

    Example:
        >>> [path.name for path in model_folders("saved_models")]
        ['vae.mnist']
    """
    base = pathlib.Path(base)
    if not base.is_dir():
        raise UserError(f"{str(base)!r} is not a folder.")
    return [
        folder
        for folder in sorted(base.iterdir())
        if folder.is_dir()
        and not folder.name.startswith(".")
        and any((folder / str(number) / "saved_model.pb").is_file() for number in versions(folder))
    ]


def _quoted(text):
    """A protobuf text-format string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def serving_config(base="saved_models", root=None):
    """A TF Serving `--model_config_file` (text format) naming every model folder under `base`.

    Args:
        base: the folder of model folders.
        root: the base folder as the server sees it (e.g. `/models` inside the
            Docker image); default the absolute path of `base`.

    Returns:
        The config's text.

    Raises:
        UserError: `base` is not a folder, or holds no exported model.

    Example:
        >>> print(serving_config("saved_models", root="/models"))
        model_config_list {
          config {
            name: "vae.mnist"
            base_path: "/models/vae.mnist"
            model_platform: "tensorflow"
          }
        }
    """
    folders = model_folders(base)
    if not folders:
        raise UserError(f"No exported models under {str(base)!r}; run `kerasgen export NAME --base {base}` first.")
    root = str(pathlib.Path(base).resolve()) if root is None else str(root).rstrip("/") or "/"
    lines = ["model_config_list {"]
    for folder in folders:
        lines += [
            "  config {",
            f"    name: {_quoted(folder.name)}",
            f"    base_path: {_quoted(root.rstrip('/') + '/' + folder.name)}",
            '    model_platform: "tensorflow"',
            "  }",
        ]
    return "\n".join([*lines, "}", ""])


def write_serving_config(path, base="saved_models", root=None):
    """Write `serving_config(base, root)` to `path` atomically; returns the path.

    Args:
        path: the config file to write (its folder is created).
        base: the folder of model folders.
        root: the base folder as the server sees it; see `serving_config`.

    Returns:
        `path`, as a `pathlib.Path`.

    Raises:
        UserError: no exported model under `base`, or `path` cannot be written.

    Example:
        >>> write_serving_config("saved_models/models.config", "saved_models", root="/models")
        PosixPath('saved_models/models.config')
    """
    text = serving_config(base, root)
    path = pathlib.Path(path)
    make_folder(path.parent)
    write_atomically(path, text)
    return path


def docker_command(version_dir):
    """The `docker run tensorflow/serving` line that serves the model of a version folder over REST.

    Args:
        version_dir: a version folder, `<base>/<name>/<version>`.

    Returns:
        The command line, with the model folder mounted at `/models/<name>`.

    Example:
        >>> print(docker_command("saved_models/vae.mnist/1"))
        docker run -p 8501:8501 -v /home/me/saved_models/vae.mnist:/models/vae.mnist -e MODEL_NAME=vae.mnist \
            tensorflow/serving
    """
    model_dir = pathlib.Path(version_dir).resolve().parent
    name = model_dir.name
    volume = shlex.quote(f"{model_dir}:/models/{name}")
    return f"docker run -p 8501:8501 -v {volume} -e MODEL_NAME={name} tensorflow/serving"
