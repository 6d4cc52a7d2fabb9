"""The registry of pretrained models: `kerasgen.zoo.list()`, `kerasgen.zoo.load(name)`.

An entry is a folder `entries/<family>.<tag>/` holding `card.json` (model
class and config, data and split, training command, measured metrics with the
command that produced them, weights file and sha256, license, paper) and
`samples.png`. A training run's output folder has the same `card.json`, so
`load` takes either an entry name or such a folder.

An entry is self-contained: its weights (`model.weights.h5`) lie beside its
card and ship in the package. An entry hosted elsewhere names its weights'
`weights.url`; they are then downloaded into the cache folder
(`$KERASGEN_HOME`, default `~/.cache/kerasgen`). Every file is checked against
the card's sha256 before Keras sees it, and every weight it holds must be
finite (no NaN or infinity).

Example:
    >>> import kerasgen
    >>> kerasgen.zoo.list()
    ['autoencoder.mnist', 'vae.mnist', ...]
    >>> model = kerasgen.zoo.load("vae.mnist")
    >>> digits = model.sample(16, seed=0)
"""

import difflib
import hashlib
import json
import pathlib
import warnings

from kerasgen.errors import UserError, first_line
from kerasgen.files import kerasgen_home

ENTRIES = pathlib.Path(__file__).resolve().parent / "entries"
CARD = "card.json"
CARD_FIELDS = {
    "class": str,
    "config": dict,
    "weights.file": str,
    "weights.sha256": str,
    "data.dataset": str,
    "data.image_size": int,
}
"""What every card holds (a dotted name is a key of a part), with its type: what loading and measuring a model read."""


def list():  # noqa: A001 - the registry's natural verb, as in timm.list_models
    """Names of every registered entry, sorted.

    Example:
        >>> "vae.mnist" in kerasgen.zoo.list()
        True
    """
    return sorted(path.parent.name for path in ENTRIES.glob(f"*/{CARD}"))


def cache_dir():
    """Where downloaded weights are kept: `$KERASGEN_HOME` or `~/.cache/kerasgen` (`kerasgen.files.kerasgen_home`)."""
    return kerasgen_home()


def card_path(name_or_dir):
    """Path of the card of an entry name or a model folder; a clear error if neither."""
    folder = pathlib.Path(name_or_dir)
    if (folder / CARD).is_file():
        return folder / CARD
    if (ENTRIES / str(name_or_dir) / CARD).is_file():
        return ENTRIES / str(name_or_dir) / CARD
    if folder.is_dir():
        raise UserError(f"{str(folder)!r} is not a model folder: it has no {CARD}.")
    close = difflib.get_close_matches(str(name_or_dir), list(), n=3, cutoff=0.4)
    hint = f" Did you mean {' or '.join(repr(name) for name in close)}?" if close else ""
    raise UserError(f"Unknown zoo entry or model folder {str(name_or_dir)!r}.{hint} See `kerasgen zoo list`.")


def card(name_or_dir):
    """The card of an entry or model folder, as a dict; a clear error if it is malformed.

    Example:
        >>> kerasgen.zoo.card("autoencoder.mnist")["metrics"]
    """
    path = card_path(name_or_dir)
    try:
        card_data = json.loads(path.read_text())
    except (OSError, ValueError, TypeError) as error:
        raise UserError(f"Cannot read {str(path)!r}: {error}") from None
    if not isinstance(card_data, dict):
        raise UserError(f"{str(path)!r} is not a card: it holds a JSON {type(card_data).__name__}, not an object.")
    missing = [field for field, kind in CARD_FIELDS.items() if not _holds(card_data, field.split("."), kind)]
    if missing:
        needs = ", ".join(f"{field} ({CARD_FIELDS[field].__name__})" for field in missing)
        raise UserError(f"{str(path)!r} is not a complete card: it needs {needs}.")
    return card_data


def _holds(part, keys, kind):
    """Whether `part[keys[0]][keys[1]]...` exists and is a `kind` (a JSON true/false is no int)."""
    for key in keys:
        if not isinstance(part, dict) or key not in part:
            return False
        part = part[key]
    return isinstance(part, kind) and not isinstance(part, bool)


def sha256(path):
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_path(name_or_dir):
    """Find, verify (sha256) and return the weights file of an entry or model folder.

    The weights are looked for beside the card (entries ship theirs in
    the package); an entry hosted elsewhere (a card with `weights.url`) is
    then looked for in the cache folder and downloaded into it.

    Raises:
        UserError: no copy is found or can be downloaded, or the copy found
            does not match the card's sha256.

    Example:
        >>> kerasgen.zoo.weights_path("vae.mnist")
        PosixPath('.../kerasgen/zoo/entries/vae.mnist/model.weights.h5')
    """
    location = card_path(name_or_dir)
    weights = card(name_or_dir)["weights"]
    beside = location.parent / weights["file"]
    if beside.is_file():
        return _verified(beside, weights["sha256"])
    if weights.get("url"):
        return _verified(_download(weights), weights["sha256"])  # get_file checks and renews the cached copy
    raise UserError(f"Weights {weights['file']!r} not found in {str(location.parent)!r}, and the card has no URL.")


