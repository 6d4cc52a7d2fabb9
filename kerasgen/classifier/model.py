"""A small convolutional digit classifier: the measuring instrument for generated digits."""

import keras
import numpy as np
from keras import ops

from kerasgen.base import FamilyModel
from kerasgen.distribute import draw_for_replica_batch, num_replicas, reducible_logs
from kerasgen.errors import UserError
from kerasgen.networks import OUTPUT_DTYPE


@keras.saving.register_keras_serializable(package="kerasgen")
class GlobalBatchDropout(keras.layers.Dropout):
    """`keras.layers.Dropout` whose mask, under a distribution strategy, is cut from one global-batch mask.

    Keras's dropout draws the same mask on every replica (the seed state is
    mirrored). This layer has each replica take its rows of one mask drawn
    for the global batch, so replicas drop different units and training
    drops what it would on one device. With one replica it is Keras's
    dropout, number for number.

    Example:
        >>> dropped = GlobalBatchDropout(0.4, seed=0)(features, training=True)
    """

    def call(self, inputs, training=False):
        if not training or not self.rate or self.noise_shape is not None or num_replicas() == 1:
            return super().call(inputs, training=training)
        noise = draw_for_replica_batch(
            lambda shape: keras.random.uniform(shape, seed=self.seed_generator, dtype=inputs.dtype), ops.shape(inputs)
        )
        return inputs * (1.0 / (1.0 - self.rate)) * ops.cast(noise >= self.rate, inputs.dtype)


@keras.saving.register_keras_serializable(package="kerasgen")
class Classifier(FamilyModel):
    """Conv-pool blocks, a dense feature layer, a softmax over classes.

    Besides labels, it gives the penultimate features in which the zoo
    measures the Frechet distance of generated digits to real ones
    ("MNIST FID"), and the confidence and class of generated or translated
    digits. It trains with the usual `compile`/`fit` on `(images, labels)`
    batches, images in [0, 1]. Under a distribution strategy Keras's own
    `train_step` scales the loss by the global batch; the dropout masks of the
    replicas are cut from one global-batch mask (`GlobalBatchDropout`).

    Under a mixed dtype policy the convolutions and the feature layer compute
    in bfloat16 or float16; the softmax layer computes in float32, so
    probabilities and the loss are float32, and `features` returns float32.
    Under `mixed_float16`, Keras's `compile` wraps the optimizer in a
    `keras.optimizers.LossScaleOptimizer` and its `train_step` scales the loss.

    Args:
        image_shape: `(height, width, channels)` of the images.
        num_classes: number of labels.
        filters: filters of the convolution blocks (each block: two 3x3
            convolutions and a 2x2 max pooling).
        feature_units: width of the penultimate (feature) layer.
        dropout: dropout rate before the last layer.

    Example:
        >>> classifier = Classifier()
        >>> classifier.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        >>> images, labels = kerasgen.data.load_images("mnist", "train")
        >>> classifier.fit(kerasgen.data.make_dataset(images, 128, labels=labels), epochs=10)
        >>> probabilities = classifier.predict(test_images)
    """

    def __init__(
        self, image_shape=(28, 28, 1), num_classes=10, filters=(32, 64), feature_units=128, dropout=0.4, **kwargs
    ):
        super().__init__(**kwargs)
        self.image_shape = tuple(image_shape)
        self.num_classes = num_classes
        self.filters = tuple(filters)
        self.feature_units = feature_units
        self.dropout = dropout
        layers = [keras.Input(shape=self.image_shape)]
        for width in self.filters:
            layers += [
                keras.layers.Conv2D(width, 3, padding="same", activation="relu"),
                keras.layers.Conv2D(width, 3, padding="same", activation="relu"),
                keras.layers.MaxPooling2D(),
            ]
        layers += [keras.layers.Flatten(), keras.layers.Dense(feature_units, activation="relu")]
        self.feature_network = keras.Sequential(layers, name="features")
        self.dropout_layer = GlobalBatchDropout(dropout)
        self.output_layer = keras.layers.Dense(
            num_classes, activation="softmax", name="probabilities", dtype=OUTPUT_DTYPE
        )
        self.build((None, *self.image_shape))

    flops_passes = (("feature_network", 0, 1), ("output_layer", 0, 1))
    recipe_compile_arguments = {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}

    def build(self, input_shape):
        self.output_layer.build((None, self.feature_units))
        keras.Model.build(self, input_shape)  # Keras's own, not FamilyModel's mark-only build

    def call(self, images, training=False):
        """Class probabilities of images in [0, 1]."""
        return self.output_layer(self.dropout_layer(self.feature_network(images, training=training), training=training))

    def train_step(self, data):
        return reducible_logs(super().train_step(data))

    def test_step(self, data):
        return reducible_logs(super().test_step(data))

    def features(self, images, batch_size=500):
        """Penultimate-layer features of images in [0, 1], as a float32 numpy array (under every dtype policy).

        Example:
            >>> classifier.features(images).shape
            (len(images), 128)
        """
        return np.asarray(self.feature_network.predict(images, batch_size=batch_size, verbose=0), np.float32)

    def get_config(self):
        config = super().get_config()
        config.update(
            image_shape=self.image_shape,
            num_classes=self.num_classes,
            filters=self.filters,
            feature_units=self.feature_units,
            dropout=self.dropout,
        )
        return config

    def preview(self, count=64, seed=0, images=None, columns=8):
        """A row per class holding up to `columns` of `images` the classifier assigns to it; empty cells black."""
        predicted = np.argmax(np.asarray(self(images, training=False)), axis=-1)  # not predict: no cross-worker step
        cells = np.zeros((self.num_classes * columns, *images.shape[1:]), np.float32)
        for label in range(self.num_classes):
            chosen = images[predicted == label][:columns]
            cells[label * columns : label * columns + len(chosen)] = chosen
        return cells, columns

    def figures(self, card, samples=None, test_images=None):
        """Test accuracy on the card's test digits (both domains and each one for `digits`)."""
        from kerasgen import data
        from kerasgen.classifier.figures import classifier_figures, digits_classifier_figures

        if card["data"]["dataset"] == "digits":
            if test_images is not None:
                raise UserError(
                    "--test-images does not apply to a classifier of both digit domains: "
                    "its figures read every test digit of each (a few seconds)."
                )
            return digits_classifier_figures(self, card["data"]["image_size"])
        return classifier_figures(self, *data.card_test_split(card, test_images))

    def serving_functions(self):
        """What a SavedModel of a Classifier serves: `classify` (default) and `features`."""
        import tensorflow as tf

        from kerasgen.export.signatures import spec

        feature_network, output_layer = self.feature_network, self.output_layer
        images_spec = spec(self.image_shape, tf.float32, "images")

        @tf.function(input_signature=[images_spec])
        def classify(images):
            probabilities = output_layer(feature_network(images, training=False))
            return {"probabilities": probabilities, "labels": tf.argmax(probabilities, axis=-1, output_type=tf.int32)}

        @tf.function(input_signature=[images_spec])
        def features(images):
            return {"features": feature_network(images, training=False)}

        return (feature_network, output_layer), {
            "serving_default": classify,
            "classify": classify,
            "features": features,
        }
