"""Tiny training runs shared by the resume and divergence tests: the options, the run and its counters."""

import json

import numpy as np

from kerasgen import training

TINY_AUTOENCODER = {"latent_dim": 3, "hidden_units": (16,), "filters": (4, 8)}
FAMILY_OPTIONS = {
    "autoencoder": {**TINY_AUTOENCODER, "max_shift": 1},
    "vae": TINY_AUTOENCODER,
    "gan": {
        "batch_size": 8,
        "latent_dim": 4,
        "generator_filters": (8, 4),
        "discriminator_filters": (4, 8),
        "num_classes": 10,
    },
    "classifier": {"filters": (4,), "feature_units": 8},
}
TINY_CYCLEGAN = {"generator_filters": 4, "residual_blocks": 1, "discriminator_filters": 4, "pool_size": 3}


def run_family(family, out, **extra):
    """Train a tiny model of `family` into `out` (without XLA: its compile time would dominate these tests)."""
    extra.setdefault("jit_compile", False)
    if family == "cyclegan":
        options = dict(epochs=2, batch_size=4, steps_per_epoch=3, image_size=16, **TINY_CYCLEGAN)
        return training.train("cyclegan", out, verbose=0, checkpoint_every=2, **options, **extra)
    options = {"data": "uci", "epochs": 2, "batch_size": 16, "image_size": 16, **FAMILY_OPTIONS[family]}
    return training.train(family, out, verbose=0, checkpoint_every=2, **options, **extra)


def counters(folder):
    with np.load(folder / training.CHECKPOINT) as stored:
        return json.loads(str(stored["counters"]))
