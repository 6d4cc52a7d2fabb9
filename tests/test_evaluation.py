import keras
import numpy as np
import pytest
from scipy.special import logsumexp

from kerasgen import evaluation
from kerasgen.autoencoder import AutoEncoder
from kerasgen.vae import VAE

EPOCHS = 60


@pytest.fixture(scope="module")
def one_d_vae():
    """A VAE with a 1-d latent, trained a few steps, so log p(x) can be integrated on a grid."""
    from kerasgen import data

    keras.utils.set_random_seed(0)
    images, _ = data.load_images("mnist", "train", size=16)
    images = data.to_unit_range(images[:64])
    model = VAE(image_shape=(16, 16, 1), latent_dim=1, hidden_units=(32,))
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(images, batch_size=32, epochs=EPOCHS, verbose=0)
    return model, images[:6]


def exact_nll(model, targets):
    """-log p(x) by quadrature over z on [-10, 10]."""
    grid = np.linspace(-10, 10, 4001, dtype=np.float32)
    logits = np.asarray(model.decoder(grid[:, None])).reshape(len(grid), -1)
    log_prior = -0.5 * grid**2 - 0.5 * np.log(2 * np.pi)
    flat = targets.reshape(len(targets), -1)
    log_likelihood = flat @ (-np.logaddexp(0, -logits)).T + (1 - flat) @ (-np.logaddexp(0, logits)).T
    return -(logsumexp(log_likelihood + log_prior, axis=1) + np.log(grid[1] - grid[0]))


def test_importance_weighted_nll_matches_numerical_integration(one_d_vae):
    model, images = one_d_vae
    exact = exact_nll(model, evaluation.binarize(images)).mean()
    figures = evaluation.vae_figures(model, images, samples=2000, batch_size=3)
    assert figures["iwae_nll"] == pytest.approx(exact, abs=0.2)
    assert figures["negative_elbo"] > exact - 0.05
    one_sample = evaluation.vae_figures(model, images, samples=1)
    assert one_sample["iwae_nll"] == pytest.approx(one_sample["negative_elbo"], abs=0.01)


def test_autoencoder_figures_compare_with_pca(batch16):
    keras.utils.set_random_seed(0)
    model = AutoEncoder(image_shape=(16, 16, 1), latent_dim=3, hidden_units=(16,))
    figures = evaluation.autoencoder_figures(model, batch16, batch16)
    expected = np.mean(np.sum((batch16 - model.predict(batch16, verbose=0)) ** 2, axis=(1, 2, 3)))
    assert figures["squared_error"] == pytest.approx(expected, abs=1e-3)
    assert 0 <= figures["pca_squared_error"] < figures["squared_error"]
    assert figures["heldout_images"] == 8
