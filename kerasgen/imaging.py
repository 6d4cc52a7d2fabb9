"""Pictures: image grids as PNG files, a model's preview of its own data, and translated image files.

What a preview shows is the model's own business (`FamilyModel.preview`);
this module only finds the real images it may need and writes the grid.

Example:
    >>> from kerasgen import imaging
    >>> imaging.save_grid(kerasgen.zoo.load("vae.mnist").sample(64, seed=0), "grid.png")
"""

import io
import math
import pathlib

import numpy as np

from kerasgen.errors import UserError
from kerasgen.files import make_folder, write_atomically


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
    make_folder(path.parent)
    write_atomically(path, encoded.getvalue())
    return path


def save_preview(model, card_data, path, count=64, seed=0):
    """Write the `preview` of a loaded zoo entry or model folder to `path`, with images of its test split
    (a folder without one: its training images) where the preview shows real images.

    Example:
        >>> save_preview(kerasgen.zoo.load("vae.mnist"), kerasgen.zoo.card("vae.mnist"), "grid.png")
    """
    from kerasgen import data

    images = data.preview_images(card_data, count, model.image_shape)
    batch, columns = model.preview(count, seed, images)
    return save_grid(batch, path, columns)


def _resized(image, size):
    """A uint8 (H, W, C) image resized (bilinear) to (size, size, C), as `data.read_image` resizes."""
    from PIL import Image

    picture = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
    return np.asarray(picture.resize((size, size), Image.BILINEAR)).reshape(size, size, image.shape[-1])


def _check_targets(jobs, out_dir):
    """`UserError` if two inputs would be written to one file, or a translation would replace an input."""
    sources = {path.resolve(): path for path, _ in jobs}
    claimed = {}
    for path, relative in jobs:
        target = (out_dir / relative).resolve()
        if target in claimed:
            raise UserError(
                f"{str(claimed[target])!r} and {str(path)!r} would both be written to {str(out_dir / relative)!r}; "
                "rename one, or translate them into different --output folders."
            )
        if target in sources:
            raise UserError(
                f"The translation of {str(path)!r} would be written over the input {str(sources[target])!r}; "
                "choose another --output."
            )
        claimed[target] = path


def translate_files(model, inputs, direction, out_dir):
    """Translate image files and folders with a CycleGAN; write PNGs of each input's own size.

    Each image is converted to the model's channels, resized to its size,
    translated, and resized back. A folder's images keep their relative paths
    under `out_dir`; a single file lands directly in it. Inputs that would
    share an output file, or outputs that would replace an input, are refused
    before anything is read.

    Returns:
        The written paths.

    Raises:
        UserError: an input is missing, unreadable, or its output would collide as above.

    Example:
        >>> translate_files(kerasgen.zoo.load("cyclegan.digits"), ["uci/"], "a2b", "as_mnist/")
    """
    from PIL import Image

    from kerasgen import data

    jobs = []
    for source in map(pathlib.Path, inputs):
        if source.is_dir():
            jobs += [(path, path.relative_to(source).with_suffix(".png")) for path in data.list_image_files(source)]
        elif source.is_file():
            jobs.append((source, pathlib.Path(source.stem + ".png")))
        else:
            raise UserError(f"Input {str(source)!r} does not exist.")
    _check_targets(jobs, pathlib.Path(out_dir))
    size, channels = model.image_shape[0], model.image_shape[2]
    originals = [data.read_image(path, channels) for path, _ in jobs]  # every input is read before anything is written
    resized = np.stack([_resized(image, size) for image in originals])
    translated = model.translate(resized, direction)
    written = []
    for (_, relative), original, image in zip(jobs, originals, translated, strict=True):
        pixels = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
        picture = Image.fromarray(pixels[..., 0] if channels == 1 else pixels)
        picture = picture.resize((original.shape[1], original.shape[0]), Image.BILINEAR)
        target = pathlib.Path(out_dir) / relative
        make_folder(target.parent)
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        write_atomically(target, buffer.getvalue())
        written.append(target)
    return written
