"""CycleGAN's semantic-consistency loss (CyCADA eq. 4), the labelled `digits` source, and its evaluation rules."""

import re
import shutil

import keras
import numpy as np
import pytest
from conftest import assert_close, mnist_cut_to

from kerasgen import data, evaluation, training, zoo
from kerasgen.cyclegan import CycleGAN
from kerasgen.cyclegan import figures as cyclegan_figures_module
from kerasgen.cyclegan.semantic import resize_matrix
from kerasgen.errors import UserError

TINY = {"generator_filters": 4, "residual_blocks": 1, "discriminator_filters": 4, "pool_size": 3, "seed": 0}
TRACKERS = {"g_loss", "g_a2b_loss", "g_b2a_loss", "cycle_loss", "identity_loss", "d_a_loss", "d_b_loss"}
CLASSIFIER_SIDE = 12  # differs from the CycleGAN's 16, so the step must resize


@pytest.fixture(scope="module")
def classifier_folder(tmp_path_factory):
    """A tiny classifier of both digit domains at 12x12, trained and written by `kerasgen.training.train`."""
    folder = tmp_path_factory.mktemp("semantic") / "classifier.tiny"
    training.train(
        "classifier",
        folder,
        data="digits",
        epochs=1,
        batch_size=512,
        image_size=CLASSIFIER_SIDE,
        filters=(4,),
        feature_units=8,
        verbose=0,
        checkpoint_every=None,
        jit_compile=False,
    )
    return folder


def semantic_model(classifier_folder, side=16, run_eagerly=True, **options):
    keras.utils.set_random_seed(0)
    options = {"semantic_classifier": str(classifier_folder), **TINY, **options}
    model = CycleGAN(image_shape=(side, side, 1), **options)
    model.compile(run_eagerly=run_eagerly)
    return model


def digits_pair(side, count=4):
    images_a, images_b = data.load_unpaired("digits", "test", size=side)
    return data.to_unit_range(images_a[:count]), data.to_unit_range(images_b[:count])


def cross_entropy(probabilities, labels):
    picked = probabilities[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.clip(picked, keras.config.epsilon(), 1 - keras.config.epsilon()))))


@pytest.mark.parametrize("side", [16, CLASSIFIER_SIDE])
def test_semantic_loss_is_eq_4_with_pseudo_labels_of_the_untranslated_images(classifier_folder, side):
    model = semantic_model(classifier_folder, side, lambda_semantic=0.5)
    classifier = zoo.load(classifier_folder)
    images_a, images_b = digits_pair(side)
    fake_b = (np.asarray(model.generator_a2b(images_a * 2 - 1)) + 1) / 2
    fake_a = (np.asarray(model.generator_b2a(images_b * 2 - 1)) + 1) / 2

    def probabilities(images):  # the evaluation's own resize (tf.image.resize, antialiased), not the step's
        return np.asarray(
            classifier.predict(cyclegan_figures_module.resized(images, classifier.image_shape), verbose=0)
        )

    labels_a, labels_b = np.argmax(probabilities(images_a), -1), np.argmax(probabilities(images_b), -1)
    expected = cross_entropy(probabilities(fake_b), labels_a) + cross_entropy(probabilities(fake_a), labels_b)
    logs = {name: float(value) for name, value in model.train_step((images_a, images_b)).items()}
    assert set(logs) == TRACKERS | {"semantic_loss"}
    assert logs["semantic_loss"] == pytest.approx(expected, rel=1e-5)
    weighted = logs["cycle_loss"] + 0.5 * logs["identity_loss"]
    total = logs["g_a2b_loss"] + logs["g_b2a_loss"] + 10.0 * weighted + 0.5 * logs["semantic_loss"]
    assert logs["g_loss"] == pytest.approx(total, rel=1e-5)


def test_resize_matrices_are_tensorflows_antialiased_bilinear_resize():
    images = np.random.default_rng(0).uniform(size=(2, 16, 20, 1)).astype(np.float32)
    for height, width in ((12, 14), (32, 28)):
        expected = np.asarray(keras.ops.image.resize(images, (height, width), antialias=True))
        resized = np.einsum("oh,bhwc,pw->bopc", resize_matrix(16, height), images, resize_matrix(20, width))
        assert_close(resized, expected, tolerance=1e-6)


def test_the_classifier_stays_frozen_while_the_generators_learn(classifier_folder):
    keras.utils.set_random_seed(0)
    plain = CycleGAN(image_shape=(16, 16, 1), **TINY)
    model = semantic_model(classifier_folder, run_eagerly=False)
    frozen = [np.array(variable) for variable in zoo.load(classifier_folder).weights]
    generators = [np.array(variable) for variable in model.generator_a2b.trainable_weights]
    for start, plain_start in zip(generators, plain.generator_a2b.trainable_weights, strict=True):
        np.testing.assert_array_equal(start, np.asarray(plain_start))  # the same start as a plain CycleGAN
    assert not model.semantic_network.trainable
    assert not {id(variable) for variable in model.semantic_network.weights} & {
        id(variable) for variable in model.trainable_variables
    }
    dataset = data.make_unpaired_dataset(*data.load_unpaired("digits", "test", size=16), batch_size=4, epochs=3)
    history = model.fit(dataset.take(3), epochs=1, verbose=0).history
    assert np.isfinite(history["semantic_loss"][-1]) and history["semantic_loss"][-1] > 0
    assert model.g_a2b_optimizer.iterations.numpy() == 3
    for before, after in zip(frozen, model.semantic_network.weights, strict=True):
        np.testing.assert_array_equal(before, np.asarray(after))
    assert any(
        not np.array_equal(before, np.asarray(after))
        for before, after in zip(generators, model.generator_a2b.trainable_weights, strict=True)
    )


