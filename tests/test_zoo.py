import json
import pathlib
import re
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from conftest import assert_close

from kerasgen import zoo
from kerasgen.errors import UserError
from kerasgen.training import train

ENTRY_NAMES = zoo.list()


@pytest.fixture(scope="module")
def trained_folder(tmp_path_factory):
    """A tiny autoencoder folder trained for one epoch on 16x16 digits."""
    out = tmp_path_factory.mktemp("runs") / "tiny"
    train(
        "autoencoder",
        out,
        data="uci",
        epochs=1,
        batch_size=256,
        image_size=16,
        verbose=0,
        latent_dim=3,
        architecture="conv",
        hidden_units=(16,),
        filters=(4, 8),
    )
    return out


def test_registry_has_the_promised_entries():
    assert {"autoencoder.mnist", "vae.mnist", "classifier.mnist", "dcgan.mnist", "cgan.mnist"} <= set(ENTRY_NAMES)
    from kerasgen import families

    prefixes = {families.for_class(zoo.card(name)["class"]).name for name in ENTRY_NAMES} | {"dcgan", "cgan", "vae2d"}
    assert all(name.count(".") >= 1 and name.split(".")[0] in prefixes for name in ENTRY_NAMES)


def local_path(value):
    return pathlib.PurePosixPath(value).is_absolute() or pathlib.PureWindowsPath(value).is_absolute()


@pytest.mark.parametrize("name", ENTRY_NAMES)
def test_every_entry_loads_verified_and_gives_finite_output(name):
    card = zoo.card(name)
    for field in ("class", "config", "data", "training", "metrics", "weights", "license", "paper"):
        assert card[field], f"{name}: card field {field} is empty"
    assert card["training"]["command"].startswith("kerasgen train ")
    assert card["metrics"]["command"].startswith(f"kerasgen evaluate {name}")
    assert (zoo.ENTRIES / name / card["sample_grid"]).is_file()
    assert zoo.sha256(zoo.weights_path(name)) == card["weights"]["sha256"]
    local_paths = [value for value in card["config"].values() if isinstance(value, str) and local_path(value)]
    assert not local_paths, f"{name}: the config names folders of the machine that trained it: {local_paths}"
    model = zoo.load(name)
    images = np.random.default_rng(0).random((2, *card["config"]["image_shape"]), dtype=np.float32)
    if card["class"] == "Classifier":
        probabilities = np.asarray(model.predict(images, verbose=0))
        assert_close(probabilities.sum(axis=1), np.ones(2), tolerance=1e-5)
    elif card["class"] == "GAN":
        output = np.asarray(model.generate(2, seed=0))
        assert output.shape == images.shape and 0 <= output.min() and output.max() <= 1
    elif card["class"] == "CycleGAN":
        for direction in ("a2b", "b2a"):
            output = np.asarray(model.translate(images, direction=direction))
            assert output.shape == images.shape and np.isfinite(output).all()
    else:
        output = np.asarray(model.reconstruct(images))
        assert output.shape == images.shape and np.isfinite(output).all()


def test_trained_folder_loads_like_an_entry(trained_folder):
    card = zoo.card(trained_folder)
    assert card["class"] == "AutoEncoder" and card["data"]["images"] == 1347
    model = zoo.load(trained_folder)
    assert model.latent_dim == 3
    images = np.random.default_rng(0).random((2, 16, 16, 1), dtype=np.float32)
    assert not np.allclose(model.reconstruct(images), zoo.build(card).reconstruct(images))
    assert (trained_folder / "samples.png").is_file() and (trained_folder / "samples" / "epoch_001.png").is_file()
    assert any((trained_folder / "logs").rglob("events.out.tfevents.*"))


