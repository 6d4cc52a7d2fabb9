"""kerasgen.progress: a bar on a terminal, one line per 10% elsewhere, on stderr only."""

import io
import json

import numpy as np
import pytest

from kerasgen.progress import Progress, format_duration, progress


class Clock:
    """A clock that advances one second per reading."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 1.0
        return self.now


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize(
    "seconds, text", [(0, "0 s"), (44.6, "45 s"), (125.4, "2 min 05 s"), (3725, "1 h 02 min"), (-3, "0 s")]
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_a_stream_that_is_not_a_terminal_gets_one_line_per_tenth_with_the_time_left():
    stream = io.StringIO()
    with Progress(1000, "IWAE NLL", stream=stream, clock=Clock()) as bar:
        for _ in range(100):
            bar.update(10)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10, lines  # 10% ... 90%, then the closing line
    assert lines[0].startswith("IWAE NLL: 10% (100/1000), ") and lines[0].endswith(" left")
    assert [line.split(": ")[1].split("%")[0] for line in lines[:9]] == [str(10 * k) for k in range(1, 10)]
    assert lines[-1].startswith("IWAE NLL: 100% (1000/1000) in ")
    assert "\r" not in stream.getvalue()


def test_the_estimate_is_elapsed_time_per_unit_times_the_units_left():
    bar = Progress(10, "x", stream=io.StringIO(), clock=iter([0.0, 4.0]).__next__)
    bar.update(2)
    assert bar.remaining(now=4.0) == pytest.approx(16.0)


def test_uneven_steps_write_one_line_per_tenth_crossed_and_none_twice():
    stream = io.StringIO()
    with Progress(100, "x", stream=stream, clock=Clock()) as bar:
        for units in (3, 30, 2, 64, 1):
            bar.update(units)
    shares = [line.split(": ")[1].split("%")[0] for line in stream.getvalue().splitlines()]
    assert shares == ["33", "99", "100"]


def test_a_terminal_gets_a_bar_redrawn_in_place_ending_with_a_newline():
    stream = Terminal()
    with Progress(5, "Translating", stream=stream, clock=Clock()) as bar:
        for _ in range(5):
            bar.update(1)
    text = stream.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n") and text.count("\r") == 5
    assert "Translating [" in text and "100% 5/5  in " in text.splitlines()[-1].split("\r")[-1]
    assert "20% 1/5  1 s, about 4 s left" in text  # an estimate of the time left while it runs


def test_progress_yields_every_item_and_takes_a_count():
    stream = io.StringIO()
    assert list(progress(iter("abc"), "letters", total=3, stream=stream)) == ["a", "b", "c"]
    assert list(progress(4, "numbers", stream=stream)) == [0, 1, 2, 3]
    assert "letters: 100% (3/3)" in stream.getvalue() and "numbers: 100% (4/4)" in stream.getvalue()


def test_an_interrupted_loop_says_where_it_stopped():
    stream = io.StringIO()
    with pytest.raises(KeyboardInterrupt), Progress(10, "export", stream=stream, clock=Clock()) as bar:
        bar.update(3)
        raise KeyboardInterrupt
    assert stream.getvalue().splitlines()[-1].startswith("export: stopped at 3/10 after ")


def test_kerasgen_progress_0_turns_it_off(monkeypatch):
    monkeypatch.setenv("KERASGEN_PROGRESS", "0")
    stream = Terminal()
    assert list(progress(3, "quiet", stream=stream)) == [0, 1, 2]
    assert stream.getvalue() == ""


def test_nothing_to_do_prints_nothing():
    stream = io.StringIO()
    assert list(progress([], "empty", stream=stream)) == []
    assert stream.getvalue() == ""


def test_vae_likelihood_reports_progress_on_stderr_only(capsys):
    from kerasgen.vae import VAE

    model = VAE(image_shape=(16, 16, 1), latent_dim=2, architecture="dense", hidden_units=(8,))
    images = np.random.default_rng(0).random((30, 16, 16, 1)).astype("float32")
    from kerasgen.vae.figures import vae_figures

    figures = vae_figures(model, images, samples=3, batch_size=3)
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines[0].startswith("IWAE NLL, k = 3, test images: 10% (3/30), ") and "left" in lines[0]
    assert lines[-1].startswith("IWAE NLL, k = 3, test images: 100% (30/30) in ")
    assert json.dumps(figures)


def test_cyclegan_translations_report_progress_and_keep_their_figures(monkeypatch, capsys, tmp_path):
    from PIL import Image

    from kerasgen.cyclegan import CycleGAN
    from kerasgen.cyclegan import figures as cyclegan_figures

    rng = np.random.default_rng(0)
    for domain, count in (("A", 7), ("B", 5)):
        (tmp_path / f"test{domain}").mkdir()
        for index in range(count):
            pixels = rng.integers(0, 256, (16, 16), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / f"test{domain}" / f"{index}.png")
    model = CycleGAN(image_shape=(16, 16, 1), generator_filters=4, residual_blocks=1, discriminator_filters=4)
    monkeypatch.setattr(cyclegan_figures, "PIXELS_PER_CALL", 2 * 16 * 16)  # two images per call
    figures = cyclegan_figures.cyclegan_figures(model, {"data": {"dataset": str(tmp_path)}})
    a = np.stack([np.asarray(Image.open(tmp_path / "testA" / f"{index}.png")) for index in range(7)])[..., None]
    expected = np.mean(np.abs(model.translate(model.translate(a, "a2b"), "b2a") - a / np.float32(255)))
    assert figures["a2b_cycle_error"] == pytest.approx(round(float(expected), 4), abs=1e-4)
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("Translating test images and back: 100% (24/24) in ")


def test_a_quick_step_with_quiet_seconds_reports_nothing_and_a_slow_one_reports():
    import io

    from kerasgen.progress import Progress

    ticks = iter(range(100))
    stream = io.StringIO()
    with Progress(3, "Quick", stream=stream, clock=lambda: 0.0, quiet_seconds=10) as bar:
        for _ in range(3):
            bar.update()
    assert stream.getvalue() == ""
    stream = io.StringIO()
    with Progress(3, "Slow", stream=stream, clock=lambda: float(next(ticks) * 20), quiet_seconds=10) as bar:
        for _ in range(3):
            bar.update()
    assert "Slow: 100% (3/3)" in stream.getvalue()