def test_config_weights_keras_file_and_checkpoint_round_trip(classifier_folder, tmp_path):
    import kerasgen

    model = semantic_model(classifier_folder, lambda_semantic=2.0)
    pair = digits_pair(16)
    model.train_step(pair)
    config = model.get_config()
    assert config["semantic_classifier"] == str(classifier_folder) and config["lambda_semantic"] == 2.0
    assert CycleGAN.from_config(config).get_config() == config

    model.save_weights(tmp_path / "semantic.weights.h5")
    restored = CycleGAN.from_config(config)
    restored.compile()
    restored.load_weights(tmp_path / "semantic.weights.h5")
    assert restored.g_a2b_optimizer.iterations.numpy() == 1
    assert_close(restored.translate(pair[0]), model.translate(pair[0]))

    model.save(tmp_path / "semantic.keras")
    reloaded = kerasgen.load_model(tmp_path / "semantic.keras")
    assert reloaded.uses_semantic_loss and reloaded.lambda_semantic == 2.0
    assert_close(reloaded.translate(pair[1], "b2a"), model.translate(pair[1], "b2a"))

    training.save_training_state(model, tmp_path / "checkpoint.npz", {"step": 1})
    resumed = CycleGAN.from_config(config)
    resumed.compile()
    assert training.restore_training_state(resumed, tmp_path / "checkpoint.npz") == {"step": 1}
    model.reset_metrics()  # the trackers' running means are not training state
    expected = float(model.train_step(pair)["semantic_loss"])
    assert float(resumed.train_step(pair)["semantic_loss"]) == pytest.approx(expected)


def test_export_holds_the_generators_and_no_classifier_variables(classifier_folder, tmp_path):
    import tensorflow as tf

    from kerasgen.export import export_model

    model = semantic_model(classifier_folder)
    version = export_model(model, base=tmp_path, name="semantic")
    reader = tf.train.load_checkpoint(str(version / "variables" / "variables"))
    shapes = [shape for key, shape in reader.get_variable_to_shape_map().items() if key.endswith("VARIABLE_VALUE")]
    generators = [variable for network in (model.generator_a2b, model.generator_b2a) for variable in network.variables]
    assert len(shapes) == len(generators)
    assert sum(int(np.prod(shape)) for shape in shapes) == sum(int(np.prod(v.shape)) for v in generators)
    served = tf.saved_model.load(str(version))
    images = digits_pair(16)[0]
    assert_close(served.signatures["translate_a2b"](images=tf.constant(images))["images"], model.translate(images))


def copy_of_entry(name, folder):
    """A model folder holding an entry's card and weights (the same network under another path)."""
    folder.mkdir()
    shutil.copy(zoo.card_path(name), folder / zoo.CARD)
    shutil.copy(zoo.weights_path(name), folder / zoo.card(name)["weights"]["file"])
    return folder


def test_evaluation_refuses_a_judge_that_was_the_semantic_classifier(classifier_folder, tmp_path):
    card_data = {"data": {"dataset": "digits"}}
    for judge in ("classifier.uci", str(copy_of_entry("classifier.mnist", tmp_path / "copy"))):
        model = CycleGAN(image_shape=(16, 16, 1), semantic_classifier=judge, **TINY)
        with pytest.raises(UserError, match="semantic classifier.*not a figure"):
            cyclegan_figures_module.cyclegan_figures(model, card_data)
    # Weight 0: the classifier never entered the loss, so it may judge.
    cyclegan_figures_module.check_judges(
        CycleGAN(image_shape=(16, 16, 1), semantic_classifier="classifier.uci", lambda_semantic=0)
    )
    cyclegan_figures_module.check_judges(
        CycleGAN(image_shape=(16, 16, 1), semantic_classifier=str(classifier_folder), **TINY)
    )


