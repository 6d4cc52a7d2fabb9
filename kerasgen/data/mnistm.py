"""MNIST-M built from scikit-image's photographs (after Ganin and Lempitsky 2015).

Every MNIST digit (all 70,000, in MNIST's order) is blended over a 32x32
patch of a colour photograph: pixel = |patch - digit| per channel, so the
stroke takes the patch's colours inverted and the background keeps the
photograph. The original MNIST-M took its patches from the BSDS500 photos;
this one takes them from the colour photographs that ship inside the
scikit-image wheel (`PHOTOS`: lossless PNGs, so they decode to the same
pixels everywhere, each checked against its sha256), so it is a different
data set with the same recipe, not the original.

The digits are MNIST's, resized to 32x32 as `load_images("mnist", size=32)`
resizes them, so MNIST at 32 pixels and MNIST-M line up digit for digit.
Each digit's photograph and patch corner are drawn with a fixed seed
(`MNISTM_SEED`). The 70,000 images are built on first use (a few seconds)
and cached as one `.npy` file in `kerasgen.files.kerasgen_home()`
(`$KERASGEN_HOME`), written through a temporary file, so an interrupted
build leaves no cache behind. The file is checked against `MNISTM_SHA256`
whenever a process first reads it; a cache that fails the check is rebuilt
once, and a build that fails it is refused with a one-line `UserError`.

scikit-image is an optional dependency (`pip install "kerasgen[mnistm]"`);
this module imports neither it nor TensorFlow.

Example:
    >>> from kerasgen.data import mnistm
    >>> images, labels = mnistm.load_mnistm("test")
    >>> images.shape, images.dtype
    ((10000, 32, 32, 3), dtype('uint8'))
"""

import functools
import hashlib
import importlib.util
import os
import pathlib

import numpy as np

from kerasgen.data import sources
from kerasgen.data.images import read_image, resize_images
from kerasgen.errors import UserError
from kerasgen.files import cannot_write, kerasgen_home, save_atomically

SIZE = 32
MNISTM_SEED = 2015  # fixed forever: changing it changes every image (and MNISTM_SHA256)
MNISTM_FILE = "mnistm-skimage-v1.npy"
MNISTM_SHA256 = "6c6390c86b8940a055c5938581a0aeb4688818e84f81760d3fd661846a65212e"
"""sha256 of the cache file: `np.save` of the uint8 array (70000, 32, 32, 3), MNIST's training digits then its
test digits."""
PHOTOS = {
    "astronaut.png": "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
    "chelsea.png": "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
    "coffee.png": "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
    "ihc.png": "f8dd1aa387ddd1f49d8ad13b50921b237df8e9b262606d258770687b0ef93cef",
}
"""The photographs, in the order the seed indexes them: files of scikit-image's `skimage/data/` folder and their
sha256 (scikit-image 0.26)."""
PHOTO_LICENSES = {
    "astronaut.png": "Eileen Collins, NASA Great Images database: no known copyright restrictions, public domain",
    "chelsea.png": "Chelsea the cat, by Stefan van der Walt: CC0",
    "coffee.png": "coffee cup, by Rachel Michetti, courtesy of Pikolo Espresso Bar: CC0",
    "ihc.png": "immunohistochemistry, Center for Microscopy And Molecular Imaging (CMMI): "
    "no known copyright restrictions",
}
"""Each photograph's licence, as scikit-image's documentation of `skimage.data` states it."""
DESCRIPTION = "MNIST-M built from scikit-image's photographs (after Ganin and Lempitsky 2015)"
LICENSE = (
    f"{DESCRIPTION}: digits from MNIST (LeCun, Cortes, Burges), CC BY-SA 3.0; photographs from scikit-image's "
    f"data folder: {'; '.join(PHOTO_LICENSES.values())}"
)
INSTALL = 'pip install "kerasgen[mnistm]"'


def load_mnistm(split="train"):
    """MNIST-M built from scikit-image's photographs, with MNIST's splits and labels.

    Args:
        split: `"train"` (55,000), `"validation"` (5,000), `"test"` (10,000)
            or `"all"` (70,000): the same digits as `load_mnist(split)`.

    Returns:
        `(images, labels)`: uint8 arrays of shape (N, 32, 32, 3) and (N,).

    Raises:
        UserError: scikit-image is not installed, its photographs are not
            the expected ones, or the cache cannot be built to its sha256.

    Example:
        >>> images, labels = load_mnistm("validation")
        >>> images.shape
        (5000, 32, 32, 3)
    """
    split = sources.canonical_split(split)
    _, labels = sources.load_mnist(split)
    images = mnistm_images()
    training = len(images) - len(sources.load_mnist("test")[1])
    if split == "test":
        images = images[training:]
    elif split != "all":
        images = images[sources._split(training, {"validation": sources.MNIST_VALIDATION}, split)]
    return np.array(images), labels


def mnistm_images():
    """All 70,000 MNIST-M images (MNIST's training digits, then its test digits), read-only.

    Read from the cache (built first if missing or failing its sha256) and
    kept for the process while the cache file is unchanged.

    Example:
        >>> mnistm_images().shape
        (70000, 32, 32, 3)
    """
    path = cache_path()
    if path.is_file():
        status = path.stat()
        try:
            return _read_verified(str(path), status.st_size, status.st_mtime_ns)
        except ValueError:  # a corrupted or stale cache: rebuilt once below
            pass
    images = build_cache(path)
    images.flags.writeable = False
    return images


