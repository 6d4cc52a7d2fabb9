"""The TF Serving contract of `kerasgen export` (DESIGN.md, "TF Serving contract").

No model server runs here, so these tests check what one consumes: SavedModels
in `<base>/<name>/<integer version>/`, loaded in a fresh process that cannot
import kerasgen, with named signatures of fixed dtypes and a dynamic batch
dimension that give the Keras models' outputs; `saved_model_cli show/run`;
atomic versions; a `models.config` in TF Serving's text format.
"""

import io
import json
import os
import pathlib
import re
import shlex
import struct
import subprocess
import sys
import types
import zlib

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import assert_close, tiny_config
from crafted import gif, gif_image, lzw
from PIL import Image

from kerasgen import export as exporting
from kerasgen import zoo
from kerasgen.cli import cli
from kerasgen.errors import UserError
from kerasgen.export.image_guard import DEFAULT_REQUEST_PIXELS
from kerasgen.export.tf_serving import _quoted

ENTRY_NAMES = zoo.list()
QUICK_ENTRIES = ("cyclegan.digits",)
"""The entries exported by the README's test command: the main job's, which keeps its semantic classifier out of
the export. Every other entry is exported and checked the same way by the slow suite (`served_entries`)."""
OTHER_ENTRIES = tuple(name for name in ENTRY_NAMES if name not in QUICK_ENTRIES)
TINY = ("autoencoder", "vae", "gan", "cgan", "cyclegan", "cyclegan_rgb", "classifier")
SEEDS = np.array([0, 7, -3, 7], np.int32)  # a repeated seed must repeat its image
LABELS = np.array([0, 3, 9, 3], np.int32)
BATCH = len(SEEDS)

# The checker runs in a fresh interpreter that cannot import kerasgen: only TensorFlow and numpy.
CHECKER = r"""
import json, sys
sys.modules["kerasgen"] = None  # `import kerasgen` now raises ImportError
import numpy as np
import tensorflow as tf

manifest = json.load(open(sys.argv[1]))
report = {"signature_defs": {}, "errors": {}, "session_errors": {}, "budgets": {}}
loaded, sessions, graphs = {}, {}, {}
for key, path in manifest["models"].items():
    loaded[key] = tf.saved_model.load(path)  # TF2, as a Python client would
    if hasattr(loaded[key], "max_request_pixels"):
        report["budgets"][key] = int(loaded[key].max_request_pixels())
    sessions[key] = tf.compat.v1.Session(graph=tf.Graph())  # a TF1 session, as TF Serving and saved_model_cli run
    with sessions[key].graph.as_default():
        graphs[key] = tf.compat.v1.saved_model.loader.load(sessions[key], ["serve"], path)
    report["signature_defs"][key] = {
        name: {
            "method": signature.method_name,
            "tags": list(graphs[key].meta_info_def.tags),
            **{
                side: {
                    tensor: [
                        tf.dtypes.as_dtype(info.dtype).name if info.dtype else "invalid",
                        [dim.size for dim in info.tensor_shape.dim],
                    ]
                    for tensor, info in getattr(signature, side).items()
                }
                for side in ("inputs", "outputs")
            },
        }
        for name, signature in graphs[key].signature_def.items()
    }
for call in manifest["calls"]:
    with np.load(call["inputs"], allow_pickle=True) as stored:
        inputs = dict(stored.items())
    function = loaded[call["model"]].signatures[call["signature"]]
    try:
        outputs = function(**{k: tf.constant(list(v) if v.dtype == object else v) for k, v in inputs.items()})
        np.savez(call["outputs"], **{k: v.numpy() for k, v in outputs.items()})
    except tf.errors.InvalidArgumentError as error:
        report["errors"][call["id"]] = error.message
    signature = graphs[call["model"]].signature_def[call["signature"]]
    names = sorted(signature.outputs)
    feed = {signature.inputs[k].name: v for k, v in inputs.items()}
    try:
        values = sessions[call["model"]].run([signature.outputs[k].name for k in names], feed)
        np.savez(call["session_outputs"], **dict(zip(names, values)))
    except tf.errors.InvalidArgumentError as error:
        report["session_errors"][call["id"]] = error.message
json.dump(report, open(sys.argv[2], "w"))
"""

# The signatures the README promises for each family (`serving_default` is an alias of the first named one).
SIGNATURES = {
    "AutoEncoder": ("serving_default", "reconstruct", "encode", "decode"),
    "VAE": ("serving_default", "decode", "encode", "reconstruct", "sample"),
    "GAN": ("serving_default", "generate", "generate_seeded"),
    "CycleGAN": (
        "serving_default",
        "translate_a2b",
        "translate_b2a",
        "translate_a2b_uint8",
        "translate_b2a_uint8",
        "translate_a2b_png",
        "translate_b2a_png",
    ),
    "Classifier": ("serving_default", "classify", "features"),
}


