"""MkDocs hook: the zoo's pages, made from the entries' cards at every build, so pages and cards cannot disagree.

For every `zoo/entries/NAME/card.json` it adds a page `zoo/NAME.md` (figures with the
commands that measured them, the pictures with the commands that drew them, the
training command, data and split, licence, weights) and copies the entry's PNGs
beside it (`zoo/NAME/*.png`); `zoo/index.md` is the zoo's table. The pages are
added to the "The zoo" section of the navigation. Nothing is written into `docs/`.

`kerasgen.families` is imported for each family's headline figure; it does not
import TensorFlow.
"""

import json
import pathlib
import re
import sys

import griffe
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

ROOT = pathlib.Path(__file__).resolve().parent.parent
ENTRIES = ROOT / "zoo" / "entries"
ZOO_SECTION = "The zoo"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
RESULTS_MARKER = "<!-- benchmarks/RESULTS.md -->"
REPOSITORY_URL = None  # no public address yet; cards and files are named by their path in the repository

# Keys of a card this page lays out itself; every other key is shown under "Other fields", so nothing is lost.
SHOWN = {"name", "class", "config", "data", "training", "metrics", "weights", "paper", "license"}
GOAL_KEYS = ("goal", "goals")
ANCHOR_KEYS = ("anchor", "anchors")
BESIDE = {
    "squared_error": ("pca_squared_error",),
    "iwae_nll": ("negative_elbo",),
    "fid": ("fid_floor", "conditional_accuracy", "mean_confidence"),
    "accuracy": ("errors",),
    "a2b_label_kept": ("a2b_baseline", "b2a_label_kept", "b2a_baseline"),
    "a2b_cycle_error": ("b2a_cycle_error",),
    "adapted_accuracy": ("source_only_accuracy", "target_accuracy", "frechet_to_target"),
}
"""Figures the zoo's table shows beside an entry's headline figure, by the headline's key."""


MAPPED_PACKAGES = {"zoo": ROOT / "zoo", "cli": ROOT / "cli"}
"""Sub-packages of kerasgen that live outside `kerasgen/` (setup.py's `package_dir`), as griffe must be told."""


class KerasgenDocstrings(griffe.Extension):
    """A griffe extension (named in mkdocs.yml) for the API reference.

    - reads `zoo/` and `cli/` as `kerasgen.zoo` and `kerasgen.cli`: setup.py maps them into the
      package with `package_dir`, and griffe's static finder looks in `kerasgen/zoo/` only;
    - reads kerasgen's `Example:` sections (Keras's spelling) as Google-style `Examples:`, so that
      their `>>>` lines render as code.
    """

    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = re.sub(r"^(\s*)Example:\s*$", r"\1Examples:", obj.docstring.value, flags=re.M)

    def on_package(self, *, pkg, loader, **kwargs):
        if pkg.name != "kerasgen":
            return
        for name, folder in MAPPED_PACKAGES.items():
            if name not in pkg.members:
                pkg.set_member(name, loader._load_module(name, folder / "__init__.py", parent=pkg))


def entry_names():
    return sorted(path.parent.name for path in ENTRIES.glob("*/card.json"))


def read_card(name):
    return json.loads((ENTRIES / name / "card.json").read_text(encoding="utf-8"))


def headline(card):
    """`(label, value)` of the family's headline figure (`kerasgen zoo list` shows the same)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from kerasgen import families

    try:
        key, label = families.headline_of(card)
    except Exception:  # a card of a class no installed family provides: show no headline rather than fail
        return None, None
    return label, card.get("metrics", {}).get(key)


def pictures(name, card):
    """`[(file, command or None, card key or None)]`: pictures the card names (with the command that drew each,
    its `KEY_command`), then any other PNG in the entry's folder."""
    found, named = [], set()
    for key, value in card.items():
        if isinstance(value, str) and value.lower().endswith(".png") and (ENTRIES / name / value).is_file():
            command = card.get(f"{key}_command") or card.get(f"{key.removesuffix('_grid')}_command")
            found.append((value, command, key))
            named.add(value)
    for path in sorted((ENTRIES / name).glob("*.png")):
        if path.name not in named:
            found.append((path.name, None, None))
    return found


