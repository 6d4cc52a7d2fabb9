"""The documentation site (`docs/`): its commands run, its REST bodies work, its API reference is complete.

Every fenced `bash` block of a hand-written page is a list of commands (lines joined at a
trailing backslash, `#` comments dropped, `&&` chains split). Each command either runs
here, in one scratch folder for the whole session, in the pages' order:

- `kerasgen ...`: in this process (Click's runner), exit status 0, with the page's tiny
  options (`TINY`: an option given there replaces the command's value, others are
  appended). The page must name those options in its text, so a reader can run what the
  test runs. A command another page already ran is not run twice.
- a training command that appears twice on one page is a crash and a resume: its first run is a
  process of its own, killed with SIGKILL once it has written a checkpoint; the second
  must say `Resuming from`.
- `saved_model_cli ...`: a subprocess, as shown.
- `curl -d BODY URL`: BODY is sent through the exported signature it names
  (`tf.saved_model.load`), as TF Serving would run it; no server is needed.
- `docker run ...`: the folders it mounts must hold what TF Serving will look for.
- anything else must match `NOT_RUN`, with the reason it cannot run in a test.

Every fenced `python` block runs as shown, in the same folder, one namespace per page;
`urllib.request.urlopen` of a `localhost:8501` URL is answered as a `curl` body is.

As in `tests/test_cli.py`, the MNIST splits are cut to their first `MNIST_CAP` digits in
this process: the commands and their outputs are the same, only faster.

Last, every name that `kerasgen` and its family packages export has an entry (`::: NAME`)
in the API reference pages, and the command-line reference lists every
`kerasgen train FAMILY` command.
"""

import ast
import base64
import contextlib
import importlib
import inspect
import io
import json
import os
import pathlib
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import mnist_cut_to
from PIL import Image

from kerasgen.cli import cli

pytestmark = pytest.mark.slow  # runs in .ci/run after the README's test command

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [
    "getting-started.md",
    "guides/pretrained.md",
    "guides/autoencoder.md",
    "guides/vae.md",
    "guides/gan.md",
    "guides/classifier.md",
    "guides/cyclegan.md",
    "guides/own-data.md",
    "guides/resume.md",
    "guides/distributed.md",
    "guides/serving.md",
    "guides/python-api.md",
    "figures.md",
    "data.md",
    "benchmarks.md",
    "development.md",
    "index.md",
]
"""Hand-written pages with commands, in the order the site's navigation has them."""
MNIST_CAP = 1000

TINY_CYCLEGAN = (
    "--epochs 1 --steps-per-epoch 2 --image-size 16 --generator-filters 4 --residual-blocks 1 --discriminator-filters 4"
)
TINY_AUTOENCODERS = "--epochs 1 --image-size 16 --filters 4,8 --hidden-units 16"
TINY_GAN = "--epochs 1 --generator-filters 8,4 --discriminator-filters 4,8"
TINY_CLASSIFIER = "--epochs 1 --filters 4 --feature-units 8"
TINY_EVALUATE = "--samples 2 --test-images 100"
TINY_TEST_IMAGES = "--test-images 100"
TINY_RESUME = (
    "--data uci --epochs 2 --batch-size 8 --checkpoint-every 10 --image-size 16 --filters 4,8 --hidden-units 16"
)
TINY = {
    "getting-started.md": {"kerasgen train cyclegan": TINY_CYCLEGAN},
    "guides/autoencoder.md": {"kerasgen train autoencoder": TINY_AUTOENCODERS, "kerasgen evaluate": TINY_TEST_IMAGES},
    "guides/vae.md": {"kerasgen train vae": TINY_AUTOENCODERS, "kerasgen evaluate": TINY_EVALUATE},
    "guides/gan.md": {"kerasgen train gan": TINY_GAN, "kerasgen evaluate": TINY_TEST_IMAGES},
    "guides/classifier.md": {"kerasgen train classifier": TINY_CLASSIFIER, "kerasgen evaluate": TINY_TEST_IMAGES},
    "guides/cyclegan.md": {
        "kerasgen train cyclegan": TINY_CYCLEGAN,
        "kerasgen train classifier": TINY_CLASSIFIER,
    },
    "guides/own-data.md": {"kerasgen train cyclegan": TINY_CYCLEGAN},
    "guides/resume.md": {"kerasgen train vae": TINY_RESUME},
    "guides/distributed.md": {"kerasgen train vae": TINY_AUTOENCODERS},
    "figures.md": {"kerasgen evaluate": TINY_EVALUATE},
}
"""Per page, per command prefix: the tiny options the tests use, which the page names in its text."""

