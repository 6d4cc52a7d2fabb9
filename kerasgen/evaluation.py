"""Quality figures for zoo entries and trained model folders: `evaluate(name_or_dir)`.

Every figure is measured on the `test` split of the data a model was trained
on (for MNIST, the 10,000 standard test digits); any choice made from data
(the Parzen window's width) is made on the `validation` split; nothing is
chosen on the test split. What is measured is the model's own business
(`FamilyModel.figures`), written beside it:

* AutoEncoder (`kerasgen.autoencoder.figures`): summed squared error per test
  image (pixels in [0, 1]), beside PCA with as many components fitted on the
  same training split (Hinton and Salakhutdinov 2006).
* VAE (`kerasgen.vae.figures`): test negative ELBO and the importance-weighted
  negative log-likelihood (Burda et al. 2016) with k importance samples, in
  nats, on test digits binarized once with a fixed seed.
* Classifier (`kerasgen.classifier.figures`): test accuracy (per domain for
  `digits`).
* GAN (`kerasgen.gan.figures`): MNIST FID beside its matched floor (5,000
  samples, and 5,000 validation digits, against a fixed, class-stratified
  5,000 of the test digits), the measuring classifier's confidence and class
  shares, conditional accuracy and intra-FID, and the Parzen-window
  log-likelihood.
* CycleGAN (`kerasgen.cyclegan.figures`): cycle reconstruction error; on
  digits, the share of translated test digits that the target domain's
  classifier assigns to the source label, beside the untranslated baseline.

The maths (Frechet distance, Parzen windows) is in `kerasgen.metrics`.

Example:
    >>> from kerasgen import evaluation
    >>> evaluation.evaluate("vae.mnist", samples=100)
    {'negative_elbo': ..., 'iwae_nll': ..., ...}
"""

from kerasgen import zoo
from kerasgen.errors import UserError

CARD_MIN_SAMPLES = 100
"""The fewest importance samples a VAE's likelihood may have to be written into a card."""


def evaluate(name_or_dir, samples=None, test_images=None):
    """The figures of an entry or model folder, measured on the test split of its data.

    Args:
        name_or_dir: a zoo entry's name or a model folder.
        samples: k, importance samples per image for a VAE's likelihood
            (None: the VAE's default, 500). Other families take none.
        test_images: measure on a fixed subset of this many test images
            (None: all of them), e.g. to afford k = 5,000 for a VAE. A
            CycleGAN always measures every test digit.

    Raises:
        UserError: an option the model's family does not use.

    Example:
        >>> evaluate("autoencoder.mnist")["squared_error"]
        >>> evaluate("vae.mnist", samples=5000, test_images=1000)["iwae_nll"]
    """
    if test_images is not None and test_images < 1:
        raise ValueError(f"test_images must be at least 1. Received: test_images={test_images}")
    options = {name: value for name, value in (("samples", samples), ("test_images", test_images)) if value is not None}
    model = zoo.load(name_or_dir)
    for name in options:
        if name not in model.figure_options:
            flag = "--" + name.replace("_", "-")
            raise UserError(f"{flag} does not apply to a {type(model).__name__}: its figures have no {name}.")
    return model.figures(zoo.card(name_or_dir), **options)