def value_text(value):
    """A value in a table cell: numbers and strings as they are, lists and dicts compactly."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return "; ".join(f"{key}: {value_text(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(value_text(item) for item in value)
    if value is None:
        return "—"
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(rows, header=("key", "value")):
    lines = [f"| {header[0]} | {header[1]} |", "| --- | --- |"]
    lines += [f"| `{key}` | {value_text(value)} |" for key, value in rows]
    return "\n".join(lines)


def fenced(text, language="bash"):
    return f"```{language}\n{text}\n```"


def keys_text(card, keys):
    parts = [card[key] for key in keys if key in card]
    if not parts:
        return None
    return "; ".join(value_text(part) for part in parts)


def goal_text(card):
    return keys_text(card, GOAL_KEYS)


def model_summary(card):
    """A few words on an entry's model: its class and what sets it apart, and how long it trained."""
    config, training = card.get("config", {}), card.get("training", {})
    parts = [f"`{card['class']}`"]
    if config.get("architecture"):
        parts.append(config["architecture"])
    if config.get("generator"):
        parts.append(f"{config['generator']} generator")
    if config.get("latent_dim"):
        parts.append(f"{config['latent_dim']}-d latent")
    if config.get("num_classes") and card["class"] != "Classifier":
        parts.append("conditional")
    if config.get("semantic_classifier"):
        parts.append(f"semantic term: `{config['semantic_classifier']}`")
    if config.get("image_shape"):
        parts.append("x".join(map(str, config["image_shape"])))
    if training.get("epochs"):
        steps = f" of {training['steps_per_epoch']} steps" if card.get("data", {}).get("domains") else ""
        parts.append(f"{training['epochs']} epochs{steps}")
    return ", ".join(parts)


def beside_text(card):
    """The figures shown beside the headline in the zoo's table, as `name value` pairs."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from kerasgen import families

    try:
        key = families.headline_of(card)[0]
    except Exception:
        return ""
    metrics = card.get("metrics", {})
    shown = [f"{name} {value_text(metrics[name])}" for name in BESIDE.get(key, ()) if name in metrics]
    return f" ({', '.join(shown)})" if shown else ""


def entry_page(name, card):
    """The Markdown page of one entry."""
    family_class = card["class"]
    label, value = headline(card)
    metrics = dict(card.get("metrics", {}))
    command = metrics.pop("command", None)
    definition = metrics.pop("definition", None)
    lines = [
        f"# `{name}`",
        "",
        f"A `{family_class}` ([`kerasgen.{family_class}`](../reference/api/models.md)), "
        f"trained on `{card['data'].get('dataset')}` (`{card['data'].get('split')}` split).",
        "",
        "This page is made from the entry's card, "
        f"`zoo/entries/{name}/card.json` (also `kerasgen zoo info {name}`), at every build of these docs.",
        "",
    ]
    if label is not None:
        shown = "not measured" if value is None else f"**{value_text(value)}**"
        lines += [f"**{label}**: {shown}", ""]
    goal = goal_text(card)
    if goal:
        lines += [f"**Goal**: {goal}", ""]
    anchor = keys_text(card, ANCHOR_KEYS)
    if anchor:
        lines += [f"**Published figure to compare with**: {anchor}", ""]
    found = pictures(name, card)
    if found:
        lines += ["## Pictures", ""]
        for file, drawn_by, key in found:
            title = f"`{file}`" + (f" (`{key}`)" if key else "")
            lines += [f"### {title}", "", f"![{name}: {file}]({name}/{file})", ""]
            lines += ["Drawn by:", "", fenced(drawn_by), ""] if drawn_by else ["(the card names no command for it)", ""]
    lines += ["## Figures", ""]
    if metrics:
        lines += [
            "Measured on the test split by `kerasgen evaluate` "
            "([how each figure is defined](../figures.md)), with this command:",
            "",
            fenced(command) if command else "(the card names no command)",
            "",
            table(metrics.items(), ("figure", "value")),
            "",
        ]
        if definition:
            lines += [f"Definition, as the card states it: {definition}", ""]
    else:
        lines += ["Not measured yet.", ""]
    training = dict(card.get("training", {}))
    lines += ["## Training", ""]
    train_command = training.pop("command", None)
    if train_command:
        lines += ["Trained by:", "", fenced(train_command), ""]
    if training:
        lines += [table(training.items(), ("setting", "value")), ""]
    data = card.get("data", {})
    lines += ["## Data and split", "", table((key, data[key]) for key in data if key != "license"), ""]
    lines += ["## Licence", ""]
    lines += [f"- Weights: {card.get('license', 'not stated')}", f"- Data: {data.get('license', 'not stated')}", ""]
    lines += ["## Use it", "", fenced(f'import kerasgen\n\nmodel = kerasgen.zoo.load("{name}")', "python"), ""]
    lines += [
        fenced(
            f"kerasgen zoo info {name}\nkerasgen evaluate {name}\nkerasgen sample {name} -o grid.png\n"
            f"kerasgen export {name} --base saved_models/"
        ),
        "",
    ]
    if card.get("paper"):
        lines += ["## Paper", "", card["paper"], ""]
    lines += ["## Model", "", f"Class `{family_class}`, built from this config:", ""]
    lines += [table(card.get("config", {}).items(), ("argument", "value")), ""]
    weights = card.get("weights", {})
    lines += ["## Weights", "", table(weights.items(), ("field", "value")), ""]
    weights_file = ENTRIES / name / weights.get("file", "")
    if weights_file.is_file():
        lines += [f"The file is {weights_file.stat().st_size / 1e6:.1f} MB and ships inside the package.", ""]
    other = {key: value for key, value in card.items() if key not in SHOWN | set(GOAL_KEYS) | set(ANCHOR_KEYS)}
    other = {key: value for key, value in other.items() if not any(key == k for _, _, k in found)}
    other = {key: value for key, value in other.items() if not key.endswith("_command")}
    if other:
        lines += ["## Other fields", "", fenced(json.dumps(other, indent=2), "json"), ""]
    return "\n".join(lines)


def index_page(names, cards):
    """The zoo's table: one row per entry, with a thumbnail of its first picture."""
    with_goals = any(goal_text(card) for card in cards.values())
    with_anchors = any(keys_text(card, ANCHOR_KEYS) for card in cards.values())
    columns = ["entry", "model", "data", "figures on the test split"]
    columns += ["published figure"] * with_anchors + ["goal"] * with_goals + ["pictures"]
    lines = [
        "# The zoo",
        "",
        "Every entry is a folder `zoo/entries/NAME/` (its card, `model.weights.h5`, pictures) that ships in the "
        'package: `kerasgen.zoo.load("NAME")` loads it without a download, its weights checked against the '
        "card's sha256. The pages below are made from the cards at every build, so they say what the cards say.",
        "",
        "| " + " | ".join(columns) + " |",
        "|" + " --- |" * len(columns),
    ]
    for name in names:
        card = cards[name]
        label, value = headline(card)
        if label is None:
            figure = "—"
        elif value is None:
            figure = f"{label}: not measured"
        else:
            figure = f"{label}: **{value_text(value)}**{beside_text(card)}"
        data = card.get("data", {})
        found = pictures(name, card)
        shown = ""
        if found:
            first = found[0][0]
            shown = f'[![{name}]({name}/{first}){{ width="96" }}]({name}.md#pictures) '
            shown += ", ".join(f"[{file}]({name}/{file})" for file, _, _ in found)
        cells = [f"[`{name}`]({name}.md)", model_summary(card), f"`{data.get('dataset')}` {data.get('split', '')}"]
        cells.append(figure)
        cells += [keys_text(card, ANCHOR_KEYS) or "—"] * with_anchors + [goal_text(card) or "—"] * with_goals
        cells.append(shown or "—")
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Figures are measured by `kerasgen evaluate NAME` on the test split "
        "([how, and what was met and missed](../figures.md)); each entry's page gives every figure with the "
        "command that measured it, and the command that trained it.",
        "",
        "To reproduce an entry: run its training command, then `python scripts/publish_entry.py runs/NAME NAME` "
        "and `kerasgen evaluate NAME --update-card`.",
        "",
    ]
    return "\n".join(lines)