NOT_RUN = {
    r"python3\.11 -m venv \.venv": "the tests run inside this installation",
    r"\. \.venv/bin/activate": "the tests run inside this installation",
    r"pip install -e \.( |$)": "the tests run inside this installation",
    r'pip install -e "\.\[(test|docs)\]"': "the tests run inside this installation",
    r"python -m pytest -q": "the test suite this test belongs to",
    r"bash \.ci/run": "CI itself: a fresh environment and the whole test suite",
    r"mkdocs (build|serve)": "CI builds the site after the tests (`.ci/run`); serve runs until stopped",
    r"tensorboard --logdir ": "a server that runs until stopped",
    r"TF_CONFIG=.* kerasgen train .*--strategy multiworker": "needs two machines; tests/test_distribute.py runs "
    "two workers on 127.0.0.1",
    r"python -c \"import tensorflow_datasets as tfds; tfds\.load": "downloads a data set; the training command "
    "after it runs on tensorflow-datasets' mock data",
    r"python -m benchmarks": "tens of minutes; tests/test_benchmarks.py runs the benchmarks on tiny cases",
    r"python scripts/publish_entry\.py runs/NAME NAME": "NAME stands for an entry; tests/test_zoo.py publishes one",
    r"kerasgen evaluate NAME --update-card": "NAME stands for an entry; tests/test_cli.py updates a card",
}
"""Commands that cannot run in a test (pattern matched at the start), with the reason."""

SERVED = "http://localhost:8501/v1/models/"


# ---------------------------------------------------------------- reading the pages


def fenced_blocks(text):
    """`[(language, code)]` of a Markdown page's fenced blocks, indented ones (in lists, admonitions) included."""
    blocks, lines, index = [], text.splitlines(), 0
    while index < len(lines):
        opening = re.match(r"^(\s*)```(\w*)", lines[index])
        if opening:
            indent, language, body = len(opening.group(1)), opening.group(2), []
            index += 1
            while not re.match(r"^\s*```\s*$", lines[index]):
                body.append(lines[index][indent:])
                index += 1
            blocks.append((language, "\n".join(body)))
        index += 1
    return blocks


def shell_commands(code):
    """The commands of a `bash` block: continued lines joined, comments dropped, `&&` chains split."""
    commands = []
    for line in code.replace("\\\n", " ").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            commands += [part.strip() for part in re.sub(r"\s+#\s.*$", "", line).split(" && ")]
    return commands


def page_commands(page):
    """`[("bash", command) | ("python", code)]` of a page, in order."""
    items = []
    for language, code in fenced_blocks((DOCS / page).read_text(encoding="utf-8")):
        if language == "bash":
            items += [("bash", command) for command in shell_commands(code)]
        elif language == "python":
            items.append(("python", code))
    return items


def with_tiny_options(page, command):
    """The command with the page's tiny options for its prefix: given ones replaced, others appended."""
    words = shlex.split(command)
    for prefix, options in TINY.get(page, {}).items():
        if command.startswith(prefix + " ") or command == prefix:
            tiny = shlex.split(options)
            for option, value in zip(tiny[::2], tiny[1::2], strict=True):
                if option in words:
                    words[words.index(option) + 1] = value
                else:
                    words += [option, value]
    return words


def not_run_reason(command):
    for pattern, reason in NOT_RUN.items():
        if re.match(pattern, command):
            return reason
    return None


# ---------------------------------------------------------------- the scratch folder


