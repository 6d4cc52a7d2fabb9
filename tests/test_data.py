import numpy as np
import pytest

from kerasgen import data
from kerasgen.errors import UserError


def test_mnist_split_is_fixed_disjoint_and_complete():
    train, train_labels = data.load_mnist("train")
    heldout, heldout_labels = data.load_mnist("heldout")
    everything, labels = data.load_mnist("all")
    assert train.shape == (9000, 28, 28, 1) and heldout.shape == (1000, 28, 28, 1)
    assert train.dtype == np.uint8
    assert np.bincount(labels).tolist() == [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
    train_rows = {image.tobytes() for image in train}
    assert not any(image.tobytes() in train_rows for image in heldout)
    assert sorted(np.concatenate([train_labels, heldout_labels]).tolist()) == sorted(labels.tolist())
    again, _ = data.load_mnist("heldout")
    np.testing.assert_array_equal(heldout, again)
    assert np.bincount(heldout_labels, minlength=10).min() > 60


def test_embedded_digits_are_real_eight_bit_images():
    images, _ = data.load_mnist("all")
    assert len(np.unique(images)) == 256
    assert 0.10 < images.mean() / 255 < 0.16  # MNIST's mean intensity is about 0.13


def test_tampered_asset_is_refused(tmp_path, monkeypatch):
    (tmp_path / "mnist10k.npz").write_bytes((data.ASSETS / "mnist10k.npz").read_bytes()[:-10] + b"0" * 10)
    (tmp_path / "mnist10k.sha256").write_text((data.ASSETS / "mnist10k.sha256").read_text())
    monkeypatch.setattr(data, "ASSETS", tmp_path)
    with pytest.raises(RuntimeError, match="sha256"):
        data.load_mnist("train")


@pytest.mark.parametrize("size", [28, 32])
def test_uci_digits_are_a_resized_second_domain(size):
    train, labels = data.load_uci_digits("train", size=size)
    heldout, _ = data.load_uci_digits("heldout", size=size)
    assert train.shape == (1497, size, size, 1) and heldout.shape == (300, size, size, 1)
    assert train.max() == 255 and set(labels.tolist()) == set(range(10))


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


def test_tfds_loader_offline_with_mock_data():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=6):
        images, labels = data.load_images("tfds:mnist", "train", size=16)
    assert images.shape == (6, 16, 16, 1) and images.dtype == np.uint8
    assert labels.shape == (6,)


def test_unknown_tfds_name_is_a_user_error():
    with pytest.raises(UserError, match="tfds dataset"):
        data.load_images("tfds:no_such_dataset_xyz", "train", 16)


def test_pipeline_scales_batches_and_shuffles_reproducibly():
    images, _ = data.load_images("mnist", "heldout", 16)
    first = [batch.numpy() for batch in data.make_dataset(images[:50], batch_size=16, seed=3)]
    second = [batch.numpy() for batch in data.make_dataset(images[:50], batch_size=16, seed=3)]
    assert [len(batch) for batch in first] == [16, 16, 16, 2]
    assert first[0].dtype == np.float32 and 0.0 <= first[0].min() and first[0].max() <= 1.0
    np.testing.assert_array_equal(first[0], second[0])
    ordered = next(iter(data.make_dataset(images[:16], batch_size=16, shuffle=False))).numpy()
    np.testing.assert_allclose(ordered, images[:16] / 255.0, atol=1e-6)


def test_epoch_keyed_pipeline_resumes_mid_run_on_the_same_batches():
    images, labels = data.load_images("mnist", "heldout", 16)
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


def test_shift_augmentation_moves_digits_but_keeps_shape_and_range():
    images, _ = data.load_images("mnist", "heldout", 16)
    plain = next(iter(data.make_dataset(images[:32], batch_size=32, shuffle=False))).numpy()
    shifted = next(iter(data.make_dataset(images[:32], batch_size=32, shuffle=False, max_shift=2, seed=1))).numpy()
    assert shifted.shape == plain.shape and 0.0 <= shifted.min() and shifted.max() <= 1.0
    assert not np.allclose(shifted, plain)
    assert (
        np.abs(shifted.sum(axis=(1, 2, 3)) - plain.sum(axis=(1, 2, 3))).mean() < 0.2 * plain.sum(axis=(1, 2, 3)).mean()
    )


def test_fixed_subset_is_repeatable_and_spread():
    images, labels = data.load_mnist("train")
    first = data.fixed_subset(labels, 64)
    np.testing.assert_array_equal(first, data.fixed_subset(labels, 64))
    assert len(set(first.tolist())) == 10


def test_bad_split_batch_size_and_channels():
    with pytest.raises(UserError, match="channels"):
        data.load_images("mnist", "train", 28, channels=2)
    with pytest.raises(UserError, match="split"):
        data.load_images("mnist", "test", 28)
    with pytest.raises(UserError, match="batch_size"):
        data.make_dataset(np.zeros((4, 16, 16, 1), np.uint8), batch_size=0)