def cache_path():
    """The cache file: `MNISTM_FILE` in `$KERASGEN_HOME` (default `~/.cache/kerasgen`).

    Example:
        >>> cache_path().name
        'mnistm-skimage-v1.npy'
    """
    return kerasgen_home() / MNISTM_FILE


@functools.lru_cache(maxsize=1)
def _read_verified(path, size, modified):
    """The cached array if the file matches `MNISTM_SHA256`; `ValueError` if not (keyed by the file's state)."""
    del size, modified  # part of the cache key only
    with open(path, "rb") as stream:
        if hashlib.file_digest(stream, "sha256").hexdigest() != MNISTM_SHA256:
            raise ValueError(f"{path} does not match MNISTM_SHA256")
    images = np.load(path)
    images.flags.writeable = False
    return images


def build_cache(path):
    """Build MNIST-M and write it to `path` atomically if it matches `MNISTM_SHA256`.

    A file already at `path` is removed first, so a failed build leaves no
    cache behind, stale or new.

    Returns:
        The built images, as `build_mnistm()`.

    Raises:
        UserError: the build does not match `MNISTM_SHA256`, or the file
            cannot be written (one line each).

    Example:
        >>> images = build_cache(cache_path())
    """
    path = pathlib.Path(path)
    images = build_mnistm()

    def save_checked(temporary):
        with open(temporary, "wb") as stream:
            np.save(stream, images)
            stream.flush()
            os.fsync(stream.fileno())
        with open(temporary, "rb") as stream:
            digest = hashlib.file_digest(stream, "sha256").hexdigest()
        if digest != MNISTM_SHA256:
            raise UserError(
                f"MNIST-M built here has sha256 {digest[:16]}..., not MNISTM_SHA256 {MNISTM_SHA256[:16]}...; "
                "NumPy or Pillow on this machine builds it differently, so it was not cached."
            )

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
    except OSError as error:
        raise UserError(cannot_write(path, error)) from None
    save_atomically(path, save_checked, suffix=".npy")
    return images


def build_mnistm():
    """All 70,000 MNIST-M images, built from MNIST and the photographs (a few seconds, about 0.5 GB at most).

    Returns:
        uint8 array (70000, 32, 32, 3): MNIST's training digits, then its test digits.

    Example:
        >>> images = build_mnistm()
    """
    digits = resize_images(sources.load_mnist("all")[0], SIZE)[..., 0]
    photos = read_photos()
    photo_index, tops, lefts = draw_patches(len(digits), [photo.shape for photo in photos])
    images = np.empty((*digits.shape, 3), np.uint8)
    offsets = np.arange(SIZE)
    for index, photo in enumerate(photos):
        chosen = np.flatnonzero(photo_index == index)
        rows = (tops[chosen, None] + offsets)[:, :, None]
        columns = (lefts[chosen, None] + offsets)[:, None, :]
        images[chosen] = blend(photo[rows, columns], digits[chosen])
    return images


def blend(patches, digits):
    """Ganin and Lempitsky's blend: |patch - digit| per channel.

    Args:
        patches: uint8 (N, H, W, 3).
        digits: uint8 (N, H, W), grey.

    Returns:
        uint8 (N, H, W, 3).

    Example:
        >>> blend(np.full((1, 1, 1, 3), 200, np.uint8), np.full((1, 1, 1), 255, np.uint8))[0, 0, 0]
        array([55, 55, 55], dtype=uint8)
    """
    return np.abs(patches.astype(np.int16) - digits[..., None]).astype(np.uint8)


def draw_patches(count, photo_shapes, seed=MNISTM_SEED):
    """For each of `count` digits, a photograph and the top-left corner of a `SIZE`-pixel patch inside it.

    Args:
        count: number of digits.
        photo_shapes: `(height, width, ...)` of each photograph.
        seed: the NumPy seed.

    Returns:
        `(photo_index, tops, lefts)`, int64 arrays of length `count`.

    Example:
        >>> photo_index, tops, lefts = draw_patches(3, [(512, 512, 3), (300, 451, 3)])
    """
    random = np.random.default_rng(seed)
    heights, widths = (np.array([shape[axis] for shape in photo_shapes]) for axis in (0, 1))
    photo_index = random.integers(len(photo_shapes), size=count)
    tops = random.integers(heights[photo_index] - SIZE + 1)
    lefts = random.integers(widths[photo_index] - SIZE + 1)
    return photo_index, tops, lefts


def read_photos():
    """The `PHOTOS`, read with Pillow from scikit-image's data folder, as uint8 RGB arrays.

    Raises:
        UserError: scikit-image is not installed, or a photograph is missing
            or differs from its sha256.

    Example:
        >>> [photo.shape for photo in read_photos()][:2]
        [(512, 512, 3), (300, 451, 3)]
    """
    folder = photo_folder()
    photos = []
    for name, expected in PHOTOS.items():
        path = folder / name
        try:
            payload = path.read_bytes()
        except OSError:
            payload = b""
        if hashlib.sha256(payload).hexdigest() != expected:
            raise UserError(
                f"scikit-image's photograph {str(path)!r} is missing or not the one MNIST-M is built from "
                f"(sha256); reinstall scikit-image 0.26: {INSTALL}."
            )
        photos.append(read_image(path, channels=3))
    return photos


def photo_folder():
    """scikit-image's `skimage/data/` folder, found without importing scikit-image.

    Raises:
        UserError: scikit-image is not installed.

    Example:
        >>> photo_folder().name
        'data'
    """
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"MNIST-M needs scikit-image's photographs, and scikit-image is not installed: {INSTALL}")
    return pathlib.Path(spec.submodule_search_locations[0]) / "data"
