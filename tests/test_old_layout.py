"""What was written before the per-family layout still loads, computes the same and resumes.

The fixtures in `tests/fixtures/old_layout/` were made by the code of commit
50c8d21, before the move (its README says how): per family a model folder, a
`.keras` file, the outputs the old code computed on fixed inputs, and a run
interrupted after its first epoch beside the weights of the same run left to
finish.
"""

import json
import pathlib
import shutil

import numpy as np
import pytest

import kerasgen
from kerasgen import training, zoo

pytestmark = pytest.mark.slow  # runs in .ci/run after the README's test command

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures" / "old_layout"
RUNS = json.loads((FIXTURES / "runs.json").read_text())
FAMILIES = sorted(RUNS)


def outputs(family, model, stored):
    """What the old code computed on the stored inputs (fixtures README, "Outputs"), computed now."""
    if family == "autoencoder":
        return {"codes": model.encode(stored["images"]), "reconstructions": model.reconstruct(stored["images"])}
    if family == "vae":
        mean, log_var = model.encode(stored["images"])
        return {"mean": mean, "log_var": log_var, "reconstructions": model.reconstruct(stored["images"])}
    if family == "gan":
        return {
            "generated": model.generate(10, labels=np.arange(10, dtype=np.int32), seed=0),
            "from_latents": model([stored["latents"], stored["gan_labels"]]),
        }
    if family == "classifier":
        return {"probabilities": model(stored["images"], training=False)}
    return {"a2b": model.translate(stored["images_a"], "a2b"), "b2a": model.translate(stored["images_b"], "b2a")}


def assert_same_outputs(family, model):
    with np.load(FIXTURES / f"{family}_outputs.npz") as stored:
        for key, value in outputs(family, model, stored).items():
            np.testing.assert_allclose(np.asarray(value), stored[key], atol=1e-5, rtol=0, err_msg=f"{family} {key}")


@pytest.mark.parametrize("family", FAMILIES)
def test_a_model_folder_written_before_the_move_loads_and_computes_the_same(family):
    assert_same_outputs(family, zoo.load(FIXTURES / family))


@pytest.mark.parametrize("family", FAMILIES)
def test_a_keras_file_written_before_the_move_loads_and_computes_the_same(family):
    assert_same_outputs(family, kerasgen.load_model(FIXTURES / f"{family}.keras"))


@pytest.mark.parametrize("family", FAMILIES)
def test_a_run_interrupted_before_the_move_resumes_after_it(family, tmp_path):
    folder = tmp_path / family
    shutil.copytree(FIXTURES / f"{family}_interrupted", folder)
    # Without `deterministic`: it would switch on TensorFlow's op determinism for the rest of this process (there
    # is no public way back), and with it XLA for every later test; these CPU kernels are deterministic anyway.
    training.train(family, folder, **{**RUNS[family]["resume"], "deterministic": False})
    card = zoo.card(folder)
    assert card["training"]["resumed_from_step"] > 0 and card["training"]["completed_epochs"] == 2
    weights = zoo.load(folder).get_weights()
    with np.load(FIXTURES / f"{family}_uninterrupted.npz") as stored:
        expected = [stored[key] for key in sorted(stored.files)]
    assert len(weights) == len(expected)
    for index, (actual, wanted) in enumerate(zip(weights, expected, strict=True)):
        np.testing.assert_allclose(actual, wanted, atol=1e-5, rtol=0, err_msg=f"{family} weight {index}")
