import json
import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner
from conftest import mnist_cut_to

from kerasgen.cli import cli

TINY = [
    "--image-size",
    "16",
    "--architecture",
    "conv",
    "--hidden-units",
    "16",
    "--filters",
    "4,8",
    "--latent-dim",
    "3",
    "--batch-size",
    "256",
    "--epochs",
    "1",
]


MNIST_CAP = 1000  # digits per MNIST split in these tests: the full 55,000 / 10,000 would make them minutes long


def invoke(*args):
    return CliRunner().invoke(cli, [str(arg) for arg in args], catch_exceptions=False)


@pytest.fixture(scope="module", autouse=True)
def small_mnist():
    """Every MNIST split cut to its first `MNIST_CAP` digits for the commands run in this process."""
    with mnist_cut_to(MNIST_CAP):
        yield


@pytest.fixture(scope="module")
def vae_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "vae"
    result = invoke("train", "vae", "--data", "mnist", "--out", out, *TINY)
    assert result.exit_code == 0, result.output
    return out


def test_help_does_not_import_tensorflow():
    script = (
        "import sys\n"
        "from kerasgen.cli import cli\n"
        "for args in ([], ['train'], ['train', 'vae'], ['train', 'autoencoder'], ['train', 'gan'],\n"
        "             ['train', 'cyclegan'], ['evaluate'], ['sample'],\n"
        "             ['zoo'], ['zoo', 'list']):\n"
        "    try:\n"
        "        cli.main(args + ['--help'], prog_name='kerasgen', standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'sklearn', 'tensorflow_datasets') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("args", [[], ["train"], ["zoo"]])
def test_no_arguments_shows_help(args):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0 and "Usage:" in result.output and "Error" not in result.output


def test_console_script_help_exits_zero():
    result = subprocess.run([sys.executable, "-m", "kerasgen.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "train" in result.stdout


def test_leaving_after_tensorflow_runs_exit_handlers_flushes_output_and_keeps_the_status(tmp_path):
    script = (
        "import atexit, pathlib, sys\n"
        "import tensorflow\n"
        "from kerasgen.cli import leave\n"
        f"atexit.register(lambda: pathlib.Path({str(tmp_path / 'handled')!r}).write_text('yes'))\n"
        "sys.stdout.write('unflushed output')\n"
        "leave(3)\n"
        "print('never here')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 3 and result.stdout == "unflushed output", result.stderr
    assert (tmp_path / "handled").read_text() == "yes"
    mistake = subprocess.run(
        [sys.executable, "-m", "kerasgen.cli", "sample", str(tmp_path / "no such model")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert mistake.returncode == 2 and mistake.stderr.strip().splitlines()[-1].startswith("Error: ")


def test_train_writes_a_complete_model_folder(vae_folder):
    card = json.loads((vae_folder / "card.json").read_text())
    assert card["class"] == "VAE" and card["config"]["latent_dim"] == 3
    assert card["training"]["epochs"] == 1 and card["data"]["images"] == MNIST_CAP
    assert card["training"]["command"].startswith("kerasgen train vae --data mnist --epochs 1 --batch-size 256")
    assert f"--out {vae_folder}" in card["training"]["command"]
    assert (vae_folder / "samples" / "epoch_001.png").is_file() and (vae_folder / "samples.png").is_file()


def test_evaluate_prints_figures_and_updates_the_card(vae_folder):
    result = invoke("evaluate", vae_folder, "--samples", "4")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["test_images"] == MNIST_CAP and figures["importance_samples"] == 4
    assert figures["command"] == f"kerasgen evaluate {vae_folder} --samples 4"
    refused = CliRunner().invoke(cli, ["evaluate", str(vae_folder), "--samples", "4", "--update-card"])
    assert refused.exit_code == 2 and "at least 100" in refused.output
    card = json.loads((vae_folder / "card.json").read_text())
    card["goals"] = [
        {"figure": "iwae_nll", "at_most": 10_000.0, "source": "test", "met": None},
        {"figure": "iwae_nll", "at_most": 1.0, "source": "test", "met": None},
    ]
    (vae_folder / "card.json").write_text(json.dumps(card))
    result = invoke("evaluate", vae_folder, "--update-card")
    assert result.exit_code == 0, result.output
    card = json.loads((vae_folder / "card.json").read_text())
    assert card["metrics"]["importance_samples"] == 500  # the VAE's default k
    assert card["metrics"]["command"] == f"kerasgen evaluate {vae_folder}"
    assert card["metrics"]["iwae_nll"] <= card["metrics"]["negative_elbo"]
    assert [goal["met"] for goal in card["goals"]] == [True, False]  # said again from the new figures
    subset = invoke("evaluate", vae_folder, "--samples", "100", "--test-images", "5", "--update-card")
    assert subset.exit_code == 0, subset.output
    updated = json.loads((vae_folder / "card.json").read_text())
    assert updated["metrics"] == card["metrics"] and updated["goals"] == card["goals"]  # a subset never replaces them
    assert [(kept["importance_samples"], kept["test_images"]) for kept in updated["subset_metrics"]] == [(100, 5)]


def test_sample_writes_a_grid(vae_folder, tmp_path):
    from PIL import Image

    result = invoke("sample", vae_folder, "-n", "9", "-o", tmp_path / "grid.png")
    assert result.exit_code == 0, result.output
    picture = Image.open(tmp_path / "grid.png")
    assert picture.size == (2 * (3 * 17 + 1), 2 * (3 * 17 + 1))


def test_train_autoencoder_on_an_image_folder(image_folder, tmp_path):
    result = invoke("train", "autoencoder", "--data", image_folder, "--out", tmp_path / "ae", *TINY)
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "ae" / "card.json").read_text())["data"]["images"] == 12


def test_zoo_list_and_info():
    listing = invoke("zoo", "list")
    assert listing.exit_code == 0 and "vae.mnist" in listing.output and "autoencoder.mnist" in listing.output
    info = invoke("zoo", "info", "vae.mnist")
    assert json.loads(info.output)["class"] == "VAE"


@pytest.mark.parametrize(
    "args, message",
    [
        (["sample", "vae.mnsit"], "Did you mean 'vae.mnist'"),
        (["zoo", "info", "autoencoder"], "Unknown zoo entry"),
        (["train", "vae", "--data", "/no/such/folder"], "does not exist"),
        (["train", "vae", "--epochs", "-1"], "--epochs"),
        (["train", "vae", "--batch-size", "0"], "--batch-size"),
        (["train", "vae", "--filters", "4,x"], "--filters"),
        (["train", "vae", "--image-size", "30"], "divisible by 4"),
        (["train", "gann"], "No such command"),
        (["train", "gan", "--loss", "bogus"], "--loss"),
        (["train", "gan", "--conditional", "--data", "FOLDER"], "needs labelled data"),
        (["sample", "vae.mnist", "--labels", "3"], "for GANs"),
    ],
)
def test_user_mistakes_print_one_line_and_exit_2(args, message, tmp_path, image_folder):
    args = [str(image_folder) if arg == "FOLDER" else arg for arg in args]
    result = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "out")] if args[0] == "train" else args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], result.output


def test_existing_model_is_not_overwritten(vae_folder):
    before = (vae_folder / "model.weights.h5").read_bytes()
    result = CliRunner().invoke(cli, ["train", "vae", "--out", str(vae_folder), *TINY])
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert (vae_folder / "model.weights.h5").read_bytes() == before


def test_output_path_that_is_a_file(tmp_path):
    target = tmp_path / "taken"
    target.write_text("keep me")
    result = CliRunner().invoke(cli, ["train", "autoencoder", "--out", str(target), *TINY])
    assert result.exit_code == 2 and "is a file" in result.output
    assert target.read_text() == "keep me"


TINY_GAN = ["--image-size", "16", "--generator-filters", "8,4", "--discriminator-filters", "4,8", "--latent-dim", "4"]


@pytest.fixture(scope="module")
def cgan_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "cgan"
    result = invoke("train", "gan", "--conditional", "--epochs", "1", "--batch-size", "512", "--out", out, *TINY_GAN)
    assert result.exit_code == 0, result.output
    return out


def test_train_gan_writes_grids_logs_and_a_loadable_model(cgan_folder):
    from kerasgen import zoo

    card = json.loads((cgan_folder / "card.json").read_text())
    assert card["class"] == "GAN" and card["config"]["num_classes"] == 10
    assert (
        card["training"]["command"].startswith("kerasgen train gan ")
        and " --conditional" in card["training"]["command"]
    )
    assert (cgan_folder / "samples" / "epoch_001.png").is_file() and (cgan_folder / "samples.png").is_file()
    assert list((cgan_folder / "logs" / "samples").glob("events.out.tfevents.*"))
    assert zoo.load(cgan_folder).generate(3, labels=[1, 2, 3], seed=0).shape == (3, 16, 16, 1)


@pytest.mark.parametrize("options, shape", [(["--labels", "0,1"], (3, 5)), (["--interpolate", "6"], (2, 6))])
def test_sample_labels_and_interpolation(cgan_folder, tmp_path, options, shape):
    from PIL import Image

    count = 6 if options[0] == "--labels" else 2
    result = invoke("sample", cgan_folder, "-n", count, "-o", tmp_path / "grid.png", *options)
    assert result.exit_code == 0, result.output
    rows, columns = shape if options[0] == "--interpolate" else (3, 2)
    assert Image.open(tmp_path / "grid.png").size == (2 * (columns * 17 + 1), 2 * (rows * 17 + 1))


def test_train_classifier_reports_accuracy(tmp_path):
    out = tmp_path / "classifier"
    options = ["--image-size", "16", "--filters", "4", "--feature-units", "8", "--epochs", "1", "--batch-size", "512"]
    assert invoke("train", "classifier", "--data", "uci", "--out", out, *options).exit_code == 0
    result = invoke("evaluate", out)
    assert result.exit_code == 0, result.output
    assert 0 <= json.loads(result.output)["accuracy"] <= 1


TINY_CYCLEGAN = [
    "--image-size",
    "16",
    "--generator-filters",
    "4",
    "--residual-blocks",
    "1",
    "--discriminator-filters",
    "4",
    "--steps-per-epoch",
    "2",
    "--epochs",
    "2",
]


@pytest.fixture(scope="module")
def cyclegan_run(tmp_path_factory):
    """The folder of a tiny `kerasgen train cyclegan` on digits, and what the command printed."""
    out = tmp_path_factory.mktemp("cli") / "cyclegan"
    result = invoke("train", "cyclegan", "--out", out, "--export-base", out.parent / "served", *TINY_CYCLEGAN)
    assert result.exit_code == 0, result.output
    assert "Serve it with: docker run" in result.output
    assert "Held-out digits: UCI->MNIST labels kept" in result.output
    return out, result.stdout


@pytest.fixture(scope="module")
def cyclegan_folder(cyclegan_run):
    return cyclegan_run[0]


@pytest.fixture(scope="module")
def cyclegan_figures(cyclegan_folder):
    """What `kerasgen evaluate` prints for the tiny CycleGAN run."""
    result = invoke("evaluate", cyclegan_folder)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_train_cyclegan_writes_a_complete_folder(cyclegan_folder):
    from PIL import Image

    card = json.loads((cyclegan_folder / "card.json").read_text())
    assert card["class"] == "CycleGAN" and card["data"]["images"] == {"a": 1347, "b": MNIST_CAP}
    assert card["training"]["steps_per_epoch"] == 2 and card["training"]["completed_epochs"] == 2
    schedule = card["training"]["optimizer"]["learning_rate"]
    assert (schedule["constant_steps"], schedule["decay_steps"], schedule["initial"]) == (2, 2, 2e-4)
    assert card["training"]["optimizer"]["beta_1"] == 0.5 and card["training"]["optimizer"]["per_network"] == 4
    for path in ("model.weights.h5", "checkpoint.npz", "samples/epoch_002.png"):
        assert (cyclegan_folder / path).is_file()
    assert (cyclegan_folder.parent / "served" / "cyclegan" / "1" / "saved_model.pb").is_file()
    # six rows (A, G(A), F(G(A)), B, F(B), G(F(B))) of eight 16-pixel digits, scaled by 2
    assert Image.open(cyclegan_folder / "samples.png").size == (2 * (8 * 17 + 1), 2 * (6 * 17 + 1))


def test_train_cyclegan_prints_the_export_before_the_figures_measured_beside_it(cyclegan_run):
    lines = [line.split(":")[0] for line in cyclegan_run[1].splitlines() if not line.startswith(("Epoch", "XLA"))]
    wanted = ["Model folder", "SavedModel", "Serve it with", "Held-out digits", "Next"]
    assert [line for line in lines if line in wanted] == wanted, cyclegan_run[1]


def test_train_cyclegan_whose_export_fails_says_so_and_keeps_its_model_folder(tmp_path, monkeypatch):
    from kerasgen import export

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "export", full_disk)
    out = tmp_path / "cyclegan"
    result = invoke("train", "cyclegan", "--out", out, "--export-base", tmp_path / "served", *TINY_CYCLEGAN)
    assert result.exit_code == 2 and "Traceback" not in result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: ") and "No space left on device" in last, result.output
    assert (out / "card.json").is_file() and (out / "model.weights.h5").is_file()


