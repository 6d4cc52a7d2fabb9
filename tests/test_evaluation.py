import keras
import numpy as np
import pytest
from scipy.special import logsumexp

from kerasgen import metrics
from kerasgen.autoencoder import AutoEncoder
from kerasgen.autoencoder.figures import reconstruction_figures
from kerasgen.gan import figures as gan_figures_module
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
    # ... not near zero; a set against itself is zero up to the square roots of rounding-sized eigenvalues (~1e-9)
    assert fid > 0.01 and metrics.frechet_distance(copied, copied) < 1e-6
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
    fids, floors, counts = metrics.label_fids(
        block_features(generated),
        requested,
        block_features(train[:3000]),
        train_labels[:3000],
        block_features(test),
        test_labels,
    )
    ratios = fids / floors
    assert len(fids) == 10 and np.all(floors > 0)
    assert np.all(counts == np.minimum(np.bincount(train_labels[:3000]), np.bincount(requested)))
    assert np.argmax(ratios) == 6 and ratios[6] > 10, ratios
    assert np.all(np.delete(ratios, 6) < 3), ratios


def tiny_models(num_classes=10):
    """A tiny GAN of 16x16 digits and a tiny classifier to measure it, both untrained, seeded."""
    from kerasgen.classifier import Classifier
    from kerasgen.gan import GAN

    keras.utils.set_random_seed(0)
    gan = GAN(
        image_shape=(16, 16, 1),
        latent_dim=4,
        num_classes=num_classes,
        generator_filters=(8, 4),
        discriminator_filters=(4,),
    )
    return gan, Classifier(image_shape=(16, 16, 1), filters=(4,), feature_units=8)


def test_gan_figures_with_a_tiny_gan_and_classifier():
    from kerasgen import data

    gan, classifier = tiny_models()
    images = data.to_unit_range(data.load_images("mnist", "validation", 16)[0][:120])
    validation, test = images[64:88], images[88:]
    figures = gan_figures(gan, classifier, validation, test, count=40)
    assert len(figures["class_shares"]) == 10 and abs(sum(figures["class_shares"]) - 1) < 1e-3
    assert 0.1 <= figures["mean_confidence"] <= 1 and 0 <= figures["conditional_accuracy"] <= 1
    assert figures["fid"] > 0 and figures["fid_floor"] > 0 and np.isfinite(figures["parzen_log_likelihood"])
    assert figures["fid_images"] == 24 and figures["test_images"] == 32 and figures["validation_images"] == 24
    assert figures["parzen_sigma"] in [round(float(sigma), 4) for sigma in metrics.PARZEN_SIGMAS]
    assert "intra_fid" not in figures and "fid_test_subset_class_counts" not in figures  # no labels given
    assert len(figures["fid_test_subset_sha256"]) == 64


def test_parzen_ceiling_scores_real_training_digits_by_the_same_protocol():
    from kerasgen import data

    gan, classifier = tiny_models()
    images = data.to_unit_range(data.load_images("mnist", "validation", 16)[0][:160])
    validation, test, training_digits = images[64:88], images[88:120], images[120:]
    figures = gan_figures(gan, classifier, validation, test, count=40, training_digits=training_digits)
    ceiling, error, sigma = metrics.parzen_figures(training_digits, validation, test)
    assert figures["parzen_ceiling"] == round(ceiling, 1) and figures["parzen_ceiling_sigma"] == round(sigma, 4)
    assert figures["parzen_ceiling_images"] == 40 and "Parzen ceiling" in figures["definition"]
    assert figures["parzen_ceiling"] > figures["parzen_log_likelihood"]  # real digits beat an untrained generator


MNIST_TEST_HALF = [490, 568, 516, 505, 491, 446, 479, 514, 487, 504]
"""Half of each class of the 10,000 MNIST test digits (980, 1135, ...), rounded to 5,000 in all (1 and 9: .5 each)."""


def test_fid_test_digits_are_a_fixed_stratified_half_of_the_test_set():
    from kerasgen import data

    _, labels = data.load_mnist("test")
    chosen = gan_figures_module.fid_test_subset(labels)
    assert len(chosen) == len(np.unique(chosen)) == 5000 and np.all(np.diff(chosen) > 0)
    counts = np.bincount(labels[chosen], minlength=10)
    assert counts.tolist() == MNIST_TEST_HALF and counts.sum() == 5000
    assert np.all(np.abs(counts - 5000 * np.bincount(labels) / len(labels)) <= 1)
    np.testing.assert_array_equal(chosen, gan_figures_module.fid_test_subset(labels))  # deterministic
    # The digest that cards record: changing it means every card's FID needs measuring again.
    assert metrics.indices_digest(chosen) == "0a88c238ef55950cfd5ed3fddd0aee52243196d0aff3a0bf293fb9fd50b09989"
    assert metrics.indices_digest(gan_figures_module.fid_test_subset(labels, seed=1)) != metrics.indices_digest(chosen)
    assert metrics.indices_digest([3, 17, 20]) == __import__("hashlib").sha256(b"3,17,20").hexdigest()


def test_proportional_counts_round_to_the_total_with_ties_to_the_lower_class():
    assert metrics.proportional_counts([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009], 5000).tolist() == (
        MNIST_TEST_HALF
    )
    assert metrics.proportional_counts([3, 3, 3], 4).tolist() == [2, 1, 1]
    assert metrics.proportional_counts([1, 2], 6).tolist() == [2, 4]  # more than the counts: apportioning
    labels = metrics.proportional_labels([1, 2], 6)
    assert labels.tolist() == [1, 0, 1, 1, 0, 1]  # each label spread over the array
    with pytest.raises(ValueError, match="draw"):
        metrics.stratified_subset([0, 1], 3)


