import types

import pytest

from kerasgen.errors import UserError
from kerasgen.training import StopOnNonFinite, train


@pytest.mark.parametrize("key", ["loss", "kl_loss", "d_loss"])
def test_non_finite_guard_watches_every_logged_key(key):
    guard = StopOnNonFinite()
    guard.set_model(types.SimpleNamespace(stop_training=False))
    guard.on_train_batch_end(0, {"loss": 1.0, "kl_loss": 2.0, "d_loss": 3.0})
    assert not guard.model.stop_training and guard.bad_key is None
    guard.on_train_batch_end(1, {"loss": 1.0, "kl_loss": 2.0, "d_loss": 3.0, key: float("nan")})
    assert guard.model.stop_training and guard.bad_key == key


def test_unknown_model_option_is_a_user_error(tmp_path):
    with pytest.raises(UserError):
        train("vae", tmp_path / "out", epochs=1, image_size=16, no_such_option=3)
    assert not (tmp_path / "out").exists()
