"""Image grids as PNG files, and the previews each model family shows."""

import io
import math
import pathlib

import numpy as np

from kerasgen.errors import UserError
from kerasgen.files import write_atomically


def grid(images, columns=None, padding=1):
    """Tile float images in [0, 1], shape (N, H, W, C), into one uint8 array.

    Example:
        >>> canvas = grid(np.zeros((16, 28, 28, 1)), columns=4)
        >>> canvas.shape
        (117, 117)
    """
    images = np.clip(np.asarray(images, dtype=np.float32), 0.0, 1.0)
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    canvas = np.ones((rows * (height + padding) + padding, columns * (width + padding) + padding, channels), np.float32)
    for index, image in enumerate(images):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        canvas[top : top + height, left : left + width] = image
    canvas = np.round(canvas * 255).astype(np.uint8)
    return canvas[..., 0] if channels == 1 else canvas


def save_grid(images, path, columns=None, scale=2):
    """Write `grid(images)` as a PNG, enlarged `scale` times; atomic (temp file, then rename).

    Example:
        >>> save_grid(model.sample(64), "samples.png")
    """
    from PIL import Image

    path = pathlib.Path(path)
    picture = Image.fromarray(grid(images, columns))
    picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    encoded = io.BytesIO()
    picture.save(encoded, format="PNG")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, encoded.getvalue())
    except OSError as error:
        raise UserError(f"Cannot write {str(path)!r}: {error.strerror}.") from None
    return path


def preview(model, count=64, seed=0, images=None):
    """What a person wants to see of a model, as one batch for `save_grid`.

    Generative models (with `sample`) show `count` samples from a fixed seed,
    a conditional one a column per class. An autoencoder shows pairs of rows:
    originals, then their reconstructions. A classifier shows a row per
    predicted class.

    Returns:
        `(images, columns)`.
    """
    if hasattr(model, "sample"):
        classes = getattr(model, "num_classes", 0)
        if classes:  # a column per class, full rows
            count = math.ceil(count / classes) * classes
        return np.asarray(model.sample(count, seed=seed)), classes or None
    if hasattr(model, "features"):
        return by_predicted_class(model, images)
    columns = max(1, math.ceil(math.sqrt(count)))
    originals = np.asarray(images[: columns * max(1, count // (2 * columns))], dtype=np.float32)
    reconstructions = np.asarray(model.reconstruct(originals))
    rows = []
    for start in range(0, len(originals), columns):
        rows += [originals[start : start + columns], reconstructions[start : start + columns]]
    return np.concatenate(rows), columns


def by_predicted_class(model, images, columns=8):
    """A grid with one row per class holding up to `columns` images the classifier assigns to it.

    Returns:
        `(images, columns)`; empty cells are black.
    """
    predicted = np.argmax(model.predict(images, verbose=0), axis=-1)
    cells = np.zeros((model.num_classes * columns, *images.shape[1:]), np.float32)
    for label in range(model.num_classes):
        chosen = images[predicted == label][:columns]
        cells[label * columns : label * columns + len(chosen)] = chosen
    return cells, columns


def latent_manifold(model, steps=20):
    """Decode a `steps` x `steps` grid of a 2-d latent space, spaced by Gaussian quantiles.

    Example:
        >>> save_grid(latent_manifold(kerasgen.zoo.load("vae2d.mnist")), "manifold.png", columns=20)
    """
    from statistics import NormalDist

    if model.latent_dim != 2:
        raise UserError(f"A latent manifold needs a 2-d latent space; this model's has {model.latent_dim}.")
    quantiles = [NormalDist().inv_cdf((index + 0.5) / steps) for index in range(steps)]
    latents = np.array([(x, y) for y in reversed(quantiles) for x in quantiles], dtype=np.float32)
    return np.asarray(model.decode(latents))


def save_preview(model, card_data, path, count=64, seed=0):
    """Write `preview` of a loaded zoo entry or model folder to `path`; autoencoders
    reconstruct held-out images of the card's dataset.

    Example:
        >>> save_preview(kerasgen.zoo.load("vae.mnist"), kerasgen.zoo.card("vae.mnist"), "grid.png")
    """
    from kerasgen import data

    images = None
    if hasattr(model, "features"):
        count = 32 * model.num_classes  # enough held-out images to fill every row
    if not hasattr(model, "sample"):
        source = card_data["data"]["dataset"]
        split = "heldout" if data.has_heldout_split(source) else "all"
        images, _ = data.load_images(source, split, card_data["data"]["image_size"])
        images = data.to_unit_range(data.fixed_subset(images, count))
    batch, columns = preview(model, count, seed, images)
    return save_grid(batch, path, columns)
