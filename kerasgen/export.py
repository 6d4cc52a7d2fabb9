"""Export models as TensorFlow SavedModels that TF Serving loads: `<base>/<name>/<version>/`.

Only what serves is exported: the networks a family needs at inference
(encoder and decoder, the generator or its moving average, both CycleGAN
generators, the classifier's layers), held by a `tf.Module` with one
`tf.function` per signature. Each family's `serving_functions` live beside its
model (`kerasgen.vae.serving_functions`, ...), named by its `Family.serving`.
Never the training wrapper, its discriminators, optimizers or image pools.
Every signature has named inputs and outputs, fixed dtypes and a dynamic
batch dimension (-1):

| family | signatures |
| --- | --- |
| AutoEncoder | `serving_default` = `reconstruct`, `encode`, `decode` |
| VAE | `serving_default` = `decode`, `encode`, `reconstruct`, `sample` |
| GAN | `serving_default` = `generate`, `generate_seeded` |
| CycleGAN | `serving_default` = `translate_a2b`, `translate_b2a`, `*_uint8`, `*_png` |
| Classifier | `serving_default` = `classify`, `features` |

A version is written to a temporary folder inside `<base>/<name>/` whose name
is not an integer (TF Serving ignores it), then renamed into place, so a server
watching `<base>/<name>/` never sees half a version.

Example:
    >>> from kerasgen.export import export
    >>> export("vae.mnist", base="saved_models")
    PosixPath('saved_models/vae.mnist/1')
"""

import os
import pathlib
import re
import shlex
import shutil
import tempfile

from kerasgen.errors import UserError
from kerasgen.files import write_atomically

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
VERSION_PATTERN = re.compile(r"[0-9]+")
TEMPORARY_PREFIX = ".tmp-export-"
SEED_MODULUS = 2**31 - 2  # Keras's TensorFlow backend folds an int seed into int32 with this modulus
LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2 luma, as PIL's convert("L")
HEADER_BYTES = 32  # enough to read the size of a PNG, GIF, BMP or WebP image (JPEG's is read by libjpeg)
UNKNOWN_IMAGE = "Unknown image file format: image_bytes must hold PNG, JPEG, GIF, BMP or WebP images."


def export(name_or_dir, base="saved_models", name=None, version=None, overwrite=False):
    """Export a zoo entry or a `kerasgen train` folder for TF Serving.

    Args:
        name_or_dir: an entry name (`kerasgen.zoo.list()`) or a model folder.
        base: the folder that holds one folder per served model.
        name: the model's name for TF Serving; default the entry's name or the
            folder's name (characters other than letters, digits, `.`, `_` and
            `-` become `_`). TF Serving accepts dots in names, REST URLs included.
        version: the version number (a positive integer); default the next free one.
        overwrite: replace an existing version `version` (atomically).

    Returns:
        The version folder, `<base>/<name>/<version>`.

    Raises:
        UserError: an unknown entry or folder, a bad name, an existing version
            without `overwrite`, or weights that hold a NaN or an infinity.

    Example:
        >>> export("runs/cyclegan", base="saved_models", name="digits")
        PosixPath('saved_models/digits/1')
    """
    from kerasgen import zoo

    name = default_name(name_or_dir) if name is None else name
    check_name(name)
    model, weights = zoo._load(name_or_dir)
    return _export_model(model, base, name, version, overwrite, weights)


def default_name(name_or_dir):
    """The served name of an entry or model folder: its folder's name, made a safe path component.

    Example:
        >>> default_name("runs/my run")
        'my_run'
    """
    from kerasgen import zoo

    folder = zoo.card_path(name_or_dir).resolve().parent.name
    return re.sub(r"[^A-Za-z0-9._-]", "_", folder).lstrip("._-") or "model"


def check_name(name):
    """Refuse a served model name that is not a single safe path component."""
    if not NAME_PATTERN.fullmatch(str(name)):
        raise UserError(
            f"Invalid model name {name!r}: use letters, digits, '.', '_' and '-', starting with a letter or digit."
        )


