import keras
import numpy as np
import pytest
from scipy.special import logsumexp

from kerasgen import metrics
from kerasgen.autoencoder import AutoEncoder
from kerasgen.autoencoder.figures import reconstruction_figures
from kerasgen.gan.figures import gan_figures
from kerasgen.vae import VAE
from kerasgen.vae import figures as vae_figures_module

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
    exact = exact_nll(model, vae_figures_module.binarize(images)).mean()
    figures = vae_figures_module.vae_figures(model, images, samples=2000, batch_size=3, chunk_size=300)
    assert figures["iwae_nll"] == pytest.approx(exact, abs=0.2)
    assert figures["negative_elbo"] > exact - 0.05
    one_sample = vae_figures_module.vae_figures(model, images, samples=1)
    assert one_sample["iwae_nll"] == pytest.approx(one_sample["negative_elbo"], abs=0.01)


def test_importance_samples_in_chunks_agree_with_one_pass(one_d_vae):
    model, images = one_d_vae
    whole = vae_figures_module.vae_figures(model, images, samples=60, batch_size=6, chunk_size=60)
    for chunk_size in (7, 30):  # 8 passes, the last of 4 samples; 2 passes
        chunked = vae_figures_module.vae_figures(model, images, samples=60, batch_size=6, chunk_size=chunk_size)
        assert chunked["iwae_nll"] == pytest.approx(whole["iwae_nll"], abs=0.011)
        assert chunked["negative_elbo"] == pytest.approx(whole["negative_elbo"], abs=0.011)
    assert whole["importance_samples"] == 60 and whole["test_images"] == 6
    with pytest.raises(ValueError, match="chunk_size"):
        vae_figures_module.vae_figures(model, images, chunk_size=0)


def test_autoencoder_figures_compare_with_pca(batch16):
    keras.utils.set_random_seed(0)
    model = AutoEncoder(image_shape=(16, 16, 1), latent_dim=3, hidden_units=(16,))
    figures = reconstruction_figures(model, batch16, batch16)
    expected = np.mean(np.sum((batch16 - model.predict(batch16, verbose=0)) ** 2, axis=(1, 2, 3)))
    assert figures["squared_error"] == pytest.approx(expected, abs=1e-3)
    assert 0 <= figures["pca_squared_error"] < figures["squared_error"]
    assert figures["test_images"] == 8


def test_frechet_distance_of_a_set_with_itself_is_zero_and_grows_with_noise():
    features = np.random.default_rng(0).normal(size=(2000, 16)) @ np.random.default_rng(1).normal(size=(16, 16))
    assert abs(metrics.frechet_distance(features, features)) < 1e-6
    noise = np.random.default_rng(2).normal(size=features.shape)
    distances = [metrics.frechet_distance(features, features + scale * noise) for scale in (0.1, 0.5, 1.0, 2.0)]
    assert distances[0] > 1e-3 and all(a < b for a, b in zip(distances, distances[1:], strict=False))


def test_frechet_distance_matches_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 1.0, size=(200_000, 2))
    b = rng.normal(1.0, 2.0, size=(200_000, 2))
    # |mu_a - mu_b|^2 + sum (s_a - s_b)^2 = 2 * 1 + 2 * 1
    assert abs(metrics.frechet_distance(a, b) - 4.0) < 0.05


def test_parzen_window_matches_a_direct_gaussian_mixture():
    rng = np.random.default_rng(0)
    samples, targets = rng.random((50, 5)), rng.random((7, 5))
    sigma = 0.3
    log_kernels = -np.sum((targets[:, None] - samples[None]) ** 2, axis=-1) / (2 * sigma**2)
    expected = logsumexp(log_kernels, axis=1) - np.log(50) - 2.5 * np.log(2 * np.pi * sigma**2)
    actual = metrics.parzen_log_likelihoods(samples, targets, [sigma], batch_size=3)[0]
    np.testing.assert_allclose(actual, expected, rtol=1e-9)


def test_parzen_protocol_chooses_sigma_on_validation_and_measures_test():
    rng = np.random.default_rng(0)
    samples, validation, test = rng.random((50, 5)), rng.random((7, 5)), rng.random((9, 5))
    sigmas = (0.05, 0.2, 0.3, 1.0)

    def direct(targets, sigma):  # log of the mean of 50 Gaussian densities, one per sample
        log_kernels = -np.sum((targets[:, None] - samples[None]) ** 2, axis=-1) / (2 * sigma**2)
        return logsumexp(log_kernels, axis=1) - np.log(50) - 2.5 * np.log(2 * np.pi * sigma**2)

    best = max(sigmas, key=lambda sigma: direct(validation, sigma).mean())
    mean, error, sigma = metrics.parzen_figures(samples, validation, test, sigmas)
    assert sigma == best
    assert mean == pytest.approx(direct(test, best).mean(), rel=1e-9)
    assert error == pytest.approx(direct(test, best).std() / 3, rel=1e-9)
    # The test digits never choose: far-off test points leave sigma as the validation digits chose it.
    assert metrics.parzen_figures(samples, validation, test + 5, sigmas)[2] == best