def on_config(config):
    """Lists every entry's page under "The zoo" in the navigation, after its index."""
    pages = [{name: f"zoo/{name}.md"} for name in entry_names()]
    for section in config["nav"] or []:
        if isinstance(section, dict) and ZOO_SECTION in section:
            section[ZOO_SECTION] = [page for page in section[ZOO_SECTION] if page == "zoo/index.md"] + pages
            break
    else:
        raise ValueError(f"mkdocs.yml's nav has no {ZOO_SECTION!r} section for the zoo's pages.")
    return config


def on_files(files, config):
    """Adds the zoo's generated pages and copies of the entries' pictures."""
    names = entry_names()
    cards = {name: read_card(name) for name in names}
    files.append(File.generated(config, "zoo/index.md", content=index_page(names, cards)))
    for name in names:
        files.append(File.generated(config, f"zoo/{name}.md", content=entry_page(name, cards[name])))
        for file, _, _ in pictures(name, cards[name]):
            files.append(File.generated(config, f"zoo/{name}/{file}", abs_src_path=str(ENTRIES / name / file)))
    return files


def demoted(markdown, levels):
    """Markdown with every ATX heading `levels` deeper (outside fenced code)."""
    lines, fenced_block = [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced_block = not fenced_block
        if not fenced_block and re.match(r"#{1,6} ", line):
            line = "#" * levels + line
        lines.append(line)
    return "\n".join(lines)


def on_page_markdown(markdown, page, config, files):
    """Puts `benchmarks/RESULTS.md` (what `python -m benchmarks` last wrote) where a page has its marker."""
    if RESULTS_MARKER in markdown:
        markdown = markdown.replace(RESULTS_MARKER, demoted(RESULTS.read_text(encoding="utf-8"), 2))
    return markdown


def on_page_content(html, page, config, files):
    """Fails the build if the command-line reference lacks a `kerasgen train FAMILY` command.

    The `train` group makes its subcommands per registered family when asked (`list_commands`);
    should mkdocs-click stop asking, the reference would silently lose them.
    """
    if page.file.src_uri == "reference/cli.md":
        from kerasgen import families

        missing = [name for name in families.names() if f'id="kerasgen-train-{name}"' not in html]
        if missing:
            raise PluginError(f"The CLI reference lacks `kerasgen train {', '.join(missing)}`.")
    return html
