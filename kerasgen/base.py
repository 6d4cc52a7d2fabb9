"""What every family's model is: a `keras.Model` with the methods the rest of kerasgen calls.

Training, evaluation, export, previews and the benchmarks know no family: they
take a model and call the methods below. A family's model class extends
`FamilyModel` and overrides what differs (a GAN's two optimizers, a
CycleGAN's translations); the defaults suit a model trained with one Adam
optimizer on single images.

| method | asked by | returns |
| --- | --- | --- |
| `compile_for_recipe(recipe, jit_compile)` | training | the optimizers' settings, for the card |
| `images_per_step(batch_size)` | training, benchmarks | real images one train step takes |
| `preview(count, seed, images)` | training, `kerasgen sample` | `(images, columns)` of a grid |
| `figures(card, samples, test_images)` | `kerasgen evaluate` | the figures on the test split (a dict) |
| `closing_line(card)` | `kerasgen train` | a last line to print, or None |
| `validation_figure(data_card)` | training with `select_every` | a `ValidationFigure` to pick the epoch by |
| `serving_functions()` | export | `(networks, {signature: tf.function})` |
| `serving_counterpart(count, seed)` | the serving benchmark | `(Keras network, inputs)` of `serving_default` |
| `extra_pictures(folder, name_or_dir)` | publishing an entry | card keys of pictures written beside it |
| `flops_passes` | the FLOP count | `(network attribute, plain passes, taped passes)` per train step |

Example:
    >>> class Denoiser(FamilyModel):
    ...     def figures(self, card, samples=None, test_images=None):
    ...         return {"squared_error": ...}
"""

import dataclasses
import math
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from kerasgen.distribute import reducible_logs, scale_loss_for_replicas
from kerasgen.errors import UserError
from kerasgen.optimizers import optimizer_recipe


@dataclasses.dataclass(frozen=True)
class ValidationFigure:
    """The figure a run picks its published epoch by, measured on a fixed subset of the validation split.

    Attributes:
        name: the figure's name in the card (`validation_fid`, ...).
        lower_is_better: True if smaller values are better.
        measure: computes the figure for the model's current weights.
        definition: what the figure is, in a sentence, for the card.

    Example:
        >>> figure = gan.validation_figure(card["data"])
        >>> figure.name, figure.measure()
        ('validation_fid', 12.3)
    """

    name: str
    lower_is_better: bool
    measure: Callable[[], float]
    definition: str

    def better(self, value, than):
        """Whether `value` beats `than` (None: nothing to beat)."""
        return than is None or (value < than if self.lower_is_better else value > than)


