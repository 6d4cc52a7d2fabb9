"""kerasgen: AutoEncoder, VAE, GAN and CycleGAN as Keras 3 models, with a zoo.

Importing `kerasgen` is cheap: the model classes (and TensorFlow with them)
load on first use.

Example:
    >>> import kerasgen
    >>> model = kerasgen.zoo.load("vae.mnist")
    >>> images = model.sample(16)
"""

import importlib

__version__ = "0.1.0"

_LAZY = {
    "GAN": "kerasgen.gan",
    "Classifier": "kerasgen.classifier",
    "AutoEncoder": "kerasgen.autoencoder",
    "VAE": "kerasgen.vae",
    "Sampling": "kerasgen.vae",
    "CycleGAN": "kerasgen.cyclegan",
    "ImagePool": "kerasgen.cyclegan",
    "ConstantThenLinearDecay": "kerasgen.cyclegan",
    "ReflectionPadding2D": "kerasgen.networks",
}
_SUBMODULES = (
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
    """`keras.models.load_model` for `.keras` files holding kerasgen models, with `safe_mode=True`.

    Importing `kerasgen` does not import the model classes (to keep the CLI
    fast), so Keras could not find them by name; this registers them first.

    Example:
        >>> model.save("vae.keras")
        >>> model = kerasgen.load_model("vae.keras")
    """
    import keras

    for module in sorted(set(_LAZY.values())):
        importlib.import_module(module)
    return keras.models.load_model(path, safe_mode=True, **kwargs)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"kerasgen.{name}")
    raise AttributeError(f"module 'kerasgen' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_LAZY, *_SUBMODULES])
