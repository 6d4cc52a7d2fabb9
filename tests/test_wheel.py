"""The wheel ships the zoo: every entry loads from an installed wheel, in a fresh environment, from anywhere."""

import json
import pathlib
import subprocess
import sys
import sysconfig
import zipfile

import pytest

pytestmark = pytest.mark.slow  # runs in .ci/run after the README's test command

ROOT = pathlib.Path(__file__).resolve().parents[1]

CHECK = """
import json, pathlib, sys
import kerasgen
from kerasgen import zoo

assert pathlib.Path(kerasgen.__file__).is_relative_to(sys.prefix), kerasgen.__file__
loaded = {name: type(zoo.load(name)).__name__ for name in zoo.list()}
classifier = zoo.load("classifier.uci")
figures = classifier.figures(zoo.card("classifier.uci"))
print(json.dumps({"loaded": loaded, "accuracy": figures["accuracy"], "entries": str(zoo.ENTRIES)}))
"""


def test_an_installed_wheel_loads_every_entry_and_reproduces_a_figure(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp_path, ROOT],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("kerasgen-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {
        "kerasgen",
        wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info",
    }
    environment = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", environment], check=True)
    python = environment / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True
    ).stdout.strip()
    # kerasgen's dependencies come from this environment's site-packages, read as a plain path (its .pth files,
    # the editable install of this checkout among them, are not processed).
    (pathlib.Path(site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run([python, "-c", CHECK], cwd=elsewhere, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["entries"].startswith(site)
    from kerasgen import families, zoo

    assert report["loaded"] == {name: zoo.card(name)["class"] for name in zoo.list()}
    assert set(report["loaded"].values()) <= {families.get(name).class_name for name in families.names()}
    assert report["accuracy"] == zoo.card("classifier.uci")["metrics"]["accuracy"]
