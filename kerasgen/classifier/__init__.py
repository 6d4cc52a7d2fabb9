"""The digit classifier family: the networks the zoo measures generated and translated digits with.

This module is the family's TensorFlow-free spec; the model is `kerasgen.classifier.model.Classifier`,
imported on first use of `kerasgen.classifier.Classifier`.

Example:
    >>> from kerasgen.classifier import Classifier
    >>> judge = Classifier.from_preset("classifier.mnist")
"""

from kerasgen.families import IMAGES, Family, Option, lazy_classes, mnist_recipe, register

FAMILY = register(
    Family(
        name="classifier",
        model="kerasgen.classifier.model:Classifier",
        data=IMAGES,
        summary="Train the digit classifier the zoo measures generated digits with.",
        paper="LeCun et al. 1998, Gradient-Based Learning Applied to Document Recognition",
        headline=("accuracy", "test accuracy"),
        recipe=mnist_recipe(epochs=15, max_shift=2),
        options=(
            Option("filters", "Filters per convolution block.", kind="widths", default=(32, 64)),
            Option("feature_units", "Width of the feature layer.", minimum=1, default=128),
        ),
        labels="always",
        benchmark_cases={"classifier": "classifier.mnist"},
    )
)

__getattr__ = lazy_classes(__name__, {"Classifier": "model"})
