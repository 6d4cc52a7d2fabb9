"""Write a model as a TensorFlow SavedModel version that TF Serving loads: `<base>/<name>/<version>/`.

A version is written to a temporary folder inside `<base>/<name>/` whose name
is not an integer (TF Serving ignores it), then renamed into place, so a server
watching `<base>/<name>/` never sees half a version. Replacing a version
(`overwrite`) renames the old one aside first and deletes it only once the new
one is in place; on any failure, Ctrl-C included, the temporary folder is
removed and an existing version is left as it was.

What the SavedModel holds is `kerasgen.export.module.serving_module`'s. This
module imports TensorFlow, the zoo and the model families only inside its functions.

Example:
    >>> from kerasgen.export import export
    >>> export("vae.mnist", base="saved_models")
    PosixPath('saved_models/vae.mnist/1')
"""

import os
import pathlib
import re
import shutil
import tempfile

from kerasgen.errors import UserError
from kerasgen.export.image_guard import check_budget
from kerasgen.export.module import serving_module

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
VERSION_PATTERN = re.compile(r"[0-9]+")
TEMPORARY_PREFIX = ".tmp-export-"


def export(name_or_dir, base="saved_models", name=None, version=None, overwrite=False, max_request_pixels=None):
    """Export a zoo entry or a `kerasgen train` folder for TF Serving.

    Args:
        name_or_dir: an entry name (`kerasgen.zoo.list()`) or a model folder.
        base: the folder that holds one folder per served model.
        name: the model's name for TF Serving; default the entry's name or the
            folder's name (characters other than letters, digits, `.`, `_` and
            `-` become `_`). TF Serving accepts dots in names, REST URLs included.
        version: the version number (a positive integer); default the next free one.
        overwrite: replace an existing version `version` (atomically).
        max_request_pixels: the most pixels the images of one request to an
            image-bytes signature (a CycleGAN's `*_png`) may count together;
            None for 4,194,304 (`kerasgen.export.image_guard`).

    Returns:
        The version folder, `<base>/<name>/<version>`.

    Raises:
        UserError: an unknown entry or folder, a bad name, an existing version
            without `overwrite`, a `max_request_pixels` that is not a positive
            integer, or weights that hold a NaN or an infinity.

    Example:
        >>> export("runs/cyclegan", base="saved_models", name="digits")
        PosixPath('saved_models/digits/1')
    """
    from kerasgen import zoo

    name = default_name(name_or_dir) if name is None else name
    check_name(name)
    check_budget(max_request_pixels)
    model, weights = zoo.load_unchecked(name_or_dir)
    return _export_model(model, base, name, version, overwrite, weights, max_request_pixels)


def default_name(name_or_dir):
    """The served name of an entry or model folder: its folder's name, made a safe path component.

    Characters other than letters, digits, `.`, `_` and `-` become `_`; leading
    `.`, `_` and `-` are dropped; `model` if nothing is left.

    Args:
        name_or_dir: an entry name (`kerasgen.zoo.list()`) or a model folder.

    Returns:
        The name, a `str`.

    Example:
        >>> default_name("runs/my run")
        'my_run'
    """
    from kerasgen import zoo

    folder = zoo.card_path(name_or_dir).resolve().parent.name
    return re.sub(r"[^A-Za-z0-9._-]", "_", folder).lstrip("._-") or "model"


def check_name(name):
    """Refuse a served model name that is not a single safe path component.

    Args:
        name: the served model's name: letters, digits, `.`, `_` and `-`, starting with a letter or digit.

    Raises:
        UserError: any other name.

    Example:
        >>> check_name("vae.mnist")  # passes
        >>> check_name("a/b")
        Traceback (most recent call last):
        kerasgen.errors.UserError: Invalid model name 'a/b': use letters, digits, '.', '_' and '-', ...
    """
    if not NAME_PATTERN.fullmatch(str(name)):
        raise UserError(
            f"Invalid model name {name!r}: use letters, digits, '.', '_' and '-', starting with a letter or digit."
        )


def versions(model_dir):
    """Version numbers already exported in a model folder (integer-named subfolders), sorted.

    Args:
        model_dir: a model folder, `<base>/<name>`; one that does not exist has no versions.

    Returns:
        A sorted list of `int`.

    Example:
        >>> versions("saved_models/vae.mnist")
        [1, 2]
    """
    model_dir = pathlib.Path(model_dir)
    if not model_dir.is_dir():
        return []
    return sorted(
        int(child.name) for child in model_dir.iterdir() if child.is_dir() and VERSION_PATTERN.fullmatch(child.name)
    )


