"""kerasgen: AutoEncoder, VAE, GAN and CycleGAN as Keras 3 models, with a zoo.

Importing `kerasgen` is cheap: the model classes (and TensorFlow with them)
load on first use.

Example:
    >>> import kerasgen
    >>> model = kerasgen.zoo.load("vae.mnist")
    >>> images = model.sample(16)
"""

import contextlib
import importlib

__version__ = "0.1.0"

_LAYERS = {
    "Sampling": "kerasgen.vae",
    "ImagePool": "kerasgen.cyclegan",
    "ConstantThenLinearDecay": "kerasgen.cyclegan",
    "ReflectionPadding2D": "kerasgen.networks",
}
_SUBMODULES = (
    "families",
    "data",
    "zoo",
    "evaluation",
    "imaging",
    "training",
    "networks",
    "errors",
    "files",
    "gan_losses",
    "export",
)


def load_model(path, **kwargs):
    """`keras.models.load_model` for `.keras` files holding kerasgen models, always with `safe_mode=True`.

    Importing `kerasgen` does not import the model classes (to keep the CLI
    fast), so Keras could not find them by name; this registers them first.
    Safe mode stays on even after `keras.config.enable_unsafe_deserialization()`:
    a file with a `Lambda` layer (Python code that could do anything) is
    refused before any of its code runs.

    Raises:
        UserError: the file does not exist, is not a `.keras` file, or holds
            code that safe mode refuses.

    Example:
        >>> model.save("vae.keras")
        >>> model = kerasgen.load_model("vae.keras")
    """
    import pathlib

    import keras

    from kerasgen.errors import UserError

    path = pathlib.Path(path)
    if not path.is_file():
        raise UserError(f"Model file {str(path)!r} does not exist.")
    if path.suffix != ".keras":
        raise UserError(f"{str(path)!r} is not a .keras file; kerasgen.load_model reads only the .keras format.")
    for module in sorted(set(_lazy().values())):
        importlib.import_module(module)
    try:
        # Keras lets a global enable_unsafe_deserialization() override safe_mode=True; this scope (thread-local,
        # restored on exit) keeps it on. The test suite checks that Keras still honours it.
        from keras.src.saving.serialization_lib import SafeModeScope
    except ImportError:
        SafeModeScope = contextlib.nullcontext
    try:
        with SafeModeScope(True):
            return keras.models.load_model(path, safe_mode=True, **kwargs)
    except ValueError as error:
        if "safe_mode" not in str(error):
            raise
        first = str(error).splitlines()[0].split(". ")[0]
        raise UserError(
            f"Refusing to load {str(path)!r} in safe mode: {first}. If you trust its source, "
            "use keras.models.load_model(path, safe_mode=False)."
        ) from None


def _lazy():
    """Public class name -> module: every registered family's model class, and the layers they use."""
    families = importlib.import_module("kerasgen.families")
    classes = {families.get(name).class_name: families.get(name).model.partition(":")[0] for name in families.names()}
    return {**classes, **_LAYERS}


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"kerasgen.{name}")
    lazy = _lazy()
    if name in lazy:
        return getattr(importlib.import_module(lazy[name]), name)
    raise AttributeError(f"module 'kerasgen' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_lazy(), *_SUBMODULES])