# Also without kerasgen: images that decode to more pixels than the budget, sent alone to `translate_a2b_png` through
# both loaders after a good image warmed each up. Reports each error and how much the peak resident memory grew.
BOMB_CHECKER = r"""
import json, pathlib, resource, sys
sys.modules["kerasgen"] = None
import tensorflow as tf

path, bombs, good = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3]).read_bytes()
function = tf.saved_model.load(path).signatures["translate_a2b_png"]
session = tf.compat.v1.Session(graph=tf.Graph())
with session.graph.as_default():
    signature = tf.compat.v1.saved_model.loader.load(session, ["serve"], path).signature_def["translate_a2b_png"]
callers = {
    "function": lambda data: function(image_bytes=tf.constant(data))["png_bytes"].numpy(),
    "session": lambda data: session.run(
        signature.outputs["png_bytes"].name, {signature.inputs["image_bytes"].name: data}
    ),
}
report = {"good": {caller: len(call([good])) for caller, call in callers.items()}}
for bomb in sorted(bombs.iterdir()):
    for caller, call in callers.items():
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            call([bomb.read_bytes()])
            message = None
        except tf.errors.InvalidArgumentError as error:
            message = error.message
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before  # KiB on Linux
        report[f"{bomb.stem}-{caller}"] = {"message": message, "grown_mib": grown / 1024}
json.dump(report, open(sys.argv[4], "w"))
"""


