"""A family from outside kerasgen: one package, pip-installed, registered through the `kerasgen.families` entry points.

The denoising autoencoder below lives in a temporary package that kerasgen has
never heard of. Installed with pip (into a folder on PYTHONPATH, so the test
leaves the environment as it found it), it trains, evaluates, exports, lists
and is benchmarked through the same commands as the built-in families.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from kerasgen import families
from kerasgen.errors import UserError

pytestmark = pytest.mark.slow  # runs in .ci/run after the README's test command

SPEC = '''
"""The denoiser family's TensorFlow-free spec."""

from kerasgen.families import IMAGES, Family, Option

FAMILY = Family(
    name="denoiser",
    model="kerasgen_denoiser.model:DenoisingAutoEncoder",
    data=IMAGES,
    summary="Train a denoising autoencoder.",
    headline=("squared_error", "test squared error / image"),
    recipe={"data": "mnist", "epochs": 5, "batch_size": 128, "learning_rate": 1e-3, "image_size": 28, "max_shift": 0},
    options=(
        Option("latent_dim", "Size of the code.", minimum=1, default=30),
        Option("filters", "Filters of the stride-2 convolutions.", kind="widths", default=(32, 64)),
        Option("noise", "Noise added to training inputs.", "float", minimum=0, default=0.25),
    ),
    benchmark_cases={"denoiser": "denoiser.uci"},
)
'''

MODEL = '''
"""A denoising autoencoder: reconstructs clean images from noisy ones."""

import keras
from keras import ops

from kerasgen.autoencoder import AutoEncoder


@keras.saving.register_keras_serializable(package="kerasgen_denoiser")
class DenoisingAutoEncoder(AutoEncoder):
    """An AutoEncoder trained on inputs with Gaussian noise of standard deviation `noise`.

    Example:
        >>> DenoisingAutoEncoder(noise=0.3).compile_for_recipe({"learning_rate": 1e-3})
    """

    def __init__(self, noise=0.25, **kwargs):
        super().__init__(**kwargs)
        self.noise = noise

    def batch_losses(self, images, training):
        if not training:
            return super().batch_losses(images, training)
        noisy = images + self.noise * keras.random.normal(ops.shape(images))
        logits = self.decoder(self.encoder(noisy, training=True), training=True)
        squared_error = ops.sum(ops.square(images - ops.sigmoid(logits)), axis=(1, 2, 3))
        loss = ops.sum(ops.binary_crossentropy(images, logits, from_logits=True), axis=(1, 2, 3))
        return ops.mean(loss), ops.mean(squared_error)

    def get_config(self):
        return {**super().get_config(), "noise": self.noise}
