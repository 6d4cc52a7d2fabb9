import functools
import json
import types

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import mnist_cut_to

from kerasgen import data, zoo
from kerasgen.cyclegan import adaptation, baselines_cache
from kerasgen.errors import UserError

CAP = 300
"""Every MNIST and MNIST-M split cut to its first 300 digits: a classifier epoch is 3 steps."""
EPOCHS = 1
TINY_CYCLEGAN = "--image-size 32 --generator-filters 4 --residual-blocks 1 --discriminator-filters 4 "
TINY_CYCLEGAN += "--steps-per-epoch 2 --epochs 1 --batch-size 2 --no-export"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A `$KERASGEN_HOME` for this module: the MNIST-M cache (built once, a few seconds) and the baselines' cache."""
    from kerasgen.data import mnistm

    folder = tmp_path_factory.mktemp("kerasgen_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KERASGEN_HOME", str(folder))
        mnistm.mnistm_images()
        yield folder


@pytest.fixture(scope="module")
def cyclegan_folder(home, tmp_path_factory):
    """A CycleGAN of `mnist-mnistm` at 32 px with a few filters, trained 2 steps on cut data."""
    from kerasgen.cli import cli

    out = tmp_path_factory.mktemp("adaptation") / "cyclegan"
    arguments = ["train", "cyclegan", "--data", "mnist-mnistm", "--out", str(out), *TINY_CYCLEGAN.split()]
    with mnist_cut_to(CAP):
        result = CliRunner().invoke(cli, arguments, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def counting_fits(patch):
    """Patch `adaptation.trained_classifier` to record `(images' shape, seed, epochs, classifier)` per fit."""
    fits, original = [], adaptation.trained_classifier

    def counted(images, labels, seed, epochs, bar):
        classifier = original(images, labels, seed, epochs, bar)
        fits.append((images.shape, seed, epochs, classifier))
        return classifier

    patch.setattr(adaptation, "trained_classifier", counted)
    return fits


def measure(folder, **options):
    """`adaptation_figures` of the CycleGAN in `folder`, on the cut data."""
    with mnist_cut_to(CAP):
        return adaptation.adaptation_figures(zoo.load(folder), zoo.card(folder), **options)


@pytest.fixture(scope="module")
def first(cyclegan_folder):
    """The figures of a first call (empty baselines' cache) and the fits it made (a minute on 2 cores: slow)."""
    with pytest.MonkeyPatch.context() as patch:
        fits = counting_fits(patch)
        figures = measure(cyclegan_folder, epochs=EPOCHS)
    return figures, fits


@pytest.mark.slow
def test_figures_have_their_keys_in_range(first):
    figures, fits = first
    assert len(fits) == 9 and [seed for _, seed, _, _ in fits] == list(adaptation.SEEDS) * 3
    for name in ("adapted_accuracy", "source_only_accuracy", "target_accuracy"):
        assert 0 <= figures[name] <= 1 and len(figures[f"{name}_per_seed"]) == len(adaptation.SEEDS)
        assert figures[name] == pytest.approx(np.mean(figures[f"{name}_per_seed"]), abs=1e-4)
        assert figures[f"{name}_spread"] == pytest.approx(np.std(figures[f"{name}_per_seed"], ddof=1), abs=1e-4)
    for name in ("b2a_label_kept", "b2a_baseline", "b2a_judge_on_mnist"):
        assert 0 <= figures[name] <= 1
    assert figures["frechet_to_target"] > 0 and figures["frechet_floor"] > 0
    assert figures["frechet_images"] == CAP // 2 and figures["classifier_training_digits"] == CAP
    assert figures["classifier_epochs"] == EPOCHS and "seeds 0, 1, 2" in figures["adaptation_definition"]
    assert figures["anchors"]["pixelda_accuracy"]["value"] == 0.982
    assert "BSDS500" in figures["anchors"]["measured_on"]
    json.dumps(figures)  # goes into a card as it is


@pytest.mark.slow
def test_b2a_baseline_is_the_judges_accuracy_computed_by_hand(first):
    import tensorflow as tf

    with mnist_cut_to(CAP):
        images, labels = data.load_images("mnistm", "test", 32, 3)
    grey = np.mean(images / np.float32(255), axis=-1, keepdims=True)
    judge_input = np.clip(tf.image.resize(grey, (28, 28), antialias=True).numpy(), 0, 1)
    predicted = np.argmax(zoo.load("classifier.mnist").predict(judge_input, verbose=0), axis=-1)
    assert first[0]["b2a_baseline"] == round(float(np.mean(predicted == labels)), 4)


@pytest.mark.slow
def test_a_second_call_trains_only_the_adapted_classifiers(first, cyclegan_folder, monkeypatch):
    figures, _ = first
    fits = counting_fits(monkeypatch)
    again = measure(cyclegan_folder, epochs=EPOCHS)
    assert [seed for _, seed, _, _ in fits] == list(adaptation.SEEDS)
    assert again == figures  # a seed trains the same adapted classifier again; the baselines are read back


@pytest.mark.slow
def test_seeds_train_different_classifiers(first):
    _, fits = first
    weights = {seed: classifier.get_weights() for _, seed, _, classifier in fits[-3:]}  # train on target
    assert sorted(weights) == list(adaptation.SEEDS)
    for seed in adaptation.SEEDS[1:]:
        assert not all(np.array_equal(a, b) for a, b in zip(weights[0], weights[seed], strict=True))


def test_the_baselines_key_holds_epochs_seeds_data_and_versions(home, monkeypatch):
    import keras

    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8), np.arange(4)
    arrays = (images, labels, images, labels, images, labels)
    key, material = adaptation.baseline_key(*arrays, epochs=1)
    assert material["epochs"] == 1 and material["seeds"] == list(adaptation.SEEDS)
    assert material["keras"] == keras.__version__ and material["classifier"]["image_shape"] == [32, 32, 3]
    assert adaptation.baseline_key(*arrays, epochs=1)[0] == key
    assert adaptation.baseline_key(*arrays, epochs=2)[0] != key
    assert adaptation.baseline_key(images, labels[::-1].copy(), *arrays[2:], epochs=1)[0] != key
    monkeypatch.setattr(adaptation, "SEEDS", (0, 1))
    assert adaptation.baseline_key(*arrays, epochs=1)[0] != key


