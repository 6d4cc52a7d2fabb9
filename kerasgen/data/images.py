"""Image files: finding them below a folder and reading them as uint8 arrays; resizing such arrays.

Reading image files (`read_image`): any Pillow mode is converted to the
requested channels: 16-bit PNGs are scaled (65535 reads as 255, not clipped),
RGBA and LA lose their alpha, CMYK and palette images become RGB or grey.
Files with other suffixes and hidden files or folders (names starting with
`.`, such as macOS `._*` files or `.ipynb_checkpoints/`) are skipped. A file
that cannot be decoded (truncated, not an image) or that has more than
`MAX_IMAGE_PIXELS` pixels is refused with a `UserError` naming it; the size is
checked before any pixel is decoded.

Example:
    >>> from kerasgen.data import images
    >>> images.load_image_folder("my_digits/", size=28).shape
    (12, 28, 28, 1)
"""

import pathlib
import re
import warnings

import numpy as np

from kerasgen.errors import UserError, first_line

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
MAX_IMAGE_PIXELS = 64_000_000
"""Images with more pixels (width x height) are refused before they are decoded.

A guard against decompression bombs: a PNG of 100 bytes can declare a
gigapixel image that needs gigabytes to decode. 64 megapixels admits 8K frames
(33 MP) and 48 or 50 MP camera photos; set `kerasgen.data.MAX_IMAGE_PIXELS`
higher to read larger images (Pillow's own limit, `PIL.Image.MAX_IMAGE_PIXELS`
times 2, still applies). The package's name reads and sets this one.
"""
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")  # how Pillow opens 16-bit grey PNGs


def list_image_files(folder):
    """Sorted image files below `folder` (by suffix, hidden files and folders skipped); a clear error if none.

    Example:
        >>> list_image_files("my_digits/")
        [PosixPath('my_digits/0.png'), PosixPath('my_digits/more/1.jpg')]
    """
    folder = pathlib.Path(folder)
    if not folder.exists():
        raise UserError(f"Data path {str(folder)!r} does not exist.")
    if not folder.is_dir():
        raise UserError(f"Data path {str(folder)!r} is not a folder of images.")
    files = sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        and path.is_file()
    )
    if not files:
        raise UserError(f"No images ({', '.join(IMAGE_SUFFIXES)}, hidden files skipped) found in {str(folder)!r}.")
    return files


def load_image_folder(folder, size, channels=1):
    """Every image below `folder`, converted to `channels` and resized.

    Args:
        folder: a folder; subfolders are searched too.
        size: output side in pixels (images are resized without cropping).
        channels: 1 (grey) or 3 (RGB); other modes are converted.

    Returns:
        uint8 array of shape (N, size, size, channels).

    Example:
        >>> images = load_image_folder("my_digits/", size=28)
    """
    images = np.stack([read_image(path, channels, size) for path in list_image_files(folder)])
    return images.reshape(len(images), size, size, channels)


def read_image(path, channels=1, size=None):
    """One image file as a uint8 array (H, W, channels), converted from any mode, resized if `size` is given.

    16-bit images are scaled to 8 bits (65535 reads as 255); alpha is dropped;
    CMYK, palette and 1-bit images are converted to grey or RGB.

    Raises:
        UserError: naming the file, if it is not a readable image or has more
            than `MAX_IMAGE_PIXELS` pixels (checked before decoding).

    Example:
        >>> read_image("digit.png", channels=1).shape
        (28, 28, 1)
    """
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own, lower limit follows
            picture = Image.open(path)
        with picture:
            width, height = picture.size
            if width * height > MAX_IMAGE_PIXELS:
                raise _too_large(path, f"{width} x {height} = {width * height:,}")
            picture = _converted(picture, channels)
            if size:
                picture = picture.resize((size, size), Image.BILINEAR)
            array = np.asarray(picture)
    except Image.DecompressionBombError as error:  # beyond Pillow's own limit: Image.open refused it
        count = re.search(r"\((\d+) pixels\)", str(error))
        raise _too_large(path, f"{int(count[1]):,}" if count else "too many") from None
    except UserError:
        raise
    except (OSError, SyntaxError, ValueError) as error:  # Pillow's UnidentifiedImageError is an OSError
        reason = first_line(error)
        raise UserError(f"Cannot read image {str(path)!r}: {reason}. Replace or remove the file.") from None
    return array.reshape(*array.shape[:2], channels)


def _too_large(path, size):
    return UserError(
        f"Image {str(path)!r} has {size} pixels, more than kerasgen.data.MAX_IMAGE_PIXELS = {MAX_IMAGE_PIXELS:,}; "
        "shrink it, or raise the limit if you trust the file."
    )


def _converted(picture, channels):
    """A Pillow image in mode L (channels 1) or RGB (channels 3), 16-bit grey scaled rather than clipped."""
    from PIL import Image

    if picture.mode in SIXTEEN_BIT_MODES:
        grey = np.clip(np.asarray(picture, dtype=np.float64), 0, 65535)
        picture = Image.fromarray(np.round(grey / 257).astype(np.uint8))
    return picture.convert("L" if channels == 1 else "RGB")


def resize_images(images, size):
    """uint8 images (N, H, W, C) resized (bilinear) to (N, size, size, C), exactly as Pillow resizes each image.

    Pillow resizes in two passes, rows then columns, rounding to uint8 after
    each, and a pass treats every row (column) on its own. So square images,
    stacked into one tall strip, take the row pass in one call and, transposed
    and stacked again, the column pass in another: 55,000 MNIST digits in
    0.7 s instead of 1.8 s. Pillow may take the passes in the other order when
    one side shrinks and the other grows, so other images are resized one by one.

    Example:
        >>> resize_images(np.zeros((5, 28, 28, 1), np.uint8), 32).shape
        (5, 32, 32, 1)
    """
    from PIL import Image

    count, height, width, channels = images.shape

    def rows_resized(stack, new_width):
        rows = stack.reshape(-1, stack.shape[2], channels)
        strip = Image.fromarray(rows[..., 0] if channels == 1 else rows).resize((new_width, len(rows)), Image.BILINEAR)
        return np.asarray(strip).reshape(len(stack), stack.shape[1], new_width, channels)

    if height == width and count:
        wide = rows_resized(np.ascontiguousarray(images), size)
        return np.ascontiguousarray(
            rows_resized(np.ascontiguousarray(wide.transpose(0, 2, 1, 3)), size).transpose(0, 2, 1, 3)
        )
    resized = [
        np.asarray(Image.fromarray(image[..., 0] if channels == 1 else image).resize((size, size), Image.BILINEAR))
        for image in images
    ]
    return np.stack(resized).reshape(count, size, size, channels)


def grey_images(images):
    """uint8 RGB images (N, H, W, 3) in grey (N, H, W, 1), as Pillow converts RGB to L.

    Example:
        >>> grey_images(np.zeros((2, 8, 8, 3), np.uint8)).shape
        (2, 8, 8, 1)
    """
    from PIL import Image

    return np.stack([np.asarray(Image.fromarray(image).convert("L")) for image in images])[..., None]