def export_model(model, base="saved_models", name="model", version=None, overwrite=False, max_request_pixels=None):
    """Export a loaded kerasgen model to `<base>/<name>/<version>/` through a temporary folder.

    The SavedModel is written to `<base>/<name>/.tmp-export-*` and renamed to
    its version number when complete. With `overwrite`, an existing version
    is renamed aside, the new one renamed in, and the old one deleted. On any
    failure (Ctrl-C included) the temporary folder is removed and an existing
    version is left as it was.

    Args:
        model: an AutoEncoder, VAE, GAN, CycleGAN or Classifier.
        base: the folder holding one folder per served model.
        name: the served model's name.
        version: a positive integer; default one more than the highest existing version.
        overwrite: replace an existing `version`.
        max_request_pixels: the pixel budget of one request to an image-bytes
            signature; None for 4,194,304 (`kerasgen.export.image_guard`).

    Returns:
        The version folder.

    Raises:
        UserError: a bad name, version or `max_request_pixels`, an existing
            version without `overwrite`, or a variable of `model` (weights,
            optimizer state) that holds a NaN or an infinity: nothing is written then.

    Example:
        >>> export_model(kerasgen.zoo.load("vae.mnist"), "saved_models", "vae.mnist")
        PosixPath('saved_models/vae.mnist/1')
    """
    return _export_model(model, base, name, version, overwrite, None, max_request_pixels)


def _export_model(model, base, name, version, overwrite, weights, max_request_pixels=None):
    """`export_model`; `weights` names the file the model's weights came from, for the error if they are not finite."""
    from kerasgen import zoo

    check_name(name)
    check_budget(max_request_pixels)
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        raise UserError(f"The version must be a positive integer, got {version!r}.")
    base = pathlib.Path(base)
    model_dir = base / name
    for folder in (base, model_dir):
        if folder.exists() and not folder.is_dir():
            raise UserError(f"{str(folder)!r} is a file, not a folder.")
    existing = versions(model_dir)
    version = version or (max(existing, default=0) + 1)
    target = model_dir / str(version)
    if target.exists() and not overwrite:
        raise UserError(f"{str(target)!r} already exists; pass --overwrite to replace it, or choose another version.")
    zoo.refuse_non_finite(model, weights, "exporting")
    module, signatures = serving_module(model, max_request_pixels)
    created = not model_dir.exists()
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
        temporary = pathlib.Path(tempfile.mkdtemp(dir=model_dir, prefix=TEMPORARY_PREFIX))
    except OSError as error:
        raise UserError(f"Cannot write to {str(model_dir)!r}: {error.strerror}.") from None
    try:
        _save(module, temporary, signatures)
        os.chmod(temporary, 0o755)
        _move_into_place(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        if created and model_dir.is_dir() and not any(model_dir.iterdir()):
            model_dir.rmdir()
        raise
    return target


def _save(module, path, signatures):
    import tensorflow as tf

    try:
        tf.saved_model.save(module, str(path), signatures=signatures)
    except tf.errors.OpError as error:  # TensorFlow's file writers (a full disk, ...) raise these, not OSError
        reason = re.sub(r"\s*\[Op:\w+\]$", "", error.message.strip()).rsplit("; ", 1)[-1]  # "{file}; {reason}"
        raise OSError(reason) from error


def _move_into_place(temporary, target):
    """Rename `temporary` to `target`; an existing target is renamed aside first and deleted after."""
    if not target.exists():
        try:
            os.rename(temporary, target)
        except OSError as error:
            if target.exists():  # another export took this version meanwhile
                raise UserError(f"{str(target)!r} appeared during the export; export again.") from None
            raise UserError(f"Cannot rename the export to {str(target)!r}: {error.strerror}.") from None
        return
    aside = pathlib.Path(tempfile.mkdtemp(dir=target.parent, prefix=f".old-{target.name}-"))
    os.rename(target, aside / "version")
    try:
        os.rename(temporary, target)
    except BaseException:
        os.rename(aside / "version", target)
        aside.rmdir()
        raise
    shutil.rmtree(aside, ignore_errors=True)
