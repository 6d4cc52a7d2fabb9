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
    "AutoEncoder": "kerasgen.autoencoder",
    "VAE": "kerasgen.vae",
    "Sampling": "kerasgen.vae",
}
_SUBMODULES = ("data", "zoo", "evaluation", "imaging", "training", "networks", "errors")


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"kerasgen.{name}")
    raise AttributeError(f"module 'kerasgen' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_LAZY, *_SUBMODULES])
