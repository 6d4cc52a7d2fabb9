"""kerasgen: AutoEncoder, VAE, GAN and CycleGAN as Keras 3 models, with a zoo.

A family lives in its own folder (`kerasgen.autoencoder`, `kerasgen.vae`,
`kerasgen.gan`, `kerasgen.classifier`, `kerasgen.cyclegan`); its model class
is reachable from there and from here. Importing `kerasgen` is cheap: the
model classes (and TensorFlow with them) load on first use.

Example:
    >>> import kerasgen
    >>> model = kerasgen.zoo.load("vae.mnist")
    >>> images = model.sample(16)
"""

import importlib

__version__ = "0.1.0"

_LAYERS = {
    "Sampling": "kerasgen.vae.model",
    "ImagePool": "kerasgen.cyclegan.pool",
    "ConstantThenLinearDecay": "kerasgen.cyclegan.schedule",
    "ReflectionPadding2D": "kerasgen.networks",
    "FamilyModel": "kerasgen.base",
}
_SUBMODULES = (
    "families",
    "data",
    "zoo",
    "evaluation",
    "metrics",
    "imaging",
    "training",
    "networks",
    "errors",
    "export",
)
CODE_CLASSES = ("Lambda", "__lambda__")
"""Keras objects in a `.keras` config that carry Python code; `load_model` refuses files that hold one."""


def load_model(path, **kwargs):
    """`keras.models.load_model` for `.keras` files holding kerasgen models, always in safe mode.

    Importing `kerasgen` does not import the model classes (to keep the CLI
    fast), so Keras could not find them by name; this registers them first.
    A file whose config holds a `Lambda` layer (Python code that could do
    anything) is refused before Keras reads it, even after
    `keras.config.enable_unsafe_deserialization()`; Keras then loads it with
    `safe_mode=True`. Weights that hold a NaN or an infinity are refused, as
    `kerasgen.zoo.load` refuses them. (`keras.saving.load_model` finds these
    classes only once they have been imported, e.g. by this function.)

    Raises:
        UserError: the file does not exist, is not a `.keras` file, holds code
            or non-finite weights.

    Example:
        >>> model.save("vae.keras")
        >>> model = kerasgen.load_model("vae.keras")
    """
    import pathlib

    import keras

    from kerasgen import zoo
    from kerasgen.errors import UserError

    path = pathlib.Path(path)
    if not path.is_file():
        raise UserError(f"Model file {str(path)!r} does not exist.")
    if path.suffix != ".keras":
        raise UserError(f"{str(path)!r} is not a .keras file; kerasgen.load_model reads only the .keras format.")
    code = _code_object(path)
    if code:
        raise UserError(
            f"Refusing to load {str(path)!r} in safe mode: it holds a {code} layer (Python code that could do "
            "anything). If you trust its source, use keras.models.load_model(path, safe_mode=False)."
        )
    for module in sorted(set(_lazy().values())):
        importlib.import_module(module)
    model = keras.models.load_model(path, safe_mode=True, **kwargs)
    zoo.refuse_non_finite(model, path, "loading")
    return model


def _code_object(path):
    """The class name of the first code-carrying object in a `.keras` file's config, or None."""
    import json
    import zipfile

    from kerasgen.errors import UserError

    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise UserError(f"Cannot read {str(path)!r} as a .keras file ({error}).") from None
    pending = [config]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            if item.get("class_name") in CODE_CLASSES:
                return item["class_name"]
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None


def _lazy():
    """Public class name -> module: every registered family's model class, and the layers they use."""
    families = importlib.import_module("kerasgen.families")
    classes = {}
    for name in families.names():
        module, _, class_name = families.get(name).model.partition(":")
        classes[class_name] = module
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