def test_kerasgen_train_cyclegan_with_the_term_prints_the_summary_line(classifier_folder, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from kerasgen.cli import cli

    monkeypatch.chdir(classifier_folder.parent)  # a relative folder is stored as an absolute path
    options = ["--image-size", "16", "--generator-filters", "4", "--residual-blocks", "1", "--discriminator-filters"]
    options += ["4", "--steps-per-epoch", "2", "--batch-size", "2", "--epochs", "1", "--no-jit-compile", "--no-export"]
    arguments = ["train", "cyclegan", "--out", str(tmp_path / "run"), *options]
    arguments += ["--semantic-classifier", classifier_folder.name, "--lambda-semantic", "0.5"]
    with mnist_cut_to(500):  # the closing line measures every test digit: 500 MNIST ones are enough here
        result = CliRunner().invoke(cli, arguments, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    card = zoo.card(tmp_path / "run")
    assert card["config"]["semantic_classifier"] == str(classifier_folder.resolve())
    assert card["config"]["lambda_semantic"] == 0.5
    assert "semantic_loss" in card["training"]["final_logs"]
    number = r"\d\.\d\d"
    pattern = rf"Held-out digits: UCI->MNIST labels kept {number} \(untranslated {number}\); MNIST->UCI {number} "
    pattern += rf"\(untranslated {number}\); cycle errors \d\.\d{{3}} / \d\.\d{{3}}"
    assert re.search(pattern, result.output), result.output


def test_summary_line_format():
    figures = {
        "a2b_label_kept": 0.9412,
        "a2b_baseline": 0.74,
        "b2a_label_kept": 0.813,
        "b2a_baseline": 0.327,
        "a2b_cycle_error": 0.0331,
        "b2a_cycle_error": 0.0296,
    }
    assert cyclegan_figures_module.summary_line(figures) == (
        "UCI->MNIST labels kept 0.94 (untranslated 0.74); MNIST->UCI 0.81 (untranslated 0.33); "
        "cycle errors 0.033 / 0.030"
    )
    assert (
        cyclegan_figures_module.summary_line({"a2b_cycle_error": 0.1, "b2a_cycle_error": 0.2})
        == "Cycle errors 0.100 / 0.200"
    )


@pytest.mark.slow  # two CycleGAN trainings, run by .ci/run after the README's test command
@pytest.mark.parametrize("options", [{"lambda_semantic": 0.0}, {"semantic_classifier": None}])
def test_no_classifier_or_weight_zero_is_todays_cyclegan(classifier_folder, options, tmp_path):
    keras.utils.set_random_seed(0)
    plain = CycleGAN(image_shape=(16, 16, 1), **TINY)
    plain.compile(run_eagerly=True)
    model = semantic_model(classifier_folder, **options)
    assert model.semantic_network is None and not model.uses_semantic_loss
    assert {tracker.name for tracker in model.trackers} == TRACKERS
    pair = digits_pair(16)
    plain_logs, logs = plain.train_step(pair), model.train_step(pair)
    assert {key: float(value) for key, value in logs.items()} == {
        key: float(value) for key, value in plain_logs.items()
    }
    for a, b in zip(plain.weights, model.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    plain.save_weights(tmp_path / "plain.weights.h5")
    model.load_weights(tmp_path / "plain.weights.h5")  # the same weights file as a plain CycleGAN's


@pytest.mark.parametrize(
    "options, message",
    [
        ({"lambda_semantic": -1.0}, "lambda_semantic"),
        ({"semantic_classifier": 3}, "zoo entry name or a model folder"),
        ({"semantic_classifier": "vae.mnist"}, "must be a Classifier"),
        ({"semantic_classifier": "classifier.uci", "image_shape": (16, 16, 3)}, "channel"),
    ],
)
def test_bad_semantic_options(options, message):
    with pytest.raises(ValueError, match=message):
        CycleGAN(**{"image_shape": (16, 16, 1), **TINY, **options})


def test_an_unknown_semantic_classifier_is_a_user_error():
    with pytest.raises(UserError, match="classifier.digitz"):
        CycleGAN(image_shape=(16, 16, 1), semantic_classifier="classifier.digitz", **TINY)


@pytest.mark.parametrize("policy", ["mixed_bfloat16"])
def test_semantic_loss_under_mixed_precision_is_float32(classifier_folder, policy):
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = semantic_model(classifier_folder, run_eagerly=False)
        assert model.semantic_network.feature_network.layers[0].compute_dtype == "bfloat16"
        logs = model.train_step(digits_pair(16))
        assert logs["semantic_loss"].dtype == "float32" and np.isfinite(float(logs["semantic_loss"]))
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_digits_source_is_both_domains_with_labels():
    assert data.has_test_split("digits")
    images, labels = data.load_images("digits", "test", size=16)
    (uci, uci_labels), (mnist, mnist_labels) = data.load_unpaired("digits", "test", size=16, with_labels=True)
    np.testing.assert_array_equal(images, np.concatenate([uci, mnist]))
    np.testing.assert_array_equal(labels, np.concatenate([uci_labels, mnist_labels]))
    train_images, _ = data.load_images("digits", "train", size=16)
    assert len(train_images) == sum(len(domain) for domain in data.load_unpaired("digits", "train", size=16))


def test_a_digits_classifier_is_evaluated_per_domain(classifier_folder):
    figures = evaluation.evaluate(classifier_folder)
    assert set(figures["by_domain"]) == {"uci", "mnist"}
    assert figures["test_images"] == sum(part["test_images"] for part in figures["by_domain"].values())
    assert 0 <= figures["accuracy"] <= 1