def versions(model_dir):
    """Version numbers already exported in a model folder (integer-named subfolders), sorted.

    Example:
        >>> versions("saved_models/vae.mnist")
        [1, 2]
    """
    model_dir = pathlib.Path(model_dir)
    if not model_dir.is_dir():
        return []
    return sorted(
        int(child.name) for child in model_dir.iterdir() if child.is_dir() and VERSION_PATTERN.fullmatch(child.name)
    )


def export_model(model, base="saved_models", name="model", version=None, overwrite=False):
    """Export a loaded kerasgen model to `<base>/<name>/<version>/` through a temporary folder.

    The SavedModel is written to `<base>/<name>/.tmp-export-*` and renamed to
    its version number when complete. With `overwrite`, an existing version
    is renamed aside, the new one renamed in, and the old one deleted. On any
    failure (Ctrl-C included) the temporary folder is removed and an existing
    version is left as it was.

    Args:
        model: an AutoEncoder, VAE, GAN, CycleGAN or Classifier.
        base: the folder holding one folder per served model.
        name: the served model's name.
        version: a positive integer; default one more than the highest existing version.
        overwrite: replace an existing `version`.

    Returns:
        The version folder.

    Raises:
        UserError: a bad name or version, an existing version without
            `overwrite`, or a variable of `model` (weights, optimizer state)
            that holds a NaN or an infinity: nothing is written then.

    Example:
        >>> export_model(kerasgen.zoo.load("vae.mnist"), "saved_models", "vae.mnist")
        PosixPath('saved_models/vae.mnist/1')
    """
    return _export_model(model, base, name, version, overwrite, None)


