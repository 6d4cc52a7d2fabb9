import types

import keras
import numpy as np
import pytest

from kerasgen.errors import UserError
from kerasgen.training import StopOnNonFinite, train


@pytest.mark.parametrize("key", ["loss", "kl_loss", "d_loss"])
def test_non_finite_guard_watches_every_logged_key(key):
    guard = StopOnNonFinite()
    guard.set_model(types.SimpleNamespace(stop_training=False, get_weights=list, set_weights=lambda weights: None))
    guard.on_train_begin()
    guard.on_train_batch_end(0, {"loss": 1.0, "kl_loss": 2.0, "d_loss": 3.0})
    assert not guard.model.stop_training and guard.bad_key is None
    guard.on_train_batch_end(1, {"loss": 1.0, "kl_loss": 2.0, "d_loss": 3.0, key: float("nan")})
    assert guard.model.stop_training and guard.bad_key == key


def test_unknown_model_option_is_a_user_error(tmp_path):
    with pytest.raises(UserError):
        train("vae", tmp_path / "out", epochs=1, image_size=16, no_such_option=3)
    assert not (tmp_path / "out").exists()


class InjectNaN(keras.callbacks.Callback):
    """Poisons the discriminator's first kernel at the start of epoch `epoch`."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            kernel = self.model.discriminator.trainable_weights[0]
            kernel.assign(np.full(kernel.shape, np.nan, "float32"))


def test_divergence_watch_stops_and_keeps_the_last_good_weights(batch16):
    from kerasgen.gan import GAN

    keras.utils.set_random_seed(0)
    gan = GAN(image_shape=(16, 16, 1), latent_dim=4, generator_filters=(8, 4), discriminator_filters=(4, 8))
    gan.compile()
    guard = StopOnNonFinite()
    snapshots = []
    remember = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: snapshots.append(gan.get_weights()))
    history = gan.fit(batch16, batch_size=4, epochs=4, verbose=0, callbacks=[remember, guard, InjectNaN(epoch=2)])
    assert guard.bad_key is not None and guard.good_epochs == 2 and len(history.history["d_loss"]) == 3
    for kept, good in zip(gan.get_weights(), snapshots[1], strict=True):
        np.testing.assert_array_equal(kept, good)
    assert all(np.isfinite(weight).all() for weight in gan.get_weights())


def test_diverged_run_keeps_a_loadable_folder_and_says_so(tmp_path, monkeypatch):
    from kerasgen import zoo

    monkeypatch.setattr(keras.Model, "fit", _fit_with_nan_in_second_epoch)
    with pytest.raises(UserError, match="diverged in epoch 2.*epoch 1, the last good one"):
        train("gan", tmp_path / "out", epochs=3, image_size=16, batch_size=64, **TINY_GAN)
    card = zoo.card(tmp_path / "out")
    assert card["training"]["completed_epochs"] == 1
    assert all(np.isfinite(weight).all() for weight in zoo.load(tmp_path / "out").get_weights())


TINY_GAN = {"latent_dim": 4, "generator_filters": (8, 4), "discriminator_filters": (4, 8)}
_original_fit = keras.Model.fit


def _fit_with_nan_in_second_epoch(self, *args, callbacks=(), **kwargs):
    return _original_fit(self, *args, callbacks=[InjectNaN(epoch=1), *callbacks], **kwargs)


def test_epoch_checkpoint_holds_both_optimizers_states(batch16, tmp_path):
    from kerasgen.gan import GAN
    from kerasgen.training import EpochCheckpoint

    keras.utils.set_random_seed(0)
    gan = GAN(image_shape=(16, 16, 1), d_steps=2, **TINY_GAN)
    gan.compile()
    gan.fit(batch16, batch_size=4, epochs=2, verbose=0, callbacks=[EpochCheckpoint(tmp_path / "checkpoint.weights.h5")])
    restored = GAN(image_shape=(16, 16, 1), d_steps=2, **TINY_GAN)
    restored.compile()
    restored.load_weights(tmp_path / "checkpoint.weights.h5")
    assert int(restored.d_optimizer.iterations) == 8 and int(restored.g_optimizer.iterations) == 4
    for saved, loaded in zip(gan.d_optimizer.variables, restored.d_optimizer.variables, strict=True):
        np.testing.assert_array_equal(np.asarray(saved), np.asarray(loaded))
    assert [path.name for path in tmp_path.iterdir()] == ["checkpoint.weights.h5"]
