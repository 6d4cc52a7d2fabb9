"""The cache of the adaptation protocol's baselines (source only, train on target) under `$KERASGEN_HOME`.

They do not depend on the CycleGAN, so `kerasgen.cyclegan.adaptation` trains them once per key
(`adaptation.baseline_key`): their accuracies in a JSON file and the seed-0 target classifier's weights
beside it, each written atomically, weights first.

Example:
    >>> results_path, weights_path = cache_paths("0123456789abcdef")
"""

import json

from kerasgen.errors import UserError
from kerasgen.files import cannot_write, kerasgen_home, save_atomically, write_atomically

CACHE_FOLDER = "adaptation"
CACHE_VERSION = 1
"""Part of the cache key: raise it when the protocol's code changes what a cached baseline holds."""


def cache_paths(key):
    """The cache's two files for `key`: the results (JSON) and the seed-0 target classifier's weights.

    Example:
        >>> [path.name for path in cache_paths("0123456789abcdef")]
        ['baselines-0123456789abcdef.json', 'baselines-0123456789abcdef.target.weights.h5']
    """
    folder = kerasgen_home() / CACHE_FOLDER
    return folder / f"baselines-{key}.json", folder / f"baselines-{key}.target.weights.h5"


def read_baselines(key, material, image_shape):
    """`(accuracies, target_classifier)` cached for `key`, or None if absent, unreadable or not for `material`."""
    from kerasgen.classifier.model import Classifier

    results_path, weights_path = cache_paths(key)
    try:
        results = json.loads(results_path.read_text())
        if results["material"] != material:
            return None
        classifier = Classifier(image_shape=image_shape)
        classifier.load_weights(weights_path)
    except (OSError, ValueError, KeyError):
        return None
    return results["accuracies"], classifier


def write_baselines(key, material, accuracies, target_classifier):
    """Cache the baselines' results and the target classifier's weights, each atomically, weights first."""
    results_path, weights_path = cache_paths(key)
    try:
        results_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(cannot_write(results_path.parent, error)) from None
    save_atomically(weights_path, target_classifier.save_weights, suffix=".weights.h5")
    results = {"material": material, "accuracies": {name: accuracies[name] for name in ("source_only", "target")}}
    write_atomically(results_path, json.dumps(results, indent=2))
