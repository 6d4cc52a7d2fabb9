"""The variational autoencoder family (Kingma and Welling 2014), with beta.

This module is the family's TensorFlow-free spec; the model is `kerasgen.vae.model.VAE`,
imported on first use of `kerasgen.vae.VAE`.

Example:
    >>> from kerasgen.vae import VAE
    >>> vae = VAE.from_preset("vae.mnist")
"""

from kerasgen.families import IMAGES, Family, Option, convolutional_options, lazy_classes, mnist_recipe, register

FAMILY = register(
    Family(
        name="vae",
        model="kerasgen.vae.model:VAE",
        data=IMAGES,
        summary="Train a variational autoencoder on binarized digits.",
        paper="Kingma and Welling 2014, Auto-Encoding Variational Bayes",
        headline=("iwae_nll", "NLL on the test set (nats)"),
        recipe=mnist_recipe(epochs=20),
        options=(
            *convolutional_options(latent_dim=32),
            Option("beta", "Weight of the KL term (1: VAE; others: beta-VAE).", "float", minimum=0, default=1.0),
        ),
        benchmark_cases={"vae": "vae.mnist"},
    )
)

__getattr__ = lazy_classes(__name__, {"VAE": "model", "Sampling": "model", "kl_to_unit_gaussian": "model"})