def test_tampered_weights_are_refused(trained_folder, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(trained_folder, copy)
    weights = copy / "model.weights.h5"
    weights.write_bytes(weights.read_bytes() + b"tampered")
    with pytest.raises(UserError, match="sha256"):
        zoo.load(copy)


def unnumbered(path):
    """A variable path without Keras's per-process layer numbers: `dec/conv2d_7/kernel` -> `dec/conv2d/kernel`."""
    return re.sub(r"_\d+(?=/|$)", "", path)


def poisoned_copy(folder, target, value=np.nan, which=-1):
    """A copy of a model folder with one weight of one variable set to `value`, the card's sha256 updated.

    Returns the copy and the variable's path without layer numbers (a model loaded
    again numbers its layers on from the last one built), unique in the model.
    """
    shutil.copytree(folder, target)
    model = zoo.load(target)
    paths = [unnumbered(v.path) for v in model.variables]
    variable = [v for v in model.trainable_variables if paths.count(unnumbered(v.path)) == 1][which]
    weights = np.array(variable.numpy())
    weights.flat[weights.size // 2] = value
    variable.assign(weights)
    model.save_weights(target / "model.weights.h5")
    card = json.loads((target / "card.json").read_text())
    card["weights"]["sha256"] = zoo.sha256(target / "model.weights.h5")
    (target / "card.json").write_text(json.dumps(card))
    return target, unnumbered(variable.path)


def named_variable(message, weights, action):
    """The variable a one-line refusal of non-finite weights names, checking the rest of the line."""
    source = re.escape(repr(str(weights)))
    pattern = f"Weights in {source} are not finite \\((\\S+) holds NaN or infinity\\); not {action} them."
    found = re.fullmatch(pattern, message)
    assert found, message
    return unnumbered(found[1])


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_weights_that_are_not_finite_are_refused(trained_folder, tmp_path, value):
    copy, bad = poisoned_copy(trained_folder, tmp_path / "copy", value)
    with pytest.raises(UserError) as refused:
        zoo.load(copy)
    assert named_variable(str(refused.value), copy / "model.weights.h5", "loading") == bad


def test_weights_download_from_card_url_into_cache(trained_folder, tmp_path, monkeypatch):
    hosted = tmp_path / "hosted"
    hosted.mkdir()
    shutil.copy(trained_folder / "model.weights.h5", hosted / "tiny.weights.h5")
    entry = tmp_path / "entry"
    entry.mkdir()
    card = zoo.card(trained_folder)
    card["weights"].update(file="tiny.weights.h5", url=(hosted / "tiny.weights.h5").as_uri())
    (entry / "card.json").write_text(json.dumps(card))
    monkeypatch.setenv("KERASGEN_HOME", str(tmp_path / "cache"))
    model = zoo.load(entry)
    assert (tmp_path / "cache" / "tiny.weights.h5").is_file()
    assert model.latent_dim == 3


def test_missing_weights_without_url_is_a_clear_error(trained_folder, tmp_path, monkeypatch):
    entry = tmp_path / "entry"
    entry.mkdir()
    card = zoo.card(trained_folder)
    card["weights"]["file"] = "absent.weights.h5"
    (entry / "card.json").write_text(json.dumps(card))
    monkeypatch.setenv("KERASGEN_HOME", str(tmp_path / "cache"))
    with pytest.raises(UserError, match="not found"):
        zoo.load(entry)


@pytest.mark.parametrize(
    "text", ["{not json", '{"class": "VAE"}', '{"class": "VAE", "config": {}, "data": {}, "weights": {}}']
)
def test_malformed_card_is_a_clear_error(tmp_path, text):
    (tmp_path / "card.json").write_text(text)
    with pytest.raises(UserError, match="card.json"):
        zoo.load(tmp_path)


def test_readme_zoo_table_is_the_cards_table_and_the_readme_fits_on_two_screens():
    readme = (zoo.ENTRIES.parent.parent / "README.md").read_text()
    start, end = "<!-- zoo table: python scripts/zoo_table.py -->\n", "\n<!-- end zoo table -->"
    assert readme[readme.index(start) + len(start) : readme.index(end)] == zoo.table()
    assert len(readme.splitlines()) <= 160


@pytest.mark.parametrize("name", zoo.list())
def test_every_goal_in_a_card_says_truly_whether_it_is_met(name):
    card = zoo.card(name)
    for goal in card.get("goals", []):
        assert {"figure", "source", "met"} <= set(goal) and ("at_most" in goal) != ("at_least" in goal)
        assert goal["met"] == zoo.goal_met(goal, card["metrics"]), goal


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UserError, match="Did you mean 'vae.mnist'"):
        zoo.load("vae.mnsit")


def test_load_works_from_any_working_directory(tmp_path):
    name = ENTRY_NAMES[0]
    script = f"import kerasgen; m = kerasgen.zoo.load({name!r}); print(type(m).__name__)"
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == zoo.card(name)["class"]


def test_only_top_level_name_is_kerasgen(tmp_path):
    import kerasgen

    root = zoo.ENTRIES.parent.parent
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(root),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("kerasgen-*.whl"))
    names = {entry.split("/")[0] for entry in zipfile.ZipFile(wheel).namelist()}
    assert {name for name in names if not name.endswith(".dist-info")} == {"kerasgen"}
    members = zipfile.ZipFile(wheel).namelist()
    assert "kerasgen/zoo/__init__.py" in members and "kerasgen/cli/__init__.py" in members
    assert "kerasgen/assets/mnist.npz" in members and "kerasgen/assets/MNIST-LICENSE.md" in members
    entry_points = next(m for m in members if m.endswith(".dist-info/entry_points.txt"))
    assert "kerasgen = kerasgen.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
    assert any(member.startswith("kerasgen/zoo/entries/") for member in members)
    assert kerasgen.zoo.__file__.startswith(str(root / "zoo"))
    for clashing in ("zoo", "cli"):
        found = subprocess.run([sys.executable, "-c", f"import {clashing}"], cwd=tmp_path, capture_output=True)
        assert found.returncode != 0, f"a top-level module {clashing!r} is importable"


def test_non_finite_check_is_eager_first_then_traced_and_finds_the_variable(trained_folder):
    from kerasgen.finite import first_non_finite

    model = zoo.load(trained_folder)  # the load made the first, eager, check
    assert first_non_finite(model) is None  # the second call traces the fused check
    variable = model.variables[-1]
    variable.assign(np.full(variable.shape, np.nan, dtype="float32"))
    assert first_non_finite(model) == variable.path


def test_loading_every_entry_prints_no_retracing_warning(tmp_path):
    script = "import kerasgen\nfor name in kerasgen.zoo.list(): kerasgen.zoo.load(name)\nprint('loaded')"
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "loaded", result.stderr[-2000:]
    assert "retracing" not in result.stderr, result.stderr[-2000:]


@pytest.mark.parametrize("name", zoo.list())
def test_every_entry_command_names_the_xla_setting_it_trained_with(name):
    training = zoo.card(name)["training"]
    flag = "--jit-compile" if training["xla"]["jit_compile"] else "--no-jit-compile"
    assert training["command"].split()[-1] == flag or f" {flag} " in f" {training['command']} "
    assert ("--jit-compile" if flag == "--no-jit-compile" else "--no-jit-compile") not in training["command"].split()
