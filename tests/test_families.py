"""One home per family: a new family is one class and one `Family`, and every registry follows."""

import dataclasses
import json
import shutil

import keras
import numpy as np
import pytest
from click.testing import CliRunner
from keras import ops

from kerasgen import families, training, zoo
from kerasgen.autoencoder import AutoEncoder
from kerasgen.cli import cli


@keras.saving.register_keras_serializable(package="kerasgen_tests")
class DenoisingAutoEncoder(AutoEncoder):
    """An AutoEncoder that learns to reconstruct clean images from noisy ones.

    Args:
        noise: standard deviation of the Gaussian noise added to training inputs.
        **kwargs: `AutoEncoder`'s arguments.

    Example:
        >>> DenoisingAutoEncoder(noise=0.3).fit(dataset)
    """

    def __init__(self, noise=0.25, **kwargs):
        super().__init__(**kwargs)
        self.noise = noise

    def _batch_losses(self, images, training):
        if training:
            noisy = images + self.noise * keras.random.normal(ops.shape(images))
            logits = self.decoder(self.encoder(noisy, training=True), training=True)
            squared_error = ops.sum(ops.square(images - ops.sigmoid(logits)), axis=(1, 2, 3))
            loss = ops.sum(ops.binary_crossentropy(images, logits, from_logits=True), axis=(1, 2, 3))
            return ops.mean(loss), ops.mean(squared_error)
        return super()._batch_losses(images, training)

    def get_config(self):
        return {**super().get_config(), "noise": self.noise}


DENOISER = dataclasses.replace(
    families.get("autoencoder"),
    name="denoiser",
    model=f"{__name__}:DenoisingAutoEncoder",
    summary="Train a denoising autoencoder.",
    options=(
        families.Option("latent_dim", "Size of the code.", minimum=1, default=30),
        families.Option("filters", "Filters of the stride-2 convolutions.", kind="widths", default=(32, 64)),
        families.Option("noise", "Noise added to training inputs.", "float", minimum=0, default=0.25),
    ),
    benchmark_cases={"denoiser": "denoiser.uci"},
)


@pytest.fixture
def denoiser_family():
    families.register(DENOISER)
    yield DENOISER
    families.unregister(DENOISER.name)


def invoke(*args):
    return CliRunner().invoke(cli, [str(arg) for arg in args], catch_exceptions=False)


def test_a_new_family_is_trained_evaluated_exported_listed_and_benchmarked(denoiser_family, tmp_path, monkeypatch):
    run = tmp_path / "run"
    options = "--data uci --epochs 1 --image-size 16 --latent-dim 3 --filters 4,8 --noise 0.3 --batch-size 256"
    result = invoke("train", "denoiser", *options.split(), "--out", run)
    assert result.exit_code == 0, result.output
    card = zoo.card(run)
    assert card["class"] == "DenoisingAutoEncoder" and card["config"]["noise"] == 0.3
    assert card["training"]["command"].startswith("kerasgen train denoiser --data uci")

    result = invoke("evaluate", run)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["squared_error"] > 0

    result = invoke("export", run, "--base", tmp_path / "served")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "served" / "run" / "1" / "saved_model.pb").is_file()

    entries = tmp_path / "entries"
    shutil.copytree(run, entries / "denoiser.uci")
    for name in zoo.list():
        (entries / name).symlink_to(zoo.ENTRIES / name)
    monkeypatch.setattr(zoo, "ENTRIES", entries)
    card_path = entries / "denoiser.uci" / "card.json"
    card_path.write_text(json.dumps({**card, "metrics": {"squared_error": 12.5}}))
    result = invoke("zoo", "list")
    assert result.exit_code == 0, result.output
    assert "denoiser.uci" in result.output and "DenoisingAutoEncoder" in result.output and "12.5" in result.output

    from benchmarks import cases

    (case,) = cases.select(cases.all_cases(), ["denoiser"])
    assert case.class_name == "DenoisingAutoEncoder" and case.batch_size == 256
    model = case.build()
    case.compile(model, jit_compile=False)
    assert isinstance(model, DenoisingAutoEncoder) and model.optimizer.built


@pytest.mark.parametrize("name", ["autoencoder", "vae", "gan", "classifier", "cyclegan"])
def test_the_class_built_without_arguments_is_what_train_builds_without_options(name, monkeypatch):
    built = {}

    class Built(Exception):
        pass

    def capture(family, config):
        built["model"] = family.model_class()(**config)
        raise Built

    monkeypatch.setattr(training, "build_model", capture)
    with pytest.raises(Built):
        CliRunner().invoke(cli, ["train", name], catch_exceptions=False)
    family = families.get(name)
    data_defaults = family.data_defaults.get(family.recipe["data"], {})
    declared = {key: value for key, value in data_defaults.items() if key not in family.recipe}
    trained = training.hyperparameters(built["model"])
    assert {key: trained[key] for key in declared} == declared
    assert training.hyperparameters(family.model_class()()) == {**trained, **{key: None for key in declared}}


def test_every_exposed_option_is_a_constructor_argument_and_every_hook_resolves():
    for name in families.names():
        family = families.get(name)
        defaults = family.defaults()
        assert {option.name for option in family.options} <= set(defaults), name
        for option in family.options:  # the command line shows the constructor's defaults without importing it
            assert option.default == defaults[option.name], (name, option.name)
        for hook in ("compile", "evaluate", "serving", "preview", "serving_counterpart"):
            assert callable(family.hook(hook)), (name, hook)
        assert families.for_class(family.class_name) is family


@pytest.mark.parametrize("name", zoo.list())
def test_from_preset_loads_an_entry_of_its_own_class_only(name):
    family = families.for_class(zoo.card(name)["class"])
    model = family.model_class().from_preset(name)
    assert type(model) is family.model_class()
    other = next(families.get(other) for other in families.names() if families.get(other) is not family)
    with pytest.raises(ValueError, match=f"holds a {family.class_name}, not a {other.class_name}"):
        other.model_class().from_preset(name)


def test_unknown_family_is_a_one_line_usage_error():
    result = CliRunner().invoke(cli, ["train", "nosuch"])
    assert result.exit_code == 2 and "No such command 'nosuch'" in result.output
    assert np.all(np.isfinite([1.0]))