def _export_model(model, base, name, version, overwrite, weights):
    """`export_model`; `weights` names the file the model's weights came from, for the error if they are not finite."""
    from kerasgen import zoo

    check_name(name)
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        raise UserError(f"The version must be a positive integer, got {version!r}.")
    base = pathlib.Path(base)
    model_dir = base / name
    for folder in (base, model_dir):
        if folder.exists() and not folder.is_dir():
            raise UserError(f"{str(folder)!r} is a file, not a folder.")
    existing = versions(model_dir)
    version = version or (max(existing, default=0) + 1)
    target = model_dir / str(version)
    if target.exists() and not overwrite:
        raise UserError(f"{str(target)!r} already exists; pass --overwrite to replace it, or choose another version.")
    zoo.refuse_non_finite(model, weights, "exporting")
    module, signatures = serving_module(model)
    created = not model_dir.exists()
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
        temporary = pathlib.Path(tempfile.mkdtemp(dir=model_dir, prefix=TEMPORARY_PREFIX))
    except OSError as error:
        raise UserError(f"Cannot write to {str(model_dir)!r}: {error.strerror}.") from None
    try:
        _save(module, temporary, signatures)
        os.chmod(temporary, 0o755)
        _move_into_place(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        if created and model_dir.is_dir() and not any(model_dir.iterdir()):
            model_dir.rmdir()
        raise
    return target


def _save(module, path, signatures):
    import tensorflow as tf

    tf.saved_model.save(module, str(path), signatures=signatures)


def _move_into_place(temporary, target):
    """Rename `temporary` to `target`; an existing target is renamed aside first and deleted after."""
    if not target.exists():
        try:
            os.rename(temporary, target)
        except OSError as error:
            if target.exists():  # another export took this version meanwhile
                raise UserError(f"{str(target)!r} appeared during the export; export again.") from None
            raise UserError(f"Cannot rename the export to {str(target)!r}: {error.strerror}.") from None
        return
    aside = pathlib.Path(tempfile.mkdtemp(dir=target.parent, prefix=f".old-{target.name}-"))
    os.rename(target, aside / "version")
    try:
        os.rename(temporary, target)
    except BaseException:
        os.rename(aside / "version", target)
        aside.rmdir()
        raise
    shutil.rmtree(aside, ignore_errors=True)


def serving_module(model):
    """A `tf.Module` with a `tf.function` per signature and the variables they read (of the serving networks only).

    Returns:
        `(module, signatures)`: `signatures` maps each signature name to a
        concrete function, ready for `tf.saved_model.save(module, path, signatures=signatures)`.

    Example:
        >>> module, signatures = serving_module(kerasgen.zoo.load("vae.mnist"))
        >>> sorted(signatures)
        ['decode', 'encode', 'reconstruct', 'sample', 'serving_default']
    """
    import tensorflow as tf

    from kerasgen import families

    networks, functions = families.for_model(model).hook("serving")(model)
    signatures = {key: function.get_concrete_function() for key, function in functions.items()}
    # Track the tf.Variables the functions capture, not Keras's Variable wrappers: TF Serving's loader (like
    # `saved_model_cli run`) cannot find variables that reach the SavedModel only through those wrappers.
    captured = {id(variable): variable for function in signatures.values() for variable in function.variables}
    served = {id(variable.value) for network in networks for variable in network.variables}
    if not captured.keys() <= served:
        raise RuntimeError(f"A {type(model).__name__} signature reads variables outside its serving networks.")
    module = tf.Module()
    module.served_variables = list(captured.values())
    for key, function in functions.items():
        if key != "serving_default":
            setattr(module, key, function)
    return module, signatures


def model_on_random_images(model, count, seed=0):
    """`serving_default`'s Keras counterpart for models that serve themselves on images (autoencoders,
    classifiers): the model and `count` random images in [0, 1], for the serving benchmark."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return model, rng.random((count, *model.image_shape), dtype=np.float32)


def spec(shape, dtype, name):
    """A `tf.TensorSpec` with a dynamic batch dimension: `[None, *shape]`."""
    import tensorflow as tf

    return tf.TensorSpec([None, *shape], dtype, name=name)


def seeded_normal(seeds, size):
    """One row of N(0, 1) per int32 seed, equal to `keras.random.normal((1, size), seed=seed)`."""
    import tensorflow as tf

    def row(seed):
        pair = tf.math.floormod(tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)]), SEED_MODULUS)
        return tf.random.stateless_normal([size], seed=tf.cast(pair, tf.int32))

    return tf.map_fn(row, seeds, fn_output_signature=tf.TensorSpec([size], tf.float32))


def checked_labels(labels, batch, num_classes):
    """`labels`, after checks that there is one per row and each is in [0, num_classes)."""
    import tensorflow as tf

    checks = [
        tf.debugging.assert_equal(tf.shape(labels)[0], batch, message="labels must have one entry per image"),
        tf.debugging.assert_non_negative(labels, message=f"labels must be in [0, {num_classes})"),
        tf.debugging.assert_less(labels, num_classes, message=f"labels must be in [0, {num_classes})"),
    ]
    with tf.control_dependencies(checks):  # before the embedding's gather, which fails (CPU) or gives zeros (GPU)
        return tf.identity(labels)


def translators(network, image_shape):
    """Float, uint8 and encoded-image translators through one generator (images in [0, 1] at its ends)."""
    import tensorflow as tf

    height, width, channels = image_shape

    def translated(images):
        # ReflectionPadding2D's MirrorPad refuses an empty batch; answer one with an empty batch.
        return tf.cond(
            tf.shape(images)[0] > 0,
            lambda: (network(images * 2.0 - 1.0, training=False) + 1.0) / 2.0,
            lambda: tf.zeros_like(images),
        )

    def to_uint8(images):
        return tf.cast(tf.round(tf.clip_by_value(images, 0.0, 1.0) * 255.0), tf.uint8)

    @tf.function(input_signature=[spec(image_shape, tf.float32, "images")])
    def translate(images):
        return {"images": translated(images)}

    @tf.function(input_signature=[spec(image_shape, tf.uint8, "images")])
    def translate_uint8(images):
        return {"images": to_uint8(translated(tf.cast(images, tf.float32) / 255.0))}

    limit = _pixel_limit()

    def decode(encoded):
        # The size the header declares is checked before decoding: a small compressed image may declare billions of
        # pixels, and the decoders allocate them all. Through RGB: GIF and BMP decode to no single channel, and
        # ITU-R 601 luma is what PIL (`kerasgen translate`) uses; PNG alpha is dropped.
        with tf.control_dependencies(_size_checks(encoded, limit)):
            image = tf.io.decode_image(
                encoded, channels=channels if channels not in (1, 3) else 3, dtype=tf.uint8, expand_animations=False
            )
        size = tf.shape(image)[:2]
        pixels = tf.cast(image, tf.float32) / 255.0
        if channels == 1:
            pixels = tf.tensordot(pixels, tf.constant(LUMA), axes=1)[..., None]
        resized = tf.image.resize(pixels, [height, width], method="bilinear", antialias=True)
        return tf.clip_by_value(resized, 0.0, 1.0), size

    def encode(image_and_size):
        image, size = image_and_size
        restored = tf.image.resize(image, size, method="bilinear", antialias=True)
        return tf.io.encode_png(to_uint8(restored))

    @tf.function(input_signature=[spec((), tf.string, "image_bytes")])
    def translate_png(image_bytes):
        images, sizes = tf.map_fn(
            decode,
            image_bytes,
            fn_output_signature=(tf.TensorSpec(image_shape, tf.float32), tf.TensorSpec([2], tf.int32)),
        )
        outputs = translated(images)
        return {"png_bytes": tf.map_fn(encode, (outputs, sizes), fn_output_signature=tf.TensorSpec([], tf.string))}

    return translate, translate_uint8, translate_png


def _pixel_limit():
    """`kerasgen.data.MAX_IMAGE_PIXELS` as it is now (baked into an export), the limit the CLI applies to files."""
    from kerasgen import data

    return int(data.MAX_IMAGE_PIXELS)


def declared_size(encoded):
    """`(known, width, height)` that an encoded image's header declares, read without decoding it.

    `known` is False for bytes that are not a PNG, JPEG, GIF, BMP or WebP image
    (TensorFlow's `decode_image` also reads JPEG XL, whose size this does not read).
    PNG: IHDR's big-endian width and height; JPEG: `tf.io.extract_jpeg_shape`;
    GIF: the logical screen; BMP: the info header; WebP: the VP8, VP8L or VP8X header.
    `width` and `height` are int64 scalars (0 when `known` is False).

    Example:
        >>> declared_size(tf.io.encode_png(tf.zeros([20, 30, 1], tf.uint8)))  # (True, 30, 20)
    """
    import tensorflow as tf

    header = tf.strings.substr(
        tf.strings.join([tf.strings.substr(encoded, 0, HEADER_BYTES), b"\0" * HEADER_BYTES]), 0, HEADER_BYTES
    )
    data = tf.cast(tf.io.decode_raw(header, tf.uint8), tf.int64)

    def at(start, length):
        return tf.strings.substr(header, start, length)

    def little(start, count):
        return sum(data[start + index] * (1 << (8 * index)) for index in range(count))

    def big(start, count):
        return sum(data[start + index] * (1 << (8 * (count - 1 - index))) for index in range(count))

    def signed32(value):
        return tf.abs(tf.where(value >= 1 << 31, value - (1 << 32), value))

    is_png = at(0, 8) == b"\x89PNG\r\n\x1a\n"
    is_jpeg = at(0, 3) == b"\xff\xd8\xff"
    is_gif = tf.logical_or(at(0, 6) == b"GIF87a", at(0, 6) == b"GIF89a")
    is_bmp = at(0, 2) == b"BM"
    is_webp = tf.logical_and(at(0, 4) == b"RIFF", at(8, 4) == b"WEBP")
    chunk = at(12, 4)
    lossless = little(21, 4)
    webp = [
        (chunk == b"VP8 ", little(26, 2) % (1 << 14), little(28, 2) % (1 << 14)),
        (chunk == b"VP8L", lossless % (1 << 14) + 1, lossless // (1 << 14) % (1 << 14) + 1),
        (chunk == b"VP8X", little(24, 3) + 1, little(27, 3) + 1),
    ]
    jpeg = tf.cond(
        is_jpeg,
        lambda: tf.cast(tf.io.extract_jpeg_shape(encoded)[:2], tf.int64),
        lambda: tf.zeros([2], tf.int64),
    )
    formats = [
        (is_png, big(16, 4), big(20, 4)),
        (is_jpeg, jpeg[1], jpeg[0]),
        (is_gif, little(6, 2), little(8, 2)),
        (is_bmp, signed32(little(18, 4)), signed32(little(22, 4))),
        *[(tf.logical_and(is_webp, is_chunk), w, h) for is_chunk, w, h in webp],
    ]
    known, width, height = tf.constant(False), tf.constant(0, tf.int64), tf.constant(0, tf.int64)
    for is_format, format_width, format_height in reversed(formats):
        known = tf.logical_or(known, is_format)
        width = tf.where(is_format, format_width, width)
        height = tf.where(is_format, format_height, height)
    return known, width, height


def _size_checks(encoded, limit):
    """Assertions that `encoded` is an image of a known format declaring at most `limit` pixels."""
    import tensorflow as tf

    known, width, height = declared_size(encoded)
    pixels = tf.cast(width, tf.uint64) * tf.cast(height, tf.uint64)  # below 2**64: each side is below 2**32
    message = tf.strings.join(
        [
            "An image declares ",
            tf.strings.as_string(width),
            "x",
            tf.strings.as_string(height),
            " = ",
            tf.strings.as_string(pixels),
            f" pixels, over the limit of {limit} (kerasgen.data.MAX_IMAGE_PIXELS when exported); send a smaller image.",
        ]
    )
    return [
        tf.debugging.Assert(known, [UNKNOWN_IMAGE]),
        tf.debugging.Assert(pixels <= tf.constant(limit, tf.uint64), [message]),
    ]


def model_folders(base="saved_models"):
    """Folders under `base` that TF Serving can serve: with an integer subfolder holding `saved_model.pb`.

    Example:
        >>> [path.name for path in model_folders("saved_models")]
        ['vae.mnist']
    """
    base = pathlib.Path(base)
    if not base.is_dir():
        raise UserError(f"{str(base)!r} is not a folder.")
    return [
        folder
        for folder in sorted(base.iterdir())
        if folder.is_dir()
        and not folder.name.startswith(".")
        and any((folder / str(number) / "saved_model.pb").is_file() for number in versions(folder))
    ]


def _quoted(text):
    """A protobuf text-format string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def serving_config(base="saved_models", root=None):
    """A TF Serving `--model_config_file` (text format) naming every model folder under `base`.

    Args:
        base: the folder of model folders.
        root: the base folder as the server sees it (e.g. `/models` inside the
            Docker image); default the absolute path of `base`.

    Example:
        >>> print(serving_config("saved_models", root="/models"))
        model_config_list {
          config {
            name: "vae.mnist"
            base_path: "/models/vae.mnist"
            model_platform: "tensorflow"
          }
        }
    """
    folders = model_folders(base)
    if not folders:
        raise UserError(f"No exported models under {str(base)!r}; run `kerasgen export NAME --base {base}` first.")
    root = str(pathlib.Path(base).resolve()) if root is None else str(root).rstrip("/") or "/"
    lines = ["model_config_list {"]
    for folder in folders:
        lines += [
            "  config {",
            f"    name: {_quoted(folder.name)}",
            f"    base_path: {_quoted(root.rstrip('/') + '/' + folder.name)}",
            '    model_platform: "tensorflow"',
            "  }",
        ]
    return "\n".join([*lines, "}", ""])


def write_serving_config(path, base="saved_models", root=None):
    """Write `serving_config(base, root)` to `path` atomically; returns the path.

    Example:
        >>> write_serving_config("saved_models/models.config", "saved_models", root="/models")
    """
    text = serving_config(base, root)
    path = pathlib.Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, text)
    except OSError as error:
        raise UserError(f"Cannot write {str(path)!r}: {error.strerror}.") from None
    return path


def docker_command(version_dir):
    """The `docker run tensorflow/serving` line that serves the model of a version folder over REST.

    Example:
        >>> print(docker_command("saved_models/vae.mnist/1"))
        docker run -p 8501:8501 -v /home/me/saved_models/vae.mnist:/models/vae.mnist -e MODEL_NAME=vae.mnist \
            tensorflow/serving
    """
    model_dir = pathlib.Path(version_dir).resolve().parent
    name = model_dir.name
    volume = shlex.quote(f"{model_dir}:/models/{name}")
    return f"docker run -p 8501:8501 -v {volume} -e MODEL_NAME={name} tensorflow/serving"