def test_translate_a_folder_of_mixed_images_keeps_names_and_sizes(cyclegan_folder, image_folder, tmp_path):
    from PIL import Image

    result = invoke("translate", cyclegan_folder, image_folder, "--direction", "b2a", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    sources = sorted(p for p in image_folder.rglob("*") if p.suffix in (".png", ".jpg"))
    for source in sources:
        target = tmp_path / "out" / source.relative_to(image_folder).with_suffix(".png")
        with Image.open(source) as original, Image.open(target) as translated:
            assert translated.size == original.size and translated.mode == "L"
    assert "Wrote 12 image(s)" in result.output


def test_evaluate_cyclegan_reports_labels_kept_and_cycle_errors(cyclegan_figures):
    figures = cyclegan_figures
    for key in ("a2b_label_kept", "a2b_baseline", "b2a_label_kept", "b2a_baseline"):
        assert 0 <= figures[key] <= 1
    assert 0 < figures["a2b_cycle_error"] < 1 and figures["test_images"] == {"a": 300, "b": MNIST_CAP}
    # evaluate also gives the judges' own accuracy, which the closing line leaves out
    assert all(0.5 < accuracy <= 1 for accuracy in figures["classifier_accuracy"].values())
    assert len(figures["classifier_accuracy"]) == 2


def test_the_closing_line_of_train_cyclegan_shows_the_figures_of_evaluate(cyclegan_run, cyclegan_figures):
    number = r"(\d\.\d+)"
    pattern = rf"^Held-out digits: UCI->MNIST labels kept {number} \(untranslated {number}\); MNIST->UCI {number} "
    pattern += rf"\(untranslated {number}\); cycle errors {number} / {number}$"
    printed = re.search(pattern, cyclegan_run[1], re.MULTILINE)
    assert printed, cyclegan_run[1]
    keys = ("a2b_label_kept", "a2b_baseline", "b2a_label_kept", "b2a_baseline", "a2b_cycle_error", "b2a_cycle_error")
    decimals = (2, 2, 2, 2, 3, 3)
    evaluated = tuple(f"{cyclegan_figures[key]:.{places}f}" for key, places in zip(keys, decimals, strict=True))
    assert printed.groups() == evaluated


@pytest.mark.parametrize(
    "args, message",
    [
        (["translate", "vae.mnist", "INPUT"], "needs a CycleGAN"),
        (["translate", "CYCLEGAN", "/no/such/image.png"], "does not exist"),
        (["translate", "CYCLEGAN", "NOT_AN_IMAGE"], "Cannot read image"),
        (["train", "cyclegan", "--data", "NO_TRAIN_B"], "no trainB/"),
        (["train", "cyclegan", "--image-size", "18"], "divisible by 4"),
        (["train", "cyclegan", "--epochs", "2", "--decay-epochs", "3"], "--decay-epochs must be in [0, epochs=2]"),
        (["train", "cyclegan", "--semantic-classifier", "vae.mnist"], "--semantic-classifier must be a Classifier"),
    ],
)
def test_cyclegan_mistakes_print_one_line_and_exit_2(args, message, cyclegan_folder, image_folder, tmp_path):
    (tmp_path / "layout" / "trainA").mkdir(parents=True)
    fake = tmp_path / "fake.png"
    fake.write_text("not a png")
    names = {
        "INPUT": image_folder,
        "CYCLEGAN": cyclegan_folder,
        "NOT_AN_IMAGE": fake,
        "NO_TRAIN_B": tmp_path / "layout",
    }
    args = [str(names.get(arg, arg)) for arg in args]
    if args[0] == "train":
        args += ["--out", str(tmp_path / "out"), "--steps-per-epoch", "1"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], result.output
    assert not (tmp_path / "out" / "card.json").exists()


def test_train_cyclegan_on_a_photo_folder_layout(image_folder, tmp_path):
    import shutil

    layout = tmp_path / "photos"
    for part in ("trainA", "trainB", "testA", "testB"):
        shutil.copytree(image_folder, layout / part)
    options = ["--image-size", "16", "--generator-filters", "4", "--residual-blocks", "1"]
    options += ["--discriminator-filters", "4", "--steps-per-epoch", "1", "--epochs", "1", "--batch-size", "2"]
    result = invoke("train", "cyclegan", "--data", layout, "--out", tmp_path / "out", "--no-export", *options)
    assert result.exit_code == 0, result.output
    card = json.loads((tmp_path / "out" / "card.json").read_text())
    assert card["config"]["image_shape"] == [16, 16, 3] and card["data"]["images"] == {"a": 12, "b": 12}
    assert card["data"]["augmentation"].startswith("resize to 286/256")


def test_sample_of_a_cyclegan_shows_held_out_translations(cyclegan_folder, tmp_path):
    from PIL import Image

    result = invoke("sample", cyclegan_folder, "-n", "24", "-o", tmp_path / "grid.png")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "grid.png").size == (2 * (4 * 17 + 1), 2 * (6 * 17 + 1))


