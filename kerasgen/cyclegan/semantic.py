"""Semantic consistency (CyCADA, Hoffman et al. 2018, eq. 4): translations keep what a frozen classifier sees.

With a `semantic_classifier` (a zoo entry name or a model folder of a
`kerasgen.classifier.Classifier`) and `lambda_semantic` > 0, the generators
also minimize `lambda_semantic` times CE(f(G(a)), argmax f(a)) +
CE(f(F(b)), argmax f(b)), where f is that classifier, loaded at construction
and frozen (not trainable, called with `training=False`; no optimizer
touches it). The pseudo-labels are the classifier's own predictions on the
untranslated images, as in eq. 4: the training data carries no labels.
Images go to the classifier converted from [-1, 1] to [0, 1] and, if its
input size differs, resized (antialiased bilinear, as matrix products that
XLA compiles); the cross-entropy is computed in float32 and logged as
`semantic_loss`.

Which classifier: eq. 4 as written uses a classifier of the source domain
only, which must then label translated target-style images it never saw. A
classifier trained on the labelled training digits of both domains
(`kerasgen train classifier --data digits --image-size 32`, the entry
`classifier.digits`) reads both sides; the README's CycleGAN section gives
the measured comparison. CyCADA's released code trains the classifier
jointly and uses the true source labels; kerasgen implements eq. 4 with a
frozen classifier and pseudo-labels on both sides, so no labels are needed.
Never measure the result with the semantic classifier:
`kerasgen.cyclegan.figures.check_judges` refuses it.

Example:
    >>> model = CycleGAN(image_shape=(32, 32, 1), semantic_classifier="classifier.digits")
    >>> model.uses_semantic_loss
    True
"""

import pathlib

import keras
import numpy as np
from keras import ops

from kerasgen.networks import in_one_call


def resize_matrix(source, target):
    """The (target, source) matrix of TensorFlow's antialiased bilinear resize along one axis.

    `tf.image.resize(..., antialias=True)` is linear and separable, so it is
    `matrix_h @ image @ matrix_w.T` per channel; written as matrix products it
    also compiles with XLA, which has no kernel for the antialiased resize.

    Example:
        >>> resize_matrix(32, 28).shape
        (28, 32)
    """
    import tensorflow as tf

    basis = np.eye(source, dtype=np.float32)[:, :, None, None]  # one image per source row
    rows = tf.image.resize(basis, (target, 1), method="bilinear", antialias=True)
    return np.asarray(rows)[:, :, 0, 0].T.copy()


class SemanticConsistency:
    """The semantic-consistency term of a `CycleGAN` (a mixin: it reads the model's `semantic_classifier`,
    `lambda_semantic` and `image_shape`)."""

    def set_semantic_classifier(self, semantic_classifier, lambda_semantic):
        """Check and keep the term's settings; a folder is kept as an absolute path, loadable from anywhere."""
        if lambda_semantic < 0:
            raise ValueError(f"lambda_semantic must be non-negative. Received: lambda_semantic={lambda_semantic}")
        if semantic_classifier is not None and not isinstance(semantic_classifier, (str, pathlib.PurePath)):
            raise ValueError(
                "semantic_classifier must be a zoo entry name or a model folder. "
                f"Received: semantic_classifier={semantic_classifier!r}"
            )
        if semantic_classifier is not None and pathlib.Path(semantic_classifier).is_dir():
            semantic_classifier = pathlib.Path(semantic_classifier).resolve()
        self.semantic_classifier = None if semantic_classifier is None else str(semantic_classifier)
        self.lambda_semantic = lambda_semantic

    @property
    def uses_semantic_loss(self):
        """Whether the generators' objective has the semantic-consistency term."""
        return self.semantic_classifier is not None and self.lambda_semantic > 0

    def _load_semantic_classifier(self):
        from kerasgen import zoo
        from kerasgen.classifier.model import Classifier

        classifier = zoo.load(self.semantic_classifier)
        if not isinstance(classifier, Classifier):
            raise ValueError(
                f"semantic_classifier must be a Classifier; {self.semantic_classifier!r} is a "
                f"{type(classifier).__name__}."
            )
        if classifier.image_shape[2] != self.image_shape[2]:
            raise ValueError(
                f"The semantic classifier takes {classifier.image_shape[2]}-channel images; this CycleGAN's have "
                f"{self.image_shape[2]}. Received: semantic_classifier={self.semantic_classifier!r}"
            )
        classifier.trainable = False
        height, width = classifier.image_shape[:2]
        self._semantic_resize = None
        if (height, width) != self.image_shape[:2]:
            self._semantic_resize = (
                resize_matrix(self.image_shape[0], height),
                resize_matrix(self.image_shape[1], width),
            )
        return classifier

    def _semantic_probabilities(self, images):
        """The frozen semantic classifier's float32 probabilities for images in [-1, 1]."""
        images = (ops.cast(images, "float32") + 1.0) / 2.0
        if self._semantic_resize is not None:
            rows, columns = self._semantic_resize
            images = ops.einsum("oh,bhwc,pw->bopc", rows, images, columns)
        return ops.cast(self.semantic_network(images, training=False), "float32")

    def _semantic_loss(self, fake_a, fake_b, labels_a, labels_b):
        """CyCADA's eq. 4: CE(f(G(a)), argmax f(a)) + CE(f(F(b)), argmax f(b)); 0 without the term."""
        if not self.uses_semantic_loss:
            return ops.zeros(())
        probabilities = in_one_call(self._semantic_probabilities, fake_b, fake_a)
        return sum(
            ops.mean(keras.losses.sparse_categorical_crossentropy(labels, predicted))
            for labels, predicted in zip((labels_a, labels_b), probabilities, strict=True)
        )

    def _pseudo_labels(self, real_a, real_b):
        if not self.uses_semantic_loss:
            return None, None
        probabilities = in_one_call(self._semantic_probabilities, real_a, real_b)
        return tuple(ops.stop_gradient(ops.argmax(predicted, axis=-1)) for predicted in probabilities)
