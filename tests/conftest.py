import contextlib
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402


@pytest.fixture
def batch16():
    """A fixed batch of 8 real digits, 16x16, in [0, 1]."""
    from kerasgen import data

    images, _ = data.load_images("mnist", "train", size=16)
    return data.to_unit_range(images[:8])


@pytest.fixture
def few_digits(monkeypatch):
    """Training data cut to 40 UCI digits: 3 steps an epoch at batch 16 (the last batch holds 8)."""
    from kerasgen.data import sources

    load_images = sources.load_images

    def first_forty(*args, **kwargs):
        images, labels = load_images(*args, **kwargs)
        return images[:40], labels[:40]

    monkeypatch.setattr(sources, "load_images", first_forty)


@pytest.fixture
def image_folder(tmp_path):
    """A folder of 12 small digit PNGs and JPEGs in mixed modes and sizes."""
    from kerasgen import data

    images, _ = data.load_mnist("train")
    folder = tmp_path / "digits"
    (folder / "nested").mkdir(parents=True)
    for index, image in enumerate(images[:12, :, :, 0]):
        picture = Image.fromarray(image).resize((20 + index, 20 + index))
        mode, suffix = [("L", ".png"), ("RGB", ".jpg"), ("RGBA", ".png"), ("CMYK", ".jpg")][index % 4]
        target = folder / ("nested" if index % 2 else "") / f"digit_{index}{suffix}"
        picture.convert(mode).save(target)
    (folder / "notes.txt").write_text("not an image")
    return folder


def tiny_config(architecture="conv"):
    """Hyperparameters of a model small enough for a unit test."""
    return {
        "image_shape": (16, 16, 1),
        "latent_dim": 3,
        "architecture": architecture,
        "hidden_units": (16,),
        "filters": (4, 8),
    }


def assert_close(a, b, tolerance=1e-6):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=tolerance, rtol=0)


@contextlib.contextmanager
def mnist_cut_to(cap):
    """Every MNIST and MNIST-M split cut to its first `cap` digits while the block runs (commands run in this
    process; MNIST-M is still built, and cached, whole)."""
    from kerasgen.data import mnistm, sources

    full, full_mnistm = sources._resized_mnist, mnistm.load_mnistm
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sources, "_resized_mnist", lambda split, size: tuple(a[:cap] for a in full(split, size)))
        patch.setattr(mnistm, "load_mnistm", lambda split="train": tuple(a[:cap] for a in full_mnistm(split)))
        yield
