"""The AutoEncoder family: an encoder to a small code and a decoder back (Hinton and Salakhutdinov 2006).

This module is the family's TensorFlow-free spec; the model is `kerasgen.autoencoder.model.AutoEncoder`,
imported on first use of `kerasgen.autoencoder.AutoEncoder`.

Example:
    >>> from kerasgen.autoencoder import AutoEncoder
    >>> model = AutoEncoder(latent_dim=30)
"""

from kerasgen.families import IMAGES, Family, Option, convolutional_options, lazy_classes, mnist_recipe, register

FAMILY = register(
    Family(
        name="autoencoder",
        model="kerasgen.autoencoder.model:AutoEncoder",
        data=IMAGES,
        summary="Train an AutoEncoder (default: 30-d code, on the embedded MNIST digits).",
        paper="Hinton and Salakhutdinov 2006, Reducing the Dimensionality of Data with Neural Networks",
        headline=("squared_error", "test squared error / image"),
        recipe=mnist_recipe(epochs=20, max_shift=2),
        options=(
            *convolutional_options(latent_dim=30),
            Option(
                "reconstruction_loss",
                "Reconstruction loss.",
                kind="choice",
                choices=("binary_crossentropy", "squared_error"),
                flag="loss",
                default="binary_crossentropy",
            ),
        ),
        benchmark_cases={"autoencoder": "autoencoder.mnist"},
    )
)

__getattr__ = lazy_classes(__name__, {"AutoEncoder": "model"})
