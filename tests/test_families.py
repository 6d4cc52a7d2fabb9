"""One home per family: every registered family builds, measures, previews and serves through its own class.

A family from outside kerasgen is tested in `test_plugin_family.py`."""

import numpy as np
import pytest
from click.testing import CliRunner

from kerasgen import families, training, zoo
from kerasgen.base import FamilyModel
from kerasgen.cli import cli


@pytest.mark.parametrize("name", ["autoencoder", "vae", "gan", "classifier", "cyclegan"])
def test_the_class_built_without_arguments_is_what_train_builds_without_options(name, monkeypatch):
    built = {}

    class Built(Exception):
        pass

    def capture(family, config, options=()):
        built["model"] = family.model_class()(**config)
        raise Built

    monkeypatch.setattr(training.run, "build_model", capture)
    with pytest.raises(Built):
        CliRunner().invoke(cli, ["train", name], catch_exceptions=False)
    family = families.get(name)
    data_defaults = family.data_defaults.get(family.recipe["data"], {})
    declared = {key: value for key, value in data_defaults.items() if key not in family.recipe}
    trained = training.hyperparameters(built["model"])
    assert {key: trained[key] for key in declared} == declared
    assert training.hyperparameters(family.model_class()()) == {**trained, **{key: None for key in declared}}


def test_every_exposed_option_is_a_constructor_argument_and_every_family_measures_previews_and_serves():
    for name in families.names():
        family = families.get(name)
        defaults = family.defaults()
        assert {option.name for option in family.options} <= set(defaults), name
        for option in family.options:  # the command line shows the constructor's defaults without importing it
            assert option.default == defaults[option.name], (name, option.name)
        model_class = family.model_class()
        for method in ("figures", "serving_functions", "preview"):  # FamilyModel's own only raise
            assert getattr(model_class, method) is not getattr(FamilyModel, method), (name, method)
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


def test_a_data_source_with_its_own_headline_shows_it_in_the_zoo_list(monkeypatch):
    card = {"class": "CycleGAN", "data": {"dataset": "mnist-mnistm", "split": "train"}}
    card["metrics"] = {"adapted_accuracy": 0.93, "a2b_label_kept": 0.5}
    assert families.headline_of(card) == ("adapted_accuracy", "MNIST->MNIST-M adapted accuracy")
    assert families.headline_of({**card, "data": {"dataset": "digits"}})[0] == "a2b_label_kept"
    assert families.headline_of({**card, "data": {"dataset": "photos/horse2zebra"}})[0] == "a2b_cycle_error"
    monkeypatch.setattr(zoo, "list", lambda: ["cyclegan.mnistm"])
    monkeypatch.setattr(zoo, "card", lambda name: card)
    listed = CliRunner().invoke(cli, ["zoo", "list"])
    assert listed.exit_code == 0, listed.output
    assert "MNIST->MNIST-M adapted accuracy: 0.93" in listed.output