class FamilyModel(keras.Model):
    """The base class of every family's model: Keras's `Model` plus what kerasgen asks of a family.

    Example:
        >>> vae = kerasgen.VAE.from_preset("vae.mnist")
        >>> vae.compile_for_recipe({"learning_rate": 1e-3})
        {'name': 'Adam', 'learning_rate': 0.001, 'beta_1': 0.9, 'beta_2': 0.999, 'epsilon': 1e-07}
    """

    flops_passes = ()
    own_optimizers = ()
    """Names of the optimizers a model keeps itself (a GAN's `d_optimizer` and `g_optimizer`), which `compile`
    takes as keyword arguments; empty for a model trained with Keras's one `optimizer`."""
    recipe_compile_arguments = {}
    """Extra `compile` arguments of `compile_for_recipe` (a classifier's loss and metrics)."""
    figure_options = ("test_images",)
    """The options of `figures` this family uses (`kerasgen.evaluation.evaluate` refuses the others)."""

    def fit(self, x=None, y=None, *args, **kwargs):
        """Keras's `fit`; NumPy images (4-d arrays in `x` or `y`) must be floats in [0, 1], as the losses assume.

        Raises:
            UserError: an image array is uint8 or another integer type, or has values outside [0, 1] (or NaN).
        """
        for array in keras.tree.flatten((x, y)):
            if isinstance(array, np.ndarray) and array.ndim == 4 and array.size:
                check_unit_images(array)
        return super().fit(x, y, *args, **kwargs)

    def build(self, input_shape=None):
        """Marks the model built: a family builds its networks in `__init__` and calls this last.

        Being built lets a reloaded `.keras` file restore the optimizers' state too.
        """

    @classmethod
    def from_preset(cls, name_or_dir):
        """`kerasgen.zoo.load(name_or_dir)`, refused (UserError) if the entry holds another class of model.

        Args:
            name_or_dir: a zoo entry name (`kerasgen.zoo.list()`) or a folder written by `kerasgen train`.

        Example:
            >>> vae = kerasgen.VAE.from_preset("vae.mnist")
        """
        from kerasgen import zoo

        class_name = zoo.card(name_or_dir)["class"]
        if class_name != cls.__name__:
            raise UserError(f"{str(name_or_dir)!r} holds a {class_name}, not a {cls.__name__}.")
        return zoo.load(name_or_dir)

    def get_compile_config(self):
        """Keras's compile config, or the model's own optimizers (None before `compile`, so that an uncompiled
        model saves to `.keras`)."""
        if not self.own_optimizers:
            return super().get_compile_config()
        if not all(hasattr(self, name) for name in self.own_optimizers):
            return None
        return {name: keras.optimizers.serialize(getattr(self, name)) for name in self.own_optimizers}

    def compile_from_config(self, config):
        if not self.own_optimizers:
            return super().compile_from_config(config)
        self.compile(**{name: keras.optimizers.deserialize(value) for name, value in config.items()})

    def compile_for_recipe(self, recipe, jit_compile="auto"):
        """Compile for training as `kerasgen train` does: Adam at the recipe's `learning_rate`, built at once,
        with the class's `recipe_compile_arguments`.

        Building the optimizer now, not at the first step, gives a checkpoint
        the same variables before and after training starts.

        Returns:
            The optimizer's settings as plain data, for the card.
        """
        optimizer = keras.optimizers.Adam(recipe["learning_rate"])
        self.compile(optimizer=optimizer, jit_compile=jit_compile, **self.recipe_compile_arguments)
        self.optimizer.build(self.trainable_variables)
        return optimizer_recipe(optimizer)

    def images_per_step(self, batch_size):
        """Real images one train step takes (a GAN with several discriminator updates takes more)."""
        return batch_size

    def preview(self, count=64, seed=0, images=None):
        """`(images, columns)`: the grid a person wants to see of this model (`images`: real ones to show it)."""
        raise NotImplementedError(f"{type(self).__name__} has no preview.")

    def figures(self, card, samples=None, test_images=None):
        """The model's figures on the test split of the data its `card` names (see `kerasgen.evaluation`)."""
        raise NotImplementedError(f"{type(self).__name__} has no figures.")

    def closing_line(self, card):
        """A line `kerasgen train` prints last, or None."""
        return None

    def validation_figure(self, data_card):
        """The `ValidationFigure` that picks a run's published epoch, on the validation split of `data_card`.

        The family's headline figure, measured on a fixed subset of the
        validation split (never the test split); the data are loaded once,
        here, and `measure()` then costs seconds. Raises `UserError` where the
        family has no such figure or the data has no validation split.
        """
        raise UserError(f"{type(self).__name__} has no validation figure to select an epoch by.")

    def serving_functions(self):
        """`(networks, functions)`: the networks a SavedModel holds and a `tf.function` per signature,
        `serving_default` first (see `kerasgen.export.serving_module`)."""
        raise NotImplementedError(f"{type(self).__name__} cannot be served.")

    def serving_counterpart(self, count, seed=0):
        """The Keras network `serving_default` computes and `count` inputs for it (the serving benchmark).

        By default the model itself on random images in [0, 1].
        """
        rng = np.random.default_rng(seed)
        return self, rng.random((count, *self.image_shape), dtype=np.float32)

    def extra_pictures(self, folder, name_or_dir="NAME"):
        """Write pictures a published entry shows besides its sample grid into `folder`; returns their card keys."""
        return {}


class ReconstructionSteps:
    """`train_step` and `test_step` of a model trained on one summed loss with one optimizer.

    The model's `batch_losses(images, training)` returns its loss first, then
    any other figures, in the order of its `metrics` (one tracker each).
    """

    def train_step(self, data):
        images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            values = self.batch_losses(images, training=True)
            scaled_loss = self.optimizer.scale_loss(scale_loss_for_replicas(values[0]))
        gradients = tape.gradient(scaled_loss, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        return self.tracked(values)

    def test_step(self, data):
        images, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self.tracked(self.batch_losses(images, training=False))

    def tracked(self, values):
        for tracker, value in zip(self.metrics, values, strict=True):
            tracker.update_state(value)
        return reducible_logs({tracker.name: tracker.result() for tracker in self.metrics})


def check_unit_images(images):
    """A one-line `UserError` unless `images` are floats in [0, 1] (uint8 would train on 0-255 values)."""
    if images.dtype.kind != "f":
        raise UserError(
            f"fit takes images as floats in [0, 1]; got {images.dtype}. Divide uint8 images by 255 "
            "(kerasgen.data.to_unit_range), or fit on kerasgen.data.make_dataset, which does."
        )
    low, high = float(np.min(images)), float(np.max(images))
    if not 0 <= low <= high <= 1:
        raise UserError(f"fit takes images in [0, 1]; these span [{low:.4g}, {high:.4g}].")


def sample_grid(model, count=64, seed=0):
    """`count` of `model.sample`'s images from a fixed seed; a conditional model gets a column per class."""
    classes = getattr(model, "num_classes", 0)
    if classes:
        count = math.ceil(count / classes) * classes
    return np.asarray(model.sample(count, seed=seed)), classes or None