def test_conditional_samples_are_requested_in_the_test_digits_proportions():
    from kerasgen import data

    _, labels = data.load_mnist("test")
    subset_labels = labels[gan_figures_module.fid_test_subset(labels)]
    requested = gan_figures_module.requested_labels(subset_labels, 10_000, 10)
    assert len(requested) == 10_000
    assert np.bincount(requested[:5000]).tolist() == MNIST_TEST_HALF  # the FID's samples: exactly as the test digits
    assert np.bincount(requested).tolist() == [2 * count for count in MNIST_TEST_HALF]
    for start in range(0, 10_000, 500):  # every batch of samples in about the same proportions
        assert np.all(
            np.abs(np.bincount(requested[start : start + 500], minlength=10) - np.array(MNIST_TEST_HALF) / 10) <= 1
        )
    fewer = gan_figures_module.requested_labels(subset_labels, 300, 10)
    assert np.bincount(fewer).tolist() == metrics.proportional_counts(MNIST_TEST_HALF, 300).tolist()


def test_conditional_gan_figures_carry_an_fid_per_label():
    from kerasgen import data

    gan, classifier = tiny_models()
    images, labels = data.load_images("mnist", "validation", 16)
    images = data.to_unit_range(images)
    validation, test = images[:300], images[450:750]
    validation_labels, test_labels = labels[:300], labels[450:750]
    asked = []
    generate = gan.generate
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            gan, "generate", lambda count, labels, seed: asked.extend(labels) or generate(count, labels, seed)
        )
        figures = gan_figures(
            gan, classifier, validation, test, count=500, validation_labels=validation_labels, test_labels=test_labels
        )
    assert figures["fid_images"] == 300 and figures["generated_images"] == 500
    # Samples were asked for in the test digits' proportions, the FID's 300 exactly as the test digits.
    test_counts = np.bincount(test_labels, minlength=10)
    assert figures["fid_test_subset_class_counts"] == test_counts.tolist()
    assert np.bincount(asked[:300], minlength=10).tolist() == test_counts.tolist()
    assert (
        np.bincount(asked, minlength=10).tolist()
        == (test_counts + metrics.proportional_counts(test_counts, 200)).tolist()
    )
    assert len(figures["label_fids"]) == len(figures["label_fid_floors"]) == 10
    assert figures["label_fid_images"] == np.minimum(np.bincount(validation_labels), test_counts).tolist()
    assert min(figures["label_fids"]) > 0 and min(figures["label_fid_floors"]) > 0
    assert figures["intra_fid"] == pytest.approx(np.mean(figures["label_fids"]), abs=1e-3)
    ratios = np.array(figures["label_fids"]) / np.array(figures["label_fid_floors"])
    assert figures["worst_label"] == int(np.argmax(ratios))
    # Too few digits of some class for a Frechet distance: the per-label figures are left out, not guessed.
    few = gan_figures(
        gan,
        classifier,
        validation[:30],
        test[:30],
        count=10,  # one sample per label
        validation_labels=validation_labels[:30],
        test_labels=test_labels[:30],
    )
    assert "intra_fid" not in few and "fid" in few


def test_the_fid_floor_pairs_validation_digits_with_the_fixed_test_digits(monkeypatch):
    """The measuring classifier trained on the training digits: a floor of those would sit lower than unseen digits'."""
    from kerasgen import data, zoo

    real = {}
    for split, count in (("validation", 80), ("test", 120)):
        images, labels = data.load_images("mnist", split, 16)
        real[split] = images[:count], labels[:count]
    # Training digits that would give a very different floor (inverted), and the splits evaluate asks for.
    real["train"] = (255 - real["validation"][0], real["validation"][1])
    asked = []

    def load_images(name="mnist", split="train", size=28, channels=1):
        asked.append(split)
        return real[split]

    gan, classifier = tiny_models(num_classes=0)
    monkeypatch.setattr(data.sources, "load_images", load_images)
    monkeypatch.setattr(zoo, "load", lambda name: classifier)
    card = {"class": "GAN", "data": {"dataset": "mnist", "image_size": 16}}
    figures = gan_figures_module.evaluate(gan, card)
    assert asked.count("train") == 1 and figures["parzen_ceiling_images"] == 80  # the training digits: the ceiling
    test, test_labels = data.to_unit_range(real["test"][0]), real["test"][1]
    chosen = gan_figures_module.fid_test_subset(test_labels, 80)
    test_features = classifier.features(test[chosen])
    validation_floor = metrics.frechet_distance(
        classifier.features(data.to_unit_range(real["validation"][0])), test_features
    )
    training_floor = metrics.frechet_distance(classifier.features(data.to_unit_range(real["train"][0])), test_features)
    assert figures["fid_floor"] == pytest.approx(validation_floor, abs=1e-3)
    assert training_floor != pytest.approx(validation_floor, rel=0.1)
    assert figures["fid_images"] == 80 and figures["fid_test_subset_sha256"] == metrics.indices_digest(chosen)
    assert figures["fid_test_subset_class_counts"] == np.bincount(test_labels[chosen]).tolist()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["classifier.uci", "--samples", "500"], "--samples does not apply to a Classifier"),
        (["cyclegan.digits", "--test-images", "100"], "--test-images does not apply to a CycleGAN"),
    ],
)
def test_evaluate_refuses_an_option_the_family_does_not_use(args, fragment):
    from click.testing import CliRunner

    from kerasgen.cli import cli

    result = CliRunner().invoke(cli, ["evaluate", *args])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        f"Error: {fragment}: its figures have no {args[1][2:].replace('-', '_')}."
    ]