TINY_TRAIN = (
    "train autoencoder --data uci --epochs 1 --image-size 16 --architecture dense --hidden-units 8 --latent-dim 2"
)
TENSORFLOW_START_UP = ("oneDNN custom operations", "cuda drivers", "absl::InitializeLog", "cpu_feature_guard")


@pytest.mark.parametrize("tf_logs, onednn_opts", [(False, None), (True, "0")])
def test_a_run_prints_kerasgen_output_not_tensorflows_start_up_lines(tmp_path, tf_logs, onednn_opts):
    """Also: the command turns oneDNN on unless TF_ENABLE_ONEDNN_OPTS is set (`kerasgen.onednn`); the card says."""
    command = [sys.executable, "-m", "kerasgen.cli", *(["--tf-logs"] if tf_logs else []), *TINY_TRAIN.split()]
    unset = ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS")
    environment = {key: value for key, value in os.environ.items() if key not in unset}
    environment.update({"TF_ENABLE_ONEDNN_OPTS": onednn_opts} if onednn_opts else {})
    result = subprocess.run(
        [*command, "--out", str(tmp_path / "run")], capture_output=True, text=True, env=environment, timeout=300
    )
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "Model folder:" in output and "XLA off: short run" in output
    assert "shuffle=True" not in output
    if not tf_logs:
        assert not [line for line in output.splitlines() if any(text in line for text in TENSORFLOW_START_UP)]
    else:  # TensorFlow 2.21 on x86-64 always announces where its kernels come from
        assert any(text in output for text in TENSORFLOW_START_UP)
    card = json.loads((tmp_path / "run" / "card.json").read_text())
    assert card["training"]["onednn"] is (onednn_opts is None)


def test_prefer_onednn_sets_the_variable_only_when_unset_and_before_tensorflow(monkeypatch):
    from kerasgen.onednn import prefer_onednn

    assert prefer_onednn({"TF_ENABLE_ONEDNN_OPTS": "0"}) is False
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    environment = {}
    assert prefer_onednn(environment, machine="x86_64") is True and environment == {"TF_ENABLE_ONEDNN_OPTS": "1"}
    environment = {}
    assert prefer_onednn(environment, machine="aarch64") is False and environment == {}
    monkeypatch.setitem(sys.modules, "tensorflow", object())
    environment = {}
    assert prefer_onednn(environment) is False and environment == {}