@pytest.mark.slow
def test_the_cache_is_written_whole(first, home):
    files = sorted(path.name for path in (home / baselines_cache.CACHE_FOLDER).iterdir())
    assert not [name for name in files if name.startswith(".")]  # no temporary file left
    for name in files:
        if name.endswith(".json"):
            key = name.removeprefix("baselines-").removesuffix(".json")
            results = json.loads((home / baselines_cache.CACHE_FOLDER / name).read_text())
            assert baselines_cache.cache_paths(key)[1].name in files
            assert sorted(results["accuracies"]) == ["source_only", "target"]
            assert results["material"]["data_sha256"] and results["material"]["tensorflow"]


@pytest.mark.slow
def test_kerasgen_evaluate_gives_the_adaptation_figures_beside_the_cycle_errors(first, cyclegan_folder, monkeypatch):
    from kerasgen.cli import cli

    monkeypatch.setattr(
        adaptation, "adaptation_figures", functools.partial(adaptation.adaptation_figures, epochs=EPOCHS)
    )
    with mnist_cut_to(CAP):
        result = CliRunner().invoke(cli, ["evaluate", str(cyclegan_folder)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["test_images"] == {"a": CAP, "b": CAP} and 0 < figures["a2b_cycle_error"] < 1
    assert {"adapted_accuracy", "source_only_accuracy", "target_accuracy", "frechet_to_target"} <= set(figures)
    assert "label_kept" not in figures["definition"] and "cycle_error" in figures["definition"]
    assert "Training" in result.stderr and "Translating 300 MNIST training digits" in result.stderr


def test_only_unsupervised_mnist_mnistm_cyclegans_are_measured(monkeypatch):
    plain = types.SimpleNamespace(uses_semantic_loss=False)
    with pytest.raises(UserError, match="mnist-mnistm") as error:
        adaptation.adaptation_figures(plain, {"data": {"dataset": "digits"}})
    assert len(str(error.value).splitlines()) == 1
    semantic = types.SimpleNamespace(uses_semantic_loss=True, semantic_classifier="runs/classifier.mnistm")
    monkeypatch.setattr(zoo, "card", lambda name: {"data": {"dataset": "mnistm"}, "weights": {"sha256": name}})
    with pytest.raises(UserError, match="MNIST-M labels") as error:
        adaptation.adaptation_figures(semantic, {"data": {"dataset": "mnist-mnistm"}})
    assert len(str(error.value).splitlines()) == 1
    monkeypatch.setattr(semantic, "semantic_classifier", "classifier.mnist")
    with pytest.raises(UserError, match="judge 'classifier.mnist'"):
        adaptation.adaptation_figures(semantic, {"data": {"dataset": "mnist-mnistm"}})


def test_frechet_compares_translations_of_other_digits_and_a_matched_floor():
    rng = np.random.default_rng(0)
    test, labels = rng.random((20, 2, 2, 1), np.float32), np.arange(20) % 2
    flat = types.SimpleNamespace(features=lambda images: images.reshape(len(images), -1))
    figures = adaptation.frechet_figures(flat, test, test, labels, rng.random((30, 2, 2, 1), np.float32))
    assert figures["frechet_images"] == 10  # half the test digits, and as many validation digits
    assert figures["frechet_to_target"] > 0  # a perfect translation of a digit is never compared with that digit
    assert figures["frechet_floor"] > 0 and len(figures["frechet_reference_sha256"]) == 64