def block_features(images):
    """Pixel features of 28x28 digits: means of 4x4 blocks (49 per digit), in [0, 1]."""
    return images[..., 0].reshape(len(images), 7, 4, 7, 4).mean(axis=(2, 4)).reshape(len(images), -1) / 255


def test_fid_floor_uses_as_many_digits_as_the_samples_and_real_digits_score_near_it():
    from kerasgen import data

    train, _ = data.load_mnist("train")
    test, _ = data.load_mnist("test")
    count = 2000
    copied = block_features(train[-count:])  # a "model" that returns real training digits, disjoint from the floor's
    fid, floor, used = metrics.matched_fid(copied, block_features(train[:count]), block_features(test))
    assert used == count
    assert 0.5 < fid / floor < 2, (fid, floor)  # near the floor ...
    assert fid > 0.01 and metrics.frechet_distance(copied, copied) < 1e-9  # ... not near zero
    smaller, smaller_floor, used = metrics.matched_fid(copied[:500], block_features(train), block_features(test))
    assert used == 500 and smaller > fid and smaller_floor > 0


def test_label_fids_single_out_a_label_collapsed_into_one_pattern():
    from kerasgen import data

    train, train_labels = data.load_mnist("train")
    test, test_labels = data.load_mnist("test")
    # A "model" that returns real training digits (disjoint from the floors' digits) of the requested class,
    # except that every 6 it makes is the same 6, lightly blurred apart: a classifier would still call them 6s.
    generated, requested = train[-3000:].astype(np.float32), train_labels[-3000:]
    sixes = np.flatnonzero(requested == 6)
    noise = np.random.default_rng(0).normal(0, 2, (len(sixes),) + generated.shape[1:])
    generated[sixes] = generated[sixes[0]] + noise
    fids, floors = metrics.label_fids(
        block_features(generated),
        requested,
        block_features(train[:3000]),
        train_labels[:3000],
        block_features(test),
        test_labels,
    )
    ratios = fids / floors
    assert len(fids) == 10 and np.all(floors > 0)
    assert np.argmax(ratios) == 6 and ratios[6] > 10, ratios
    assert np.all(np.delete(ratios, 6) < 3), ratios


def test_gan_figures_with_a_tiny_gan_and_classifier():
    from kerasgen import data
    from kerasgen.classifier import Classifier
    from kerasgen.gan import GAN

    keras.utils.set_random_seed(0)
    gan = GAN(
        image_shape=(16, 16, 1), latent_dim=4, num_classes=10, generator_filters=(8, 4), discriminator_filters=(4,)
    )
    classifier = Classifier(image_shape=(16, 16, 1), filters=(4,), feature_units=8)
    images = data.to_unit_range(data.load_images("mnist", "validation", 16)[0][:120])
    train, validation, test = images[:64], images[64:88], images[88:]
    figures = gan_figures(gan, classifier, train, validation, test, count=40)
    assert len(figures["class_shares"]) == 10 and abs(sum(figures["class_shares"]) - 1) < 1e-3
    assert 0.1 <= figures["mean_confidence"] <= 1 and 0 <= figures["conditional_accuracy"] <= 1
    assert figures["fid"] > 0 and figures["fid_floor"] > 0 and np.isfinite(figures["parzen_log_likelihood"])
    assert figures["fid_images"] == 32 and figures["test_images"] == 32 and figures["validation_images"] == 24
    assert figures["parzen_sigma"] in [round(float(sigma), 4) for sigma in metrics.PARZEN_SIGMAS]
    assert "intra_fid" not in figures  # no labels given


def test_conditional_gan_figures_carry_an_fid_per_label():
    from kerasgen import data
    from kerasgen.classifier import Classifier
    from kerasgen.gan import GAN

    keras.utils.set_random_seed(0)
    gan = GAN(
        image_shape=(16, 16, 1), latent_dim=4, num_classes=10, generator_filters=(8, 4), discriminator_filters=(4,)
    )
    classifier = Classifier(image_shape=(16, 16, 1), filters=(4,), feature_units=8)
    images, labels = data.load_images("mnist", "validation", 16)
    images = data.to_unit_range(images)
    train, validation, test = images[:400], images[400:450], images[450:750]
    train_labels, test_labels = labels[:400], labels[450:750]
    figures = gan_figures(
        gan, classifier, train, validation, test, count=300, train_labels=train_labels, test_labels=test_labels
    )
    assert len(figures["label_fids"]) == len(figures["label_fid_floors"]) == 10
    assert min(figures["label_fids"]) > 0 and min(figures["label_fid_floors"]) > 0
    assert figures["intra_fid"] == pytest.approx(np.mean(figures["label_fids"]), abs=1e-3)
    ratios = np.array(figures["label_fids"]) / np.array(figures["label_fid_floors"])
    assert figures["worst_label"] == int(np.argmax(ratios))
    # Too few digits of some class for a Frechet distance: the per-label figures are left out, not guessed.
    few = gan_figures(
        gan,
        classifier,
        train[:30],
        validation,
        test[:30],
        count=10,  # one sample per label
        train_labels=train_labels[:30],
        test_labels=test_labels[:30],
    )
    assert "intra_fid" not in few and "fid" in few