def write_pictures(folder, count, size, mode, suffix=".png", seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for index in range(count):
        side = size + index
        pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        Image.fromarray(pixels).convert(mode).save(folder / f"picture_{index}{suffix}")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """One folder for every page's commands, with the pictures the guides ask the reader for."""
    from kerasgen import data

    folder = tmp_path_factory.mktemp("docs")
    digits, _ = data.load_mnist("test")
    (folder / "my_digits").mkdir()
    for index, digit in enumerate(digits[:4, :, :, 0]):
        Image.fromarray(digit).resize((28 + 4 * index, 28 + 4 * index)).save(folder / "my_digits" / f"{index}.png")
    Image.fromarray(digits[0, :, :, 0]).save(folder / "digit.png")
    for part, seed in (("trainA", 1), ("trainB", 2), ("testA", 3), ("testB", 4)):
        write_pictures(folder / "datasets" / "horse2zebra" / part, 3, 20, "RGB", seed=seed)
    write_pictures(folder / "photos", 2, 30, "RGB", ".jpg", seed=5)
    return folder


@pytest.fixture(scope="module", autouse=True)
def small_mnist():
    """Every MNIST split cut to its first `MNIST_CAP` digits for the commands run in this process."""
    with mnist_cut_to(MNIST_CAP):
        yield


RAN = set()
"""Commands (after tiny options) already run in this session, by any page."""


# ---------------------------------------------------------------- running commands


def run_kerasgen(words, workspace):
    context = contextlib.nullcontext()
    if any(word.startswith("tfds:") for word in words):
        import tensorflow_datasets as tfds

        context = tfds.testing.mock_data(num_examples=4)
    with context:
        result = CliRunner().invoke(cli, words[1:])
    assert result.exit_code == 0, f"{shlex.join(words)} exited with {result.exit_code}:\n{result.output[-3000:]}"
    return result.output


def run_and_kill_after_checkpoint(words, workspace):
    """Run a training command in its own process and SIGKILL it once it has written a checkpoint."""
    out = pathlib.Path(words[words.index("--out") + 1])
    checkpoint = workspace / out / "checkpoint.npz"
    assert not (workspace / out).exists(), f"{out} is another page's folder: give the resumed run its own --out"
    executable = pathlib.Path(sys.executable).parent / "kerasgen"
    process = subprocess.Popen(
        [str(executable), *words[1:]], cwd=workspace, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 300
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    finished = process.poll()
    process.send_signal(signal.SIGKILL)
    stderr = process.communicate()[1].decode(errors="replace")
    assert finished is None and checkpoint.exists(), f"no checkpoint before the end ({finished}): {stderr[-2000:]}"


def run_subprocess(words, workspace):
    executable = pathlib.Path(sys.executable).parent / words[0]
    result = subprocess.run([str(executable), *words[1:]], cwd=workspace, capture_output=True, text=True)
    assert result.returncode == 0, f"{shlex.join(words)}:\n{result.stderr[-3000:]}"
    return result.stdout


def check_docker(words, workspace):
    """What the container would mount holds what TF Serving looks for there."""
    mounts = {}
    for index, word in enumerate(words):
        if word == "-v":
            host, container = words[index + 1].replace("$PWD", str(workspace)).split(":")
            mounts[container] = pathlib.Path(host)
    assert mounts, shlex.join(words)

    def host_path(container_path):
        root = next(root for root in mounts if container_path == root or container_path.startswith(root + "/"))
        return mounts[root] / container_path[len(root) :].lstrip("/")

    config = next((word.split("=", 1)[1] for word in words if word.startswith("--model_config_file=")), None)
    if config:
        text = host_path(config).read_text()
        served = re.findall(r'base_path: "([^"]+)"', text)
        assert served, text
        folders = [host_path(path) for path in served]
    else:
        model_name = next(word.split("=", 1)[1] for word in words if word.startswith("MODEL_NAME="))
        folders = [host_path(f"/models/{model_name}")]
    for folder in folders:
        assert any((version / "saved_model.pb").is_file() for version in folder.iterdir() if version.name.isdigit())


_LOADED = {}


def predict(url, body, workspace):
    """TF Serving's REST `:predict` answer to `body`, computed with the exported signature it names."""
    import tensorflow as tf

    assert url.startswith(SERVED) and url.endswith(":predict"), url
    name = url[len(SERVED) : -len(":predict")]
    folder = workspace / "saved_models" / name
    version = max((path for path in folder.iterdir() if path.name.isdigit()), key=lambda path: int(path.name))
    if version not in _LOADED:
        _LOADED[version] = tf.saved_model.load(str(version))
    signature = _LOADED[version].signatures[body.get("signature_name", "serving_default")]
    specs = signature.structured_input_signature[1]
    rows = body["instances"]

    def value(item):
        return base64.b64decode(item["b64"]) if isinstance(item, dict) and set(item) == {"b64"} else item

    if all(isinstance(row, dict) and set(row) != {"b64"} for row in rows):
        columns = {key: [value(row[key]) for row in rows] for key in specs}
    else:
        (key,) = specs
        columns = {key: [value(row) for row in rows]}
    inputs = {}
    for key, values in columns.items():
        dtype = specs[key].dtype
        inputs[key] = tf.constant(values, dtype) if dtype == tf.string else tf.constant(np.array(values), dtype)
    outputs = {key: tensor.numpy() for key, tensor in signature(**inputs).items()}

    def encoded(key, item):
        if key.endswith("_bytes"):
            return {"b64": base64.b64encode(item).decode()}
        return item.tolist()

    if len(outputs) == 1:
        ((key, values),) = outputs.items()
        return {"predictions": [encoded(key, item) for item in values]}
    count = len(next(iter(outputs.values())))
    return {"predictions": [{key: encoded(key, outputs[key][row]) for key in outputs} for row in range(count)]}


def check_curl(words, workspace):
    """Send the guide's JSON body through the signature; check the answer's shape against the guide's comment."""
    body_text = words[words.index("-d") + 1]
    for file in re.findall(r"\$\(base64 -w0 ([^)]+)\)", body_text):
        body_text = body_text.replace(
            f"$(base64 -w0 {file})", base64.b64encode((workspace / file).read_bytes()).decode()
        )
    body = json.loads(body_text)
    answer = predict(words[-1], body, workspace)
    predictions = answer["predictions"]
    assert len(predictions) == len(body["instances"])
    name = words[-1][len(SERVED) : -len(":predict")]
    first = predictions[0]
    if body.get("signature_name", "").endswith("_png"):
        picture = Image.open(io.BytesIO(base64.b64decode(first["b64"])))
        assert picture.format == "PNG" and picture.size == Image.open(workspace / "digit.png").size
    elif body.get("signature_name") in ("sample", "generate_seeded"):
        assert np.asarray(first["images"]).shape == (28, 28, 1), name
        assert len(first["latents"]) == {"vae.mnist": 32}.get(name, 64)
    else:
        assert np.asarray(first).shape == (28, 28, 1), name
    return answer


class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()


def fake_urlopen(workspace):
    def urlopen(request, *args, **kwargs):
        url, body = (request.full_url, request.data) if isinstance(request, urllib.request.Request) else (request, None)
        return FakeResponse(json.dumps(predict(url, json.loads(body), workspace)).encode())

    return urlopen


# ---------------------------------------------------------------- the tests


def test_every_page_is_read_and_every_exception_is_used():
    commands = [command for page in PAGES for kind, command in page_commands(page) if kind == "bash"]
    written = {path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md")}
    with_code = {
        page for page in written if "```bash" in (DOCS / page).read_text() or "```python" in (DOCS / page).read_text()
    }
    assert with_code - set(PAGES) == set(), "pages with commands that no test reads"
    unused = [pattern for pattern in NOT_RUN if not any(re.match(pattern, command) for command in commands)]
    assert not unused, f"NOT_RUN patterns that match no command: {unused}"


@pytest.mark.parametrize("page", [page for page in TINY])
def test_a_page_names_the_tiny_options_its_test_uses(page):
    text = " ".join((DOCS / page).read_text().split())
    for options in TINY[page].values():
        assert options in text, f"{page} does not name {options!r}"


@pytest.mark.parametrize("page", PAGES)
def test_the_commands_of_a_page_run_as_shown(page, workspace, monkeypatch):
    monkeypatch.chdir(workspace)
    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen(workspace))
    items = page_commands(page)
    bash = [shlex.join(with_tiny_options(page, command)) for kind, command in items if kind == "bash"]
    namespace = {"__name__": f"docs:{page}"}
    seen_here = set()
    for kind, command in items:
        if os.environ.get("KERASGEN_DOCS_TIMING"):  # a log of when each command started, to find slow ones
            with open(os.environ["KERASGEN_DOCS_TIMING"], "a") as log:
                print(f"{time.monotonic():.1f} {page}: {command[:100]!r}", file=log)
        if kind == "python":
            exec(compile(command, f"docs/{page}", "exec"), namespace)  # noqa: S102 - the page's own example
            continue
        if not_run_reason(command):
            continue
        words = with_tiny_options(page, command)
        line = shlex.join(words)
        if line in RAN and line not in seen_here:
            continue  # another page ran it
        if words[0] == "kerasgen":
            if words[1] == "train" and bash.count(line) > 1 and line not in seen_here:
                run_and_kill_after_checkpoint(words, workspace)
            else:
                output = run_kerasgen(words, workspace)
                if words[1] == "train" and line in seen_here:
                    assert "Resuming from " in output, output[-2000:]
        elif words[0] == "saved_model_cli":
            run_subprocess(words, workspace)
        elif words[0] == "curl":
            check_curl(words, workspace)
        elif words[0] == "docker":
            check_docker(words, workspace)
        else:
            pytest.fail(f"{page}: {command!r} is neither run by this test nor in NOT_RUN")
        seen_here.add(line)
        RAN.add(line)


# ---------------------------------------------------------------- the references


def documented_identifiers():
    identifiers = set()
    for page in (DOCS / "reference" / "api").glob("*.md"):
        identifiers |= set(re.findall(r"^::: ([\w.]+)\s*$", page.read_text(), re.M))
    return identifiers


def imported_names(tree):
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names


def all_kerasgen_modules():
    """Import every module of kerasgen, so that `kerasgen.__dir__()` lists every submodule it can hold."""
    import pkgutil

    import kerasgen

    names = [info.name for info in pkgutil.walk_packages(kerasgen.__path__, "kerasgen.")]
    for name in [*names, "kerasgen.zoo", "kerasgen.cli"]:  # zoo/ and cli/ are mapped into the package by setup.py
        importlib.import_module(name)


def exported_names():
    """`(package, name)` for every public name of `kerasgen` (its `__dir__`, with every submodule imported) and of
    each built-in family package: what the package defines itself and what it loads on first use, not what it
    imports from elsewhere."""
    import kerasgen
    from kerasgen import families

    all_kerasgen_modules()
    tree = ast.parse(pathlib.Path(kerasgen.__file__).read_text())
    pairs = {("kerasgen", name) for name in kerasgen.__dir__() if not name.startswith("_")}
    pairs -= {("kerasgen", name) for name in imported_names(tree)}
    for family in families.BUILTIN:
        package = importlib.import_module(f"kerasgen.{family}")
        tree = ast.parse(inspect.getsource(package))
        for node in tree.body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name) and not target.id.startswith("_"):
                        pairs.add((package.__name__, target.id))
                if isinstance(node.value, ast.Call) and getattr(node.value.func, "id", None) == "lazy_classes":
                    lazy = node.value.args[1]
                    pairs |= {(package.__name__, key.value) for key in lazy.keys}
            elif isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_"):
                pairs.add((package.__name__, node.name))
    return sorted(pairs)


def test_every_exported_name_has_an_api_reference_entry():
    documented = documented_identifiers()
    missing = []
    for package, name in exported_names():
        target = getattr(importlib.import_module(package), name)
        candidates = {f"{package}.{name}"}
        if inspect.ismodule(target):  # the module, or what it holds
            candidates.add(target.__name__)
            candidates |= {identifier for identifier in documented if identifier.startswith(target.__name__ + ".")}
        elif inspect.isclass(target) or inspect.isfunction(target):
            candidates.add(f"{target.__module__}.{target.__qualname__}")
        if not candidates & documented:
            missing.append(f"{package}.{name}")
    assert not missing, f"no `::: NAME` entry in docs/reference/api/ for {missing}"
    assert len(exported_names()) > 30


def test_the_api_reference_names_only_objects_that_exist():
    for identifier in documented_identifiers():
        parts = identifier.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                target = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            for part in parts[cut:]:
                target = getattr(target, part)
            break


def test_the_command_line_reference_lists_every_train_command():
    pytest.importorskip("mkdocs_click")
    from mkdocs_click._docs import make_command_docs

    from kerasgen import families

    text = "\n".join(make_command_docs("kerasgen", cli, depth=1, style="plain", has_attr_list=True))
    assert "::: mkdocs-click" in (DOCS / "reference" / "cli.md").read_text()
    for name in families.names():
        assert f"#kerasgen-train-{name} " in text, f"kerasgen train {name} is missing from the CLI reference"
    assert "--semantic-classifier" in text and "--conditional" in text


def test_the_zoo_pages_are_made_from_every_card():
    hooks = pytest.importorskip("docs.hooks", reason="needs the docs extra (mkdocs, griffe)")
    from kerasgen import zoo

    assert hooks.entry_names() == zoo.list()
    for name in zoo.list():
        card = zoo.card(name)
        page = hooks.entry_page(name, card)
        assert card["training"]["command"] in page and card["metrics"]["command"] in page
        assert card["data"]["license"] in page
        for file, command, _ in hooks.pictures(name, card):
            assert f"]({name}/{file})" in page and (command is None or command in page)
    index = hooks.index_page(zoo.list(), {name: zoo.card(name) for name in zoo.list()})
    assert all(f"]({name}.md)" in index for name in zoo.list())


def test_the_docs_extra_pins_the_site_tools():
    setup = (ROOT / "setup.py").read_text()
    for package in ("mkdocs", "mkdocs-material", "mkdocstrings[python]", "mkdocs-click"):
        assert f'"{package}>=' in setup, package
    assert "mkdocs build --strict" in (ROOT / ".ci" / "run").read_text()
    assert os.path.isfile(ROOT / "mkdocs.yml")
