"""Model selection on the validation split: the best epoch is published, the last kept beside it, across a resume."""

import json

import keras
import numpy as np
import pytest
from conftest import mnist_cut_to

from kerasgen import training, zoo
from kerasgen.base import ValidationFigure
from kerasgen.data import sources
from kerasgen.errors import UserError
from kerasgen.gan.model import GAN

TINY_GAN = {"batch_size": 8, "latent_dim": 4, "generator_filters": (8, 4), "discriminator_filters": (4, 8)}


class Crash(Exception):
    """Stands for a crash right after a checkpoint was written."""


@pytest.fixture
def scripted_figure(monkeypatch):
    """The GAN's validation figure replaced by a script of values; each measurement keeps the weights it saw."""
    seen = {"values": [], "weights": []}

    def validation_figure(model, data_card):
        def measure():
            seen["weights"].append([np.array(weight) for weight in model.get_weights()])
            return seen["values"].pop(0)

        return ValidationFigure("scripted", True, measure, "values given by the test")

    monkeypatch.setattr(GAN, "validation_figure", validation_figure)
    return seen


@pytest.fixture
def few_digits(monkeypatch):
    """40 UCI digits: 5 steps an epoch at batch 8."""
    load_images = sources.load_images
    monkeypatch.setattr(sources, "load_images", lambda *a, **k: tuple(part[:40] for part in load_images(*a, **k)))


def run_gan(out, epochs=4, select_every=2, **extra):
    options = {"data": "uci", "epochs": epochs, "image_size": 16, "jit_compile": False, **TINY_GAN, **extra}
    return training.train("gan", out, verbose=0, checkpoint_every=2, select_every=select_every, **options)


def saved_weights(path):
    model = zoo.load(path.parent)
    model.load_weights(path)
    return model.get_weights()


def assert_same_weights(actual, expected):
    for a, b in zip(actual, expected, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_best_epoch_is_published_and_the_last_kept_beside_it(scripted_figure, few_digits, tmp_path):
    scripted_figure["values"] = [3.0, 1.0, 2.0]  # measured after epochs 2, 4 and 5 (the last)
    folder = run_gan(tmp_path / "run", epochs=5)
    selection = json.loads((folder / zoo.CARD).read_text())["training"]["selection"]
    assert selection["curve"] == {"2": 3.0, "4": 1.0, "5": 2.0}
    assert selection["best_epoch"] == selection["published_epoch"] == 4
    assert "lowest scripted" in selection["reason"] and selection["definition"] == "values given by the test"
    assert_same_weights(zoo.load(folder).get_weights(), scripted_figure["weights"][1])
    assert_same_weights(saved_weights(folder / "last.weights.h5"), scripted_figure["weights"][2])
    assert not list(folder.glob("best-epoch-*"))
    assert json.loads((folder / zoo.CARD).read_text())["training"]["select_every"] == 2


def test_a_resumed_run_keeps_its_best_epoch(scripted_figure, few_digits, tmp_path, monkeypatch):
    save = training.RunCheckpoint.save

    def save_then_crash(callback):
        save(callback)
        if callback.step == 3 * 5:  # the end of epoch 3
            raise Crash

    scripted_figure["values"] = [1.0, 5.0, 4.0]  # epochs 2 (before the crash), then 4 and 5 (after it)
    with monkeypatch.context() as patch:
        patch.setattr(training.RunCheckpoint, "save", save_then_crash)
        with pytest.raises(Crash):
            run_gan(tmp_path / "run", epochs=5)
    assert (tmp_path / "run" / "best-epoch-002.weights.h5").exists()
    folder = run_gan(tmp_path / "run", epochs=5)
    training_card = json.loads((folder / zoo.CARD).read_text())["training"]
    assert training_card["resumed_from_step"] == 15
    assert training_card["selection"]["curve"] == {"2": 1.0, "4": 5.0, "5": 4.0}
    assert training_card["selection"]["published_epoch"] == 2
    assert_same_weights(zoo.load(folder).get_weights(), scripted_figure["weights"][0])


def test_selection_is_off_by_default_and_refused_where_a_family_has_none(few_digits, tmp_path):
    folder = run_gan(tmp_path / "plain", epochs=1, select_every=0)
    card = json.loads((folder / zoo.CARD).read_text())
    assert "selection" not in card["training"] and not (folder / "last.weights.h5").exists()
    with pytest.raises(UserError, match="no validation figure"):
        training.train("autoencoder", tmp_path / "ae", data="uci", epochs=1, image_size=16, select_every=1)


def test_gan_validation_fid_measures_samples_against_validation_digits():
    keras.utils.set_random_seed(0)
    gan = GAN(image_shape=(28, 28, 1), latent_dim=4, generator_filters=(8, 4), discriminator_filters=(4, 8))
    with mnist_cut_to(300):
        figure = gan.validation_figure({"dataset": "mnist", "image_size": 28})
    first, again = figure.measure(), figure.measure()
    assert figure.name == "validation_fid" and figure.lower_is_better
    assert first > 0 and first == pytest.approx(again, rel=1e-4)  # fixed samples, fixed digits
    assert "300 validation digits" in figure.definition


def test_vae_validation_figure_is_the_iwae_bound_of_validation_digits():
    from kerasgen.vae import VAE
    from kerasgen.vae.figures import vae_figures

    keras.utils.set_random_seed(0)
    vae = VAE(image_shape=(28, 28, 1), latent_dim=2, architecture="dense", hidden_units=(16,))
    with mnist_cut_to(40):
        figure = vae.validation_figure({"dataset": "mnist", "image_size": 28})
        validation = sources.load_images("mnist", "validation", 28)[0][:40] / np.float32(255)
    assert figure.name == "validation_iwae_nll" and figure.lower_is_better
    assert figure.measure() == vae_figures(vae, validation, samples=20)["iwae_nll"]


def test_cyclegan_validation_figure_averages_labels_kept_both_ways():
    from kerasgen.cyclegan import CycleGAN

    keras.utils.set_random_seed(0)
    model = CycleGAN(image_shape=(16, 16, 1), generator_filters=4, residual_blocks=1, discriminator_filters=4)
    figure = model.validation_figure({"dataset": "digits", "image_size": 16, "channels": 1})
    value = figure.measure()
    assert figure.name == "validation_labels_kept" and not figure.lower_is_better
    assert 0 <= value <= 1 and "UCI" in figure.definition
    assert ValidationFigure("x", False, None, "").better(0.9, 0.8)
    assert not ValidationFigure("x", True, None, "").better(0.9, 0.8)


@pytest.mark.slow  # builds MNIST-M on a fresh cache
def test_mnistm_cyclegan_validation_figure_is_a_quick_adaptation_protocol():
    from kerasgen.cyclegan import CycleGAN
    from kerasgen.cyclegan.validation import validation_adaptation

    keras.utils.set_random_seed(0)
    model = CycleGAN(image_shape=(32, 32, 3), generator_filters=4, residual_blocks=1, discriminator_filters=4)
    with mnist_cut_to(300):
        assert model.validation_figure({"dataset": "mnist-mnistm"}).name == "validation_adapted_accuracy"
        figure = validation_adaptation(model, count=60, training_digits=200)
        value = figure.measure()
    assert not figure.lower_is_better and 0 <= value <= 1
    assert (
        "first 60 MNIST-M validation digits" in figure.definition and "200 MNIST training digits" in figure.definition
    )