'''

PYPROJECT = """
[build-system]
requires = ["setuptools>=70"]
build-backend = "setuptools.build_meta"

[project]
name = "kerasgen-denoiser"
version = "0.1"

[project.entry-points."kerasgen.families"]
denoiser = "kerasgen_denoiser.spec:FAMILY"

[tool.setuptools]
packages = ["kerasgen_denoiser"]
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The package pip-installed into a folder; the environment variables that put it on the path."""
    root = tmp_path_factory.mktemp("denoiser")
    source = root / "source"
    (source / "kerasgen_denoiser").mkdir(parents=True)
    (source / "pyproject.toml").write_text(PYPROJECT)
    (source / "kerasgen_denoiser" / "__init__.py").write_text('"""A kerasgen family outside kerasgen."""\n')
    (source / "kerasgen_denoiser" / "spec.py").write_text(textwrap.dedent(SPEC))
    (source / "kerasgen_denoiser" / "model.py").write_text(textwrap.dedent(MODEL))
    site = root / "site"
    command = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", site]
    subprocess.run([*command, source], check=True, capture_output=True)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    return root, environment


def kerasgen(environment, *args, cwd):
    command = [sys.executable, "-c", "from kerasgen.cli import main; main()", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=environment, cwd=cwd, timeout=300)


def test_an_installed_family_trains_evaluates_exports_lists_and_is_benchmarked(installed):
    root, environment = installed
    result = kerasgen(environment, "train", "--help", cwd=root)
    assert result.returncode == 0 and "denoiser" in result.stdout and "Train a denoising" in result.stdout
    result = kerasgen(environment, "train", "denoiser", "--help", cwd=root)
    assert result.returncode == 0 and "--noise" in result.stdout, result.stdout + result.stderr

    options = "--data uci --epochs 1 --image-size 16 --latent-dim 3 --filters 4,8 --noise 0.3 --batch-size 256"
    result = kerasgen(environment, "train", "denoiser", *options.split(), "--no-jit-compile", "--out", "run", cwd=root)
    assert result.returncode == 0, result.stderr
    card = json.loads((root / "run" / "card.json").read_text())
    assert card["class"] == "DenoisingAutoEncoder" and card["config"]["noise"] == 0.3
    assert card["training"]["command"].startswith("kerasgen train denoiser --data uci")

    result = kerasgen(environment, "evaluate", "run", cwd=root)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["squared_error"] > 0

    result = kerasgen(environment, "export", "run", "--base", "served", cwd=root)
    assert result.returncode == 0, result.stderr
    assert (root / "served" / "run" / "1" / "saved_model.pb").is_file()

    result = kerasgen(environment, "zoo", "list", cwd=root)
    assert result.returncode == 0 and "vae.mnist" in result.stdout, result.stderr

    check = (
        "from benchmarks import cases; assert cases.zoo_cases()['denoiser'] == 'denoiser.uci'; "
        f"case = cases.zoo_case('denoiser', {str(root / 'run')!r}); model = case.build(); "
        "case.compile(model, jit_compile=False); print(type(model).__name__, model.optimizer.built)"
    )
    repository = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    environment = {**environment, "PYTHONPATH": environment["PYTHONPATH"] + os.pathsep + repository}
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, env=environment, timeout=300)
    assert result.returncode == 0 and result.stdout.split() == ["DenoisingAutoEncoder", "True"], result.stderr


def test_an_incomplete_or_clashing_registration_is_one_line_naming_what_is_wrong():
    with pytest.raises(UserError) as error:
        families.register(families.Family(name="halfdone", model="somewhere:Model", data=families.IMAGES))
    message = str(error.value)
    assert len(message.splitlines()) == 1 and "'halfdone' is incomplete" in message
    assert "summary" in message and "headline" in message and "recipe" in message

    with pytest.raises(UserError, match="recipe\\['epochs'\\]") as error:
        families.register(
            families.Family(
                name="norecipe",
                model="somewhere:Model",
                data=families.IMAGES,
                summary="s",
                headline=("a", "b"),
                recipe={"data": "mnist", "batch_size": 1, "image_size": 28},
            )
        )
    assert len(str(error.value).splitlines()) == 1

    clash = families.Family(**{**vars(families.get("vae")), "model": "elsewhere:OtherVAE"})
    with pytest.raises(UserError, match="'vae' .*clashes with the registered kerasgen.vae.model:VAE") as error:
        families.register(clash)
    assert len(str(error.value).splitlines()) == 1
    same_class = families.Family(**{**vars(families.get("vae")), "name": "vae2"})
    with pytest.raises(UserError, match="model class VAE is already family 'vae'"):
        families.register(same_class)
    assert "halfdone" not in families.names() and "vae2" not in families.names()


def test_a_broken_entry_point_is_one_line_and_exit_2(tmp_path):
    site = tmp_path / "site"
    (site / "broken_family").mkdir(parents=True)
    (site / "broken_family" / "__init__.py").write_text(
        "from kerasgen.families import Family\nFAMILY = Family(name='broken', model='broken_family:Model')\n"
    )
    info = site / "broken_family-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-family\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[kerasgen.families]\nbroken = broken_family:FAMILY\n")
    environment = {**os.environ, "PYTHONPATH": str(site)}
    result = kerasgen(environment, "train", "--help", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        "Error: Family 'broken' is incomplete: it needs data, summary, headline, recipe."
    ]