def png_chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_bomb(width, height):
    """A valid grayscale PNG of `width` x `height` zeros: about 250 KB for 16000 x 16000 (256 MB of pixels)."""
    compressor, rows = zlib.compressobj(9), bytes((width + 1) * 100)  # a filter byte and the pixels of 100 rows
    parts = [compressor.compress(rows) for _ in range(height // 100)]
    idat = b"".join([*parts, compressor.compress(bytes((width + 1) * (height % 100))), compressor.flush()])
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale, not interlaced
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def header_bombs():
    """Small real images whose headers were made to declare a huge size: {case: (bytes, width, height)}."""
    small = np.zeros((8, 8, 3), np.uint8)
    jpeg = bytearray(encoded(small, "RGB", "JPEG"))
    frame = jpeg.index(b"\xff\xc0")  # SOF0: marker, length (2), precision (1), height (2), width (2)
    jpeg[frame + 5 : frame + 9] = struct.pack(">HH", 60000, 50000)
    frame = gif([gif_image(20000, 30000, data=lzw(64))])  # a frame descriptor (TensorFlow ignores the screen)
    bmp = bytearray(encoded(small, "RGB", "BMP"))
    bmp[18:26] = struct.pack("<ii", 30000, -20000)  # a negative height: rows stored top-down
    webp = bytearray(encoded(small, "RGB", "WEBP"))
    webp[26:30] = struct.pack("<HH", 16383, 16383)  # VP8's 14-bit width and height
    return {
        "jpeg": (bytes(jpeg), 50000, 60000),
        "gif": (frame, 20000, 30000),
        "bmp": (bytes(bmp), 30000, 20000),
        "webp": (bytes(webp), 16383, 16383),
    }


def expected_signatures(kind):
    """The documented signature defs of each tiny model: {signature: (inputs, outputs)} of (dtype, shape)."""
    images = {"images": ("float32", [-1, 16, 16, 1])}
    if kind == "autoencoder":
        latents = {"latents": ("float32", [-1, 3])}
        return {
            "serving_default": (images, images),
            "reconstruct": (images, images),
            "encode": (images, latents),
            "decode": (latents, images),
        }
    if kind == "vae":
        latents = {"latents": ("float32", [-1, 3])}
        return {
            "serving_default": (latents, images),
            "decode": (latents, images),
            "encode": (images, {"mean": ("float32", [-1, 3]), "log_var": ("float32", [-1, 3])}),
            "reconstruct": (images, images),
            "sample": ({"seeds": ("int32", [-1])}, {**images, **latents}),
        }
    if kind in ("gan", "cgan"):
        labels = {"labels": ("int32", [-1])} if kind == "cgan" else {}
        latents = {"latents": ("float32", [-1, 4])}
        return {
            "serving_default": ({**latents, **labels}, images),
            "generate": ({**latents, **labels}, images),
            "generate_seeded": ({"seeds": ("int32", [-1]), **labels}, {**images, **latents}),
        }
    if kind in ("cyclegan", "cyclegan_rgb"):
        shape = [-1, 16, 16, 3 if kind == "cyclegan_rgb" else 1]
        floats, uint8s = {"images": ("float32", shape)}, {"images": ("uint8", shape)}
        encoded = ({"image_bytes": ("string", [-1])}, {"png_bytes": ("string", [-1])})
        signatures = {"serving_default": (floats, floats)}
        for direction in ("a2b", "b2a"):
            signatures[f"translate_{direction}"] = (floats, floats)
            signatures[f"translate_{direction}_uint8"] = (uint8s, uint8s)
            signatures[f"translate_{direction}_png"] = encoded
        return signatures
    outputs = {"probabilities": ("float32", [-1, 10]), "labels": ("int32", [-1])}
    return {
        "serving_default": (images, outputs),
        "classify": (images, outputs),
        "features": (images, {"features": ("float32", [-1, 8])}),
    }


def build_tiny(kind):
    """A tiny, randomly initialized model of each family (a GAN with a moving average that differs from it)."""
    import keras

    from kerasgen.autoencoder import AutoEncoder
    from kerasgen.classifier import Classifier
    from kerasgen.cyclegan import CycleGAN
    from kerasgen.gan import GAN
    from kerasgen.vae import VAE

    keras.utils.set_random_seed(0)
    gan = {"image_shape": (16, 16, 1), "latent_dim": 4, "generator_filters": (8, 4), "discriminator_filters": (4, 8)}
    cyclegan = {"generator_filters": 4, "residual_blocks": 1, "discriminator_filters": 4}
    if kind == "autoencoder":
        return AutoEncoder(**tiny_config())
    if kind == "vae":
        return VAE(**tiny_config())
    if kind == "gan":
        model = GAN(**gan, ema_decay=0.9)
        rng = np.random.default_rng(1)
        model.ema_generator.set_weights([w + rng.normal(0, 0.05, w.shape) for w in model.generator.get_weights()])
        return model
    if kind == "cgan":
        return GAN(**gan, num_classes=10)
    if kind == "cyclegan":
        return CycleGAN(image_shape=(16, 16, 1), **cyclegan)
    if kind == "cyclegan_rgb":
        return CycleGAN(image_shape=(16, 16, 3), **cyclegan)
    return Classifier(image_shape=(16, 16, 1), filters=(4,), feature_units=8)


def encoded(pixels, mode, fmt="PNG", progressive=False):
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(buffer, format=fmt, **({"progressive": True} if progressive else {}))
    return buffer.getvalue()


def png_cases(shape, rng):
    """Encoded images of several modes, formats and sizes; the first one has the model's size."""
    height, width, channels = shape
    same = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
    return {
        "model_size": (same, encoded(same[..., 0] if channels == 1 else same, "L" if channels == 1 else "RGB")),
        "grayscale_png": (None, encoded(rng.integers(0, 256, (20, 30), dtype=np.uint8), "L")),
        "rgb_png": (None, encoded(rng.integers(0, 256, (9, 7, 3), dtype=np.uint8), "RGB")),
        "rgba_png": (None, encoded(rng.integers(0, 256, (24, 16, 4), dtype=np.uint8), "RGBA")),
        "jpeg": (None, encoded(rng.integers(0, 256, (40, 33, 3), dtype=np.uint8), "RGB", "JPEG")),
        "gif": (None, encoded(rng.integers(0, 256, (12, 13, 3), dtype=np.uint8), "P", "GIF")),
        "progressive_jpeg": (None, encoded(rng.integers(0, 256, (17, 21, 3), dtype=np.uint8), "RGB", "JPEG", True)),
        "animated_gif": (None, animated_gif(rng.integers(0, 256, (3, 11, 9, 3), dtype=np.uint8))),
    }


def animated_gif(frames):
    buffer = io.BytesIO()
    first, *rest = [Image.fromarray(frame) for frame in frames]
    first.save(buffer, format="GIF", save_all=True, append_images=rest, duration=40)
    return buffer.getvalue()


def as_uint8(images):
    return np.round(np.clip(np.asarray(images), 0, 1) * 255).astype(np.uint8)


def calls_for(model, rng):
    """(signature, inputs, expected outputs) for every signature, expected outputs from the Keras model."""
    import keras

    family = type(model).__name__
    images = rng.random((BATCH, *model.image_shape), dtype=np.float32)
    if family == "AutoEncoder":
        latents = rng.normal(size=(BATCH, model.latent_dim)).astype(np.float32)
        reconstructed = {"images": model.reconstruct(images)}
        return [
            ("serving_default", {"images": images}, reconstructed),
            ("reconstruct", {"images": images}, reconstructed),
            ("encode", {"images": images}, {"latents": model.encode(images)}),
            ("decode", {"latents": latents}, {"images": model.decode(latents)}),
        ]
    if family == "VAE":
        latents = rng.normal(size=(BATCH, model.latent_dim)).astype(np.float32)
        mean, log_var = model.encode(images)
        decoded = {"images": model.decode(latents)}
        sampled = {
            "images": np.concatenate([model.sample(1, seed=int(seed)) for seed in SEEDS]),
            "latents": np.concatenate([keras.random.normal((1, model.latent_dim), seed=int(seed)) for seed in SEEDS]),
        }
        return [
            ("serving_default", {"latents": latents}, decoded),
            ("decode", {"latents": latents}, decoded),
            ("encode", {"images": images}, {"mean": mean, "log_var": log_var}),
            ("reconstruct", {"images": images}, {"images": model.reconstruct(images)}),
            ("sample", {"seeds": SEEDS}, sampled),
        ]
    if family == "GAN":
        latents = rng.normal(size=(BATCH, model.latent_dim)).astype(np.float32)
        labels = {"labels": LABELS} if model.num_classes else {}
        generated = {"images": model([latents, LABELS] if model.num_classes else latents)}
        per_seed = [
            model.generate(1, labels=[int(label)] if labels else None, seed=int(seed))
            for seed, label in zip(SEEDS, LABELS, strict=True)
        ]
        seeded = {
            "images": np.concatenate(per_seed),
            "latents": np.concatenate([keras.random.normal((1, model.latent_dim), seed=int(seed)) for seed in SEEDS]),
        }
        return [
            ("serving_default", {"latents": latents, **labels}, generated),
            ("generate", {"latents": latents, **labels}, generated),
            ("generate_seeded", {"seeds": SEEDS, **labels}, seeded),
        ]
    if family == "CycleGAN":
        pixels = rng.integers(0, 256, (BATCH, *model.image_shape), dtype=np.uint8)
        cases = png_cases(model.image_shape, rng)
        image_bytes = np.array([data for _, data in cases.values()], dtype=object)
        calls = [("serving_default", {"images": images}, {"images": model.translate(images, "a2b")})]
        for direction in ("a2b", "b2a"):
            calls += [
                (f"translate_{direction}", {"images": images}, {"images": model.translate(images, direction)}),
                (
                    f"translate_{direction}_uint8",
                    {"images": pixels},
                    {"images": as_uint8(model.translate(pixels, direction))},
                ),
                (f"translate_{direction}_png", {"image_bytes": image_bytes}, {"cases": cases}),
            ]
        return calls
    probabilities = model.predict(images, verbose=0)
    classified = {"probabilities": probabilities, "labels": np.argmax(probabilities, axis=-1).astype(np.int32)}
    return [
        ("serving_default", {"images": images}, classified),
        ("classify", {"images": images}, classified),
        ("features", {"images": images}, {"features": model.features(images)}),
    ]


def error_calls(kind, rng):
    """Requests that must fail with an error: (id, signature, inputs)."""
    if kind == "cgan":
        latents = rng.normal(size=(1, 4)).astype(np.float32)
        return [
            ("label_too_large", "generate", {"latents": latents, "labels": np.array([10], np.int32)}),
            (
                "label_negative",
                "generate_seeded",
                {"seeds": np.array([1], np.int32), "labels": np.array([-1], np.int32)},
            ),
        ]
    if kind.startswith("cyclegan"):
        png = encoded(np.zeros((8, 8), np.uint8), "L")
        bad = {"text": b"not an image", "truncated_png": png[:40], "empty": b""}
        return [
            (f"png_{case}", "translate_a2b_png", {"image_bytes": np.array([png, data], dtype=object)})
            for case, data in bad.items()
        ]
    return []


def saved_model_cli(*args):
    beside = pathlib.Path(sys.executable).with_name("saved_model_cli")
    command = [str(beside)] if beside.is_file() else [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"]
    return [*command, *map(str, args)]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Every tiny model and `QUICK_ENTRIES` exported, then checked in one fresh process beside saved_model_cli."""
    return export_and_check(tmp_path_factory.mktemp("export"), TINY, QUICK_ENTRIES)


@pytest.fixture(scope="module")
def served_entries(tmp_path_factory):
    """The other zoo entries exported and checked as `served` checks its own (slow tests only)."""
    return export_and_check(tmp_path_factory.mktemp("export_entries"), (), OTHER_ENTRIES)


def served_for(request, key):
    """The fixture that exported `key`: `served_entries` for `OTHER_ENTRIES`, else `served`."""
    return request.getfixturevalue("served_entries" if key in OTHER_ENTRIES else "served")


def export_and_check(root, tiny, entries):
    """Export the `tiny` models and the zoo `entries` under `root`, then run the checker on every signature.

    With tiny models, also the decompression bombs against the tiny CycleGAN's PNG signature and
    `saved_model_cli show`/`run` on the tiny CycleGAN and conditional GAN, in parallel with the checker.
    """
    rng = np.random.default_rng(0)
    models, folders, calls, expected = {}, {}, [], {}
    for kind in tiny:
        models[kind] = build_tiny(kind)
        folders[kind] = exporting.export_model(models[kind], root / "tiny", kind)
    for name in entries:
        folders[name] = exporting.export(name, base=root / "zoo")
        models[name] = zoo.load(name)
    (root / "calls").mkdir()
    for key, model in models.items():
        requests = [
            (f"{key}-{signature}", signature, inputs, want) for signature, inputs, want in calls_for(model, rng)
        ]
        requests += [
            (f"{key}-error-{case}", signature, inputs, None) for case, signature, inputs in error_calls(key, rng)
        ]
        for call_id, signature, inputs, want in requests:
            paths = {
                side: root / "calls" / f"{call_id}.{side}.npz" for side in ("inputs", "outputs", "session_outputs")
            }
            np.savez(paths["inputs"], **inputs)
            calls.append({"id": call_id, "model": key, "signature": signature, **{k: str(v) for k, v in paths.items()}})
            expected[call_id] = (want, paths["outputs"], paths["session_outputs"])
    manifest = {"models": {key: str(folder) for key, folder in folders.items()}, "calls": calls}
    (root / "manifest.json").write_text(json.dumps(manifest))
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    jobs = {"checker": [sys.executable, "-c", CHECKER, root / "manifest.json", root / "report.json"]}
    bombs, latents = {}, None
    if tiny:
        bombs = {"png": (png_bomb(16000, 16000), 16000, 16000), **header_bombs()}
        (root / "bombs").mkdir()
        for case, (data, _, _) in bombs.items():
            (root / "bombs" / f"{case}.bin").write_bytes(data)
        (root / "good.png").write_bytes(encoded(np.zeros((9, 7), np.uint8), "L"))
        latents = np.round(rng.normal(size=(2, 4)), 3).astype(np.float32)
        jobs["bombs"] = [
            sys.executable,
            "-c",
            BOMB_CHECKER,
            folders["cyclegan"],
            root / "bombs",
            root / "good.png",
            root / "bombs.json",
        ]
        jobs["show_cyclegan"] = saved_model_cli("show", "--all", "--dir", folders["cyclegan"])
        jobs["run_cgan"] = saved_model_cli(
            "run",
            "--dir",
            folders["cgan"],
            "--tag_set",
            "serve",
            "--signature_def",
            "serving_default",
            "--input_exprs",
            f"latents={latents.tolist()};labels=[2, 5]",
            "--outdir",
            root / "run_cgan",
        )
    processes = {}
    try:
        for job, command in jobs.items():
            with open(root / f"{job}.log", "w") as log:
                processes[job] = subprocess.Popen(
                    [str(part) for part in command], stdout=log, stderr=subprocess.STDOUT, cwd=root, env=environment
                )
        for job, process in processes.items():
            assert process.wait(timeout=300) == 0, (root / f"{job}.log").read_text()[-3000:]
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return types.SimpleNamespace(
        root=root,
        models=models,
        folders=folders,
        expected=expected,
        report=json.loads((root / "report.json").read_text()),
        bombs={case: (len(data), width, height) for case, (data, width, height) in bombs.items()},
        bomb_report=json.loads((root / "bombs.json").read_text()) if tiny else None,
        logs={job: (root / f"{job}.log").read_text() for job in jobs},
        run_inputs=(latents, np.array([2, 5], np.int32)),
    )


def test_exports_are_integer_versions_of_saved_models(served):
    for key, folder in served.folders.items():
        assert folder.name == "1" and folder.parent.name == key
        assert (folder / "saved_model.pb").is_file() and (folder / "variables" / "variables.index").is_file()
        assert [path.name for path in folder.parent.iterdir()] == ["1"]


def with_slow_entries(keys):
    """`keys` as parameters, those of `OTHER_ENTRIES` marked slow."""
    return [pytest.param(key, marks=pytest.mark.slow) if key in OTHER_ENTRIES else key for key in keys]


@pytest.mark.parametrize("key", with_slow_entries([*TINY, *ENTRY_NAMES]))
def test_every_signature_gives_the_keras_models_outputs_in_a_process_without_kerasgen(request, key):
    """Through `tf.saved_model.load` and through a TF1 session (the loader TF Serving and `saved_model_cli run` use)."""
    served = served_for(request, key)
    calls = {call_id: value for call_id, value in served.expected.items() if call_id.startswith(f"{key}-")}
    family = type(served.models[key]).__name__
    signatures = {call_id[len(key) + 1 :] for call_id in calls if "-error-" not in call_id}
    assert signatures == set(SIGNATURES[family])
    for call_id, (want, *outputs) in calls.items():
        if want is None:
            continue
        for errors, path in zip(("errors", "session_errors"), outputs, strict=True):
            assert call_id not in served.report[errors], served.report[errors][call_id]
            with np.load(path, allow_pickle=True) as stored:
                got = dict(stored.items())
            if "cases" in want:
                check_png_outputs(served.models[key], call_id, want["cases"], got)
                continue
            assert set(got) == set(want), call_id
            for name, value in want.items():
                value = np.asarray(value)
                assert got[name].dtype == value.dtype and got[name].shape == value.shape, f"{call_id}: {name}"
                if value.dtype == np.uint8:  # a value within float error of .5 may round either way
                    assert np.abs(got[name].astype(int) - value.astype(int)).max() <= 1, f"{call_id}: {name}"
                else:
                    assert_close(got[name], value, tolerance=1e-5)


def check_png_outputs(model, call_id, cases, got):
    """PNGs of each input's size in the model's mode; the model-size input equals the uint8 translation."""
    assert list(got) == ["png_bytes"] and len(got["png_bytes"]) == len(cases)
    channels = model.image_shape[2]
    direction = "a2b" if "_a2b_" in call_id else "b2a"
    for (case, (pixels, data)), png in zip(cases.items(), got["png_bytes"], strict=True):
        with Image.open(io.BytesIO(data)) as source, Image.open(io.BytesIO(png)) as output:
            assert output.format == "PNG", case
            assert output.size == source.size, case
            assert output.mode == ("L" if channels == 1 else "RGB"), case
            if pixels is not None:
                want = as_uint8(model.translate(pixels[None], direction))[0]
                translated = np.asarray(output).reshape(want.shape)
                assert np.abs(translated.astype(int) - want.astype(int)).max() <= 1, case


@pytest.mark.parametrize("errors", ["errors", "session_errors"])
def test_png_endpoints_refuse_bytes_that_are_not_an_image(served, errors):
    for kind in ("cyclegan", "cyclegan_rgb"):
        assert "Unknown image file format" in served.report[errors][f"{kind}-error-png_text"]
        assert "Invalid PNG" in served.report[errors][f"{kind}-error-png_truncated_png"]
        assert f"{kind}-error-png_empty" in served.report[errors]
        for case in ("text", "truncated_png", "empty"):
            assert not any(path.exists() for path in served.expected[f"{kind}-error-png_{case}"][1:])


@pytest.mark.parametrize("caller", ["function", "session"])
def test_png_endpoints_refuse_images_over_the_budget_before_decoding_them(served, caller):
    """A 250 KB PNG of 16000 x 16000 zeros would take GBs; it and header-only bombs fail at once, memory untouched."""
    assert served.bomb_report["good"] == {"function": 1, "session": 1}
    assert served.bombs["png"][0] < 300_000
    for case, (_, width, height) in served.bombs.items():
        result = served.bomb_report[f"{case}-{caller}"]
        assert result["message"] is not None, f"{case}: the request succeeded"
        expected = (
            f"image_bytes[0]: it decodes to {width}x{height} and counts {width * height} pixels, "
            f"over the budget of {DEFAULT_REQUEST_PIXELS} pixels per request (max_request_pixels, set at export)"
        )
        assert expected in result["message"], f"{case}: {result['message']}"
        assert result["grown_mib"] < 200, f"{case}: the peak resident memory grew by {result['grown_mib']:.0f} MiB"


def test_image_bytes_exports_report_their_budget(served):
    """`loaded.max_request_pixels()` on every CycleGAN export (and only there); `saved_model_cli show` lists it."""
    cyclegans = {key for key, model in served.models.items() if type(model).__name__ == "CycleGAN"}
    assert served.report["budgets"] == {key: DEFAULT_REQUEST_PIXELS for key in cyclegans}
    assert "Function Name: 'max_request_pixels'" in served.logs["show_cyclegan"]


@pytest.mark.parametrize("errors", ["errors", "session_errors"])
def test_conditional_gan_refuses_labels_out_of_range(served, errors):
    assert "labels must be in [0, 10)" in served.report[errors]["cgan-error-label_too_large"]
    assert "labels must be in [0, 10)" in served.report[errors]["cgan-error-label_negative"]


@pytest.mark.parametrize(
    "kind, networks",
    [("gan", ["ema_generator"]), ("cyclegan", ["generator_a2b", "generator_b2a"]), ("vae", ["encoder", "decoder"])],
)
def test_only_the_serving_networks_are_exported(served, kind, networks):
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(served.folders[kind] / "variables" / "variables"))
    shapes = reader.get_variable_to_shape_map()
    saved = sum(int(np.prod(shape)) for key, shape in shapes.items() if key.endswith("/.ATTRIBUTES/VARIABLE_VALUE"))
    model = served.models[kind]
    assert saved == sum(int(np.prod(v.shape)) for network in networks for v in getattr(model, network).variables)


@pytest.mark.parametrize("kind", TINY)
def test_signature_defs_match_the_documented_contract(served, kind):
    defs = served.report["signature_defs"][kind]
    want = expected_signatures(kind)
    assert set(defs) == set(want) | {"__saved_model_init_op"}
    for name, (inputs, outputs) in want.items():
        assert defs[name]["method"] == "tensorflow/serving/predict" and defs[name]["tags"] == ["serve"]
        assert {key: tuple(value) for key, value in defs[name]["inputs"].items()} == inputs, name
        assert {key: tuple(value) for key, value in defs[name]["outputs"].items()} == outputs, name


@pytest.mark.parametrize("name", with_slow_entries(ENTRY_NAMES))
def test_every_zoo_entry_has_the_signatures_of_its_family(request, name):
    served = served_for(request, name)
    defs = served.report["signature_defs"][name]
    family = zoo.card(name)["class"]
    assert set(defs) - {"__saved_model_init_op"} == set(SIGNATURES[family])
    assert served.report["budgets"].get(name) == (DEFAULT_REQUEST_PIXELS if family == "CycleGAN" else None)
    for signature in SIGNATURES[family]:
        tensors = [*defs[signature]["inputs"].values(), *defs[signature]["outputs"].values()]
        assert all(shape[0] == -1 and dtype in ("float32", "int32", "uint8", "string") for dtype, shape in tensors)


def parse_show_all(text):
    """{signature: {"inputs"|"outputs": {key: (dtype, shape)}}} from `saved_model_cli show --all`."""
    parsed, current, side = {}, None, None
    dtypes = {"DT_FLOAT": "float32", "DT_INT32": "int32", "DT_UINT8": "uint8", "DT_STRING": "string"}
    pattern = re.compile(r"(inputs|outputs)\['(\w+)'\] tensor_info:\s+dtype: (\w+)\s+shape: \(([-\d, ]*)\)")
    for block in re.split(r"\nsignature_def\['", text)[1:]:
        current = block.split("'", 1)[0]
        parsed[current] = {"inputs": {}, "outputs": {}}
        for side, key, dtype, shape in pattern.findall(block.split("Concrete Functions:")[0]):
            dims = [int(dim) for dim in shape.replace(" ", "").split(",") if dim]
            parsed[current][side][key] = (dtypes.get(dtype, dtype), dims)
    return parsed


def test_saved_model_cli_show_lists_signatures_with_dtypes_and_dynamic_batch(served):
    parsed = parse_show_all(served.logs["show_cyclegan"])  # float32, uint8 and string tensors
    for name, (inputs, outputs) in expected_signatures("cyclegan").items():
        assert parsed[name] == {"inputs": inputs, "outputs": outputs}, name
    assert "Method name is: tensorflow/serving/predict" in served.logs["show_cyclegan"]


def test_saved_model_cli_runs_serving_default(served):
    latents, labels = served.run_inputs
    images = np.load(served.root / "run_cgan" / "images.npy")
    assert_close(images, served.models["cgan"]([latents, labels]), tolerance=1e-5)


def test_gan_serves_its_moving_average_and_seeds_repeat(served):
    model = served.models["gan"]
    latents = np.random.default_rng(3).normal(size=(2, 4)).astype(np.float32)
    raw = (np.asarray(model.generator(latents, training=False)) + 1) / 2
    assert np.abs(raw - np.asarray(model(latents))).max() > 1e-3  # the average differs from the raw generator
    with np.load(served.expected["gan-generate_seeded"][2]) as stored:
        images = stored["images"]
    assert np.array_equal(images[1], images[3]) and not np.array_equal(images[0], images[1])  # seeds 7, 7; 0


@pytest.fixture(scope="module")
def small():
    """The quickest model to export: the tiny classifier."""
    return build_tiny("classifier")


def listing(folder):
    return sorted(path.name for path in pathlib.Path(folder).iterdir())


def test_next_version_overwrite_and_existing_version(small, tmp_path):
    first = exporting.export_model(small, tmp_path, "clf")
    second = exporting.export_model(small, tmp_path, "clf")
    assert (first, second) == (tmp_path / "clf" / "1", tmp_path / "clf" / "2")
    (first / "sentinel").write_text("old export")
    before = (first / "saved_model.pb").read_bytes()
    with pytest.raises(UserError, match="already exists; pass --overwrite"):
        exporting.export_model(small, tmp_path, "clf", version=1)
    assert (first / "sentinel").is_file() and (first / "saved_model.pb").read_bytes() == before
    assert exporting.export_model(small, tmp_path, "clf", version=1, overwrite=True) == first
    assert not (first / "sentinel").exists() and (first / "saved_model.pb").is_file()
    assert listing(tmp_path / "clf") == ["1", "2"]
    assert exporting.export_model(small, tmp_path, "clf", version=7) == tmp_path / "clf" / "7"
    assert exporting.export_model(small, tmp_path, "clf") == tmp_path / "clf" / "8"


def test_a_version_is_written_under_a_name_that_is_not_an_integer(small, tmp_path, monkeypatch):
    import tensorflow as tf

    real_save, seen = tf.saved_model.save, []

    def spying_save(module, path, signatures=None):
        path = pathlib.Path(path)
        seen.append(path)
        assert path.parent == tmp_path / "clf" and path.name.startswith(".") and not path.name.isdigit()
        assert exporting.versions(tmp_path / "clf") == []  # nothing a server would load yet
        real_save(module, str(path), signatures=signatures)

    monkeypatch.setattr(tf.saved_model, "save", spying_save)
    assert exporting.export_model(small, tmp_path, "clf") == tmp_path / "clf" / "1"
    assert len(seen) == 1 and not seen[0].exists() and listing(tmp_path / "clf") == ["1"]


@pytest.mark.parametrize("interruption", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_an_interrupted_export_leaves_nothing_behind(small, tmp_path, monkeypatch, interruption):
    import tensorflow as tf

    def failing_save(module, path, signatures=None):
        (pathlib.Path(path) / "variables").mkdir()
        (pathlib.Path(path) / "saved_model.pb").write_bytes(b"\x08\x01half")  # mid-write
        raise interruption

    monkeypatch.setattr(tf.saved_model, "save", failing_save)
    with pytest.raises(type(interruption)):
        exporting.export_model(small, tmp_path / "base", "clf")
    assert listing(tmp_path / "base") == []


def test_an_interrupted_overwrite_keeps_the_old_version(small, tmp_path, monkeypatch):
    import tensorflow as tf

    old = exporting.export_model(small, tmp_path, "clf")
    (old / "sentinel").write_text("old export")

    def failing_save(module, path, signatures=None):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", failing_save)
    with pytest.raises(RuntimeError):
        exporting.export_model(small, tmp_path, "clf", version=1, overwrite=True)
    assert listing(tmp_path / "clf") == ["1"] and (old / "sentinel").is_file()

    monkeypatch.undo()
    real_rename, renames = os.rename, []

    def failing_second_rename(source, target):  # the new version cannot be renamed in: the old one goes back
        renames.append(target)
        if len(renames) == 2:
            raise OSError(28, "No space left on device")
        real_rename(source, target)

    monkeypatch.setattr(os, "rename", failing_second_rename)
    with pytest.raises(OSError):
        exporting.export_model(small, tmp_path, "clf", version=1, overwrite=True)
    assert listing(tmp_path / "clf") == ["1"] and (old / "sentinel").is_file()


@pytest.mark.parametrize("name", ["vae.mnist", "my-model_2", "A1"])
def test_valid_names(name):
    exporting.check_name(name)


@pytest.mark.parametrize("name", ["", ".hidden", "a/b", "..", "two words", "-x", "a:b"])
def test_invalid_names_are_refused(name):
    with pytest.raises(UserError, match="Invalid model name"):
        exporting.check_name(name)


def invoke(*args):
    return CliRunner().invoke(cli, [str(arg) for arg in args])


@pytest.fixture(scope="module")
def gan_folder(tmp_path_factory):
    """A model folder as `kerasgen train` writes it (weights and card), for a tiny conditional GAN."""
    model = build_tiny("cgan")
    folder = tmp_path_factory.mktemp("runs") / "my gan"
    folder.mkdir()
    model.save_weights(folder / "model.weights.h5")
    config = {key: value for key, value in model.get_config().items() if key not in ("name", "trainable", "dtype")}
    card = {
        "class": "GAN",
        "config": config,
        "data": {"dataset": "mnist", "image_size": model.image_shape[0]},
        "weights": {"file": "model.weights.h5", "sha256": zoo.sha256(folder / "model.weights.h5")},
    }
    (folder / "card.json").write_text(json.dumps(card))
    return folder


def test_cli_exports_versions_prints_docker_and_refuses_to_replace(gan_folder, tmp_path):
    base = tmp_path / "saved_models"
    result = invoke("export", gan_folder, "--base", base)
    assert result.exit_code == 0, result.output
    assert (base / "my_gan" / "1" / "saved_model.pb").is_file()
    volume = shlex.quote(f"{(base / 'my_gan').resolve()}:/models/my_gan")
    assert f"docker run -p 8501:8501 -v {volume} -e MODEL_NAME=my_gan tensorflow/serving" in result.output
    assert invoke("export", gan_folder, "--base", base).exit_code == 0
    assert listing(base / "my_gan") == ["1", "2"]
    (base / "my_gan" / "1" / "sentinel").write_text("keep")
    refused = invoke("export", gan_folder, "--base", base, "--version", "1")
    assert refused.exit_code == 2
    lines = refused.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "--overwrite" in lines[0]
    assert (base / "my_gan" / "1" / "sentinel").is_file()
    replaced = invoke("export", gan_folder, "--base", base, "--version", "1", "--overwrite", "--name", "digits.gan")
    assert replaced.exit_code == 0 and (base / "digits.gan" / "1" / "saved_model.pb").is_file()
    replaced = invoke("export", gan_folder, "--base", base, "--version", "1", "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert not (base / "my_gan" / "1" / "sentinel").exists() and listing(base / "my_gan") == ["1", "2"]


def test_cli_refuses_to_export_weights_that_are_not_finite(gan_folder, tmp_path):
    from test_zoo import named_variable, poisoned_copy

    copy, bad = poisoned_copy(gan_folder, tmp_path / "nan gan", which=0)
    base = tmp_path / "saved_models"
    result = invoke("export", copy, "--base", base)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert named_variable(lines[0][len("Error: ") :], copy / "model.weights.h5", "exporting") == bad
    assert not base.exists()


def test_a_model_in_memory_whose_weights_are_not_finite_is_not_exported(tmp_path):
    model = build_tiny("classifier")
    variable = model.variables[0]
    variable.assign(np.where(np.arange(variable.shape[-1]) == 1, np.inf, variable.numpy()))
    with pytest.raises(UserError, match=re.escape(f"weights are not finite ({variable.path} holds NaN or infinity)")):
        exporting.export_model(model, tmp_path / "base", "clf")
    assert not (tmp_path / "base").exists()
    variable.assign(np.zeros(variable.shape))
    assert exporting.export_model(model, tmp_path / "base", "clf") == tmp_path / "base" / "clf" / "1"


def parse_model_server_config(text):
    """Parse with the field names of TF Serving's ModelServerConfig (model_server_config.proto)."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format

    field = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(name="test_model_server_config.proto", package="test", syntax="proto3")
    config = proto.message_type.add(name="ModelConfig")
    for number, name in ((1, "name"), (2, "base_path"), (4, "model_platform")):
        config.field.add(name=name, number=number, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL)
    config_list = proto.message_type.add(name="ModelConfigList")
    config_list.field.add(
        name="config", number=1, type=field.TYPE_MESSAGE, type_name=".test.ModelConfig", label=field.LABEL_REPEATED
    )
    server = proto.message_type.add(name="ModelServerConfig")
    server.field.add(
        name="model_config_list",
        number=1,
        type=field.TYPE_MESSAGE,
        type_name=".test.ModelConfigList",
        label=field.LABEL_OPTIONAL,
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    message = message_factory.GetMessageClass(pool.FindMessageTypeByName("test.ModelServerConfig"))()
    return text_format.Parse(text, message)


def test_serving_config_names_every_exported_model_and_nothing_else(small, tmp_path):
    base = tmp_path / "saved_models"
    exporting.export_model(small, base, "digits.classifier")
    exporting.export_model(small, base, "b-model", version=3)
    (base / "partial" / "1").mkdir(parents=True)  # a version without saved_model.pb
    (base / "empty").mkdir()
    (base / "stray" / ".tmp-export-x").mkdir(parents=True)
    (base / ".hidden" / "1").mkdir(parents=True)
    (base / ".hidden" / "1" / "saved_model.pb").write_bytes(b"")
    (base / "notes.txt").write_text("not a model")
    (base / "x.weights.h5").write_bytes(b"")
    result = invoke("export", "--serving-config", base / "models.config", "--base", base)
    assert result.exit_code == 0, result.output
    parsed = parse_model_server_config((base / "models.config").read_text())
    assert [(c.name, c.base_path, c.model_platform) for c in parsed.model_config_list.config] == [
        ("b-model", str((base / "b-model").resolve()), "tensorflow"),
        ("digits.classifier", str((base / "digits.classifier").resolve()), "tensorflow"),
    ]
    result = invoke(
        "export", "--serving-config", tmp_path / "in_docker.config", "--base", base, "--config-root", "/models"
    )
    assert result.exit_code == 0, result.output
    parsed = parse_model_server_config((tmp_path / "in_docker.config").read_text())
    assert [c.base_path for c in parsed.model_config_list.config] == ["/models/b-model", "/models/digits.classifier"]


def test_serving_config_quotes_paths():
    assert _quoted('a"b\\c') == '"a\\"b\\\\c"'


@pytest.mark.parametrize(
    "args, message",
    [
        (["export"], "Give a zoo entry or model folder"),
        (["export", "vae.mnsit"], "Did you mean 'vae.mnist'"),
        (["export", "FOLDER", "--name", "a/b"], "Invalid model name"),
        (["export", "FOLDER", "--version", "0"], "--version"),
        (["export", "FOLDER", "--base", "A_FILE"], "is a file"),
        (["export", "--serving-config", "EMPTY/models.config", "--base", "EMPTY"], "No exported models"),
        (["export", "--serving-config", "EMPTY/models.config", "--base", "EMPTY/none"], "is not a folder"),
        (["export", "--serving-config", "EMPTY/models.config", "--version", "2"], "need a zoo entry or model folder"),
        (["export", "FOLDER", "--max-request-pixels", "0"], "--max-request-pixels"),
    ],
)
def test_user_mistakes_print_one_line_and_exit_2(args, message, gan_folder, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "a_file").write_text("")
    names = {"FOLDER": str(gan_folder), "A_FILE": str(tmp_path / "a_file")}
    args = [names.get(arg, arg.replace("EMPTY", str(tmp_path / "empty"))) for arg in args]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], result.output
    assert listing(tmp_path / "empty") == []


def test_export_help_does_not_import_tensorflow():
    script = (
        "import sys\n"
        "from kerasgen.cli import cli\n"
        "try:\n"
        "    cli.main(['export', '--help'], prog_name='kerasgen', standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "print([m for m in ('tensorflow', 'keras') if m in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "--serving-config" in result.stdout and result.stdout.strip().splitlines()[-1] == "[]"
