"""The house rules of the layout: machinery knows no family, no hooks by string, no file over 400 lines."""

import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
FAMILY_MODULES = ("autoencoder", "vae", "gan", "classifier", "cyclegan")
MACHINERY = ("kerasgen.training", "kerasgen.data", "kerasgen.export", "kerasgen.metrics", "kerasgen.evaluation")
SOURCE_FOLDERS = ("kerasgen", "cli", "zoo", "benchmarks")


def test_the_machinery_loads_no_family_model_code():
    check = (
        "import sys; "
        + "; ".join(f"import {module}" for module in MACHINERY)
        + "; print(sorted(m for m in sys.modules if m.startswith('kerasgen.') and m.count('.') >= 2))"
    )
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True, cwd=ROOT)
    loaded = eval(result.stdout.strip().splitlines()[-1])
    # A family's TensorFlow-free spec (`kerasgen.gan`, with its plain-data `kerasgen.gan.recipes`) may load.
    family_code = [name for name in loaded if name.split(".")[1] in FAMILY_MODULES and name.split(".")[2] != "recipes"]
    assert family_code == [], family_code


def test_no_module_function_strings_remain():
    pattern = re.compile(r'"kerasgen\.[a-z_.]*:[a-z_]*"')
    hits = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in SOURCE_FOLDERS
        for path in (ROOT / folder).rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert hits == []


def test_no_source_file_is_over_400_lines():
    long = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for folder in SOURCE_FOLDERS
        for path in (ROOT / folder).rglob("*.py")
        if len(path.read_text().splitlines()) > 400
    }
    assert long == {}