def _download(weights):
    import keras

    cache_dir().mkdir(parents=True, exist_ok=True)
    try:
        path = keras.utils.get_file(
            weights["file"],
            origin=weights["url"],
            cache_dir=str(cache_dir()),
            cache_subdir="",
            file_hash=weights["sha256"],
            hash_algorithm="sha256",
        )
    except Exception as error:  # get_file raises plain Exception for network failures
        raise UserError(f"Cannot download {weights['url']}: {error}") from None
    return pathlib.Path(path)


def _verified(path, expected):
    actual = sha256(path)
    if actual != expected:
        raise UserError(
            f"Weights file {str(path)!r} has sha256 {actual}, but the card expects {expected}; not loading it."
        )
    return path


def build(card_data):
    """A fresh, untrained model from a card's class and config.

    Example:
        >>> model = kerasgen.zoo.build(kerasgen.zoo.card("vae.mnist"))
    """
    from kerasgen import families

    return families.for_class(card_data["class"]).model_class().from_config(card_data["config"])


def load(name_or_dir):
    """A ready Keras model with verified pretrained weights.

    Args:
        name_or_dir: an entry name (`kerasgen.zoo.list()`) or a folder written
            by `kerasgen train`.

    Returns:
        The model, uncompiled (compile it to fine-tune).

    Raises:
        UserError: an unknown entry or folder, a bad card, weights that are
            missing, do not match the card's sha256, do not fit the model, or
            hold a NaN or an infinity.

    Example:
        >>> model = kerasgen.zoo.load("autoencoder.mnist")
        >>> codes = model.encode(images)
    """
    model, weights = load_unchecked(name_or_dir)
    refuse_non_finite(model, weights, "loading")
    return model


def load_unchecked(name_or_dir):
    """`(model, weights_path)`: `load` without the finite check, for callers that refuse in their own words
    (`kerasgen.export` refuses non-finite weights with "not exporting them").

    Example:
        >>> model, weights = load_unchecked("vae.mnist")
    """
    import h5py

    weights = weights_path(name_or_dir)
    try:
        model = build(card(name_or_dir))
    except (ValueError, TypeError) as error:
        raise UserError(f"The card's config does not build a model: {first_line(error)}") from None
    with warnings.catch_warnings(record=True) as caught:  # Keras warns of each mismatch before it raises
        warnings.simplefilter("always")
        try:
            model.load_weights(weights)
        except (OSError, ValueError) as error:  # a file its sha256 vouches for, that Keras cannot use
            reason = first_line(error).split(". ")[0].rstrip(".:")
            if isinstance(error, OSError) or not h5py.is_hdf5(weights):
                raise UserError(f"Weights file {str(weights)!r} is damaged: it cannot be read ({reason}).") from None
            raise UserError(
                f"Weights file {str(weights)!r} does not fit the model its card describes ({reason}); "
                "the card and the weights belong to different models."
            ) from None
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return model, weights


def refuse_non_finite(model, weights, action):
    """Raise a one-line UserError naming the first variable of `model` that holds a NaN or an infinity.

    Args:
        model: a model with its weights in place.
        weights: the file they came from, or None for a model in memory.
        action: what is refused, e.g. "loading" or "exporting".

    Example:
        >>> refuse_non_finite(model, "runs/x/model.weights.h5", "loading")
        UserError: Weights in 'runs/x/model.weights.h5' are not finite (conv2d_3/kernel holds NaN or infinity); \
not loading them.
    """
    from kerasgen.finite import first_non_finite

    bad = first_non_finite(model)
    if bad is not None:
        source = "The model's weights are" if weights is None else f"Weights in {str(weights)!r} are"
        raise UserError(f"{source} not finite ({bad} holds NaN or infinity); not {action} them.")


def goal_met(goal, metrics):
    """Whether a card's goal (`{"figure", "at_most" or "at_least", "source", "met"}`) holds for `metrics`.

    Example:
        >>> goal_met({"figure": "accuracy", "at_least": 0.993}, {"accuracy": 0.9943})
        True
    """
    value = metrics[goal["figure"]]
    return value <= goal["at_most"] if "at_most" in goal else value >= goal["at_least"]


def goal_text(goal):
    """A goal in words: `squared_error <= 2.5: met`."""
    bound = f"<= {goal['at_most']:g}" if "at_most" in goal else f">= {goal['at_least']:g}"
    return f"{goal['figure']} {bound}: {'met' if goal['met'] else 'missed'}"


def table():
    """The zoo as a Markdown table, one row per entry: class, headline figure, goals, sample grid (the README's).

    Example:
        >>> print(kerasgen.zoo.table())
    """
    from kerasgen import families

    rows = ["| entry | class | headline figure (test set) | goals | picture |", "| --- | --- | --- | --- | --- |"]
    for name in list():
        entry = card(name)
        key, label = families.headline_of(entry)
        value = entry.get("metrics", {}).get(key)
        figure = f"{label}: **{value}**" if value is not None else "not measured"
        goals = "; ".join(goal_text(goal) for goal in entry.get("goals", [])) or "—"
        picture = f"[grid](zoo/entries/{name}/{entry['sample_grid']})"
        rows.append(f"| `{name}` | {entry['class']} | {figure} | {goals} | {picture} |")
    return "\n".join(rows)
