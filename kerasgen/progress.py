"""Progress of long steps (evaluation, sampling for FID, exports, benchmarks), on stderr.

On a terminal, a bar redrawn in place with the share done, the time spent and
an estimate of the time left; anywhere else (a pipe, a log file, CI), one line
per 10%, so logs stay short and readable. Standard output is never touched, so
`kerasgen evaluate NAME > figures.json` still writes pure JSON.
`KERASGEN_PROGRESS=0` turns it off.

`keras.utils.Progbar` was considered: it writes to standard output and decides
whether to redraw from standard output's terminal, so a bar would end up in
redirected JSON; this module is a few lines of its own with no dependency.

Example:
    >>> from kerasgen.progress import progress
    >>> for batch in progress(range(0, 10_000, 20), "IWAE NLL, k = 500"):
    ...     ...
    IWAE NLL, k = 500: 10% (50/500), 14 s, about 2 min 06 s left
"""

import os
import sys
import time

BAR_WIDTH = 30
STEP = 0.1
"""Share of the work between two lines when the stream is not a terminal."""
REDRAW_SECONDS = 0.1
"""Shortest time between two redraws of a terminal bar."""


def format_duration(seconds):
    """'45 s', '2 min 05 s', '1 h 02 min'.

    Example:
        >>> format_duration(125.4)
        '2 min 05 s'
    """
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def enabled():
    """Whether progress is shown: not when `KERASGEN_PROGRESS` is `0`, `false`, `no` or `off`."""
    return os.environ.get("KERASGEN_PROGRESS", "1").strip().lower() not in ("0", "false", "no", "off")


class Progress:
    """Progress of `total` units of work, reported on `stream` (default: `sys.stderr` at the time of creation).

    Args:
        total: units of work (images, batches, steps); a positive integer.
        label: what is being done, e.g. `"Sampling for FID"`.
        stream: a text stream; a bar if it is a terminal, else a line per `STEP` of the work.
        clock: a function returning seconds (for tests).

    Example:
        >>> with Progress(4 * len(images), "Translating test images") as bar:
        ...     for chunk in chunks:
        ...         ...
        ...         bar.update(len(chunk))
    """

    def __init__(self, total, label, stream=None, clock=time.monotonic, quiet_seconds=0):
        if int(total) < 0:
            raise ValueError(f"total must not be negative. Received: total={total}")
        self.total, self.label, self.done = int(total), label, 0
        self.stream = sys.stderr if stream is None else stream
        self.clock = clock
        self.start = clock()
        self.quiet_until = self.start + quiet_seconds  # work that ends sooner reports nothing
        self.written = False
        self.terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self.shown = enabled() and self.total > 0
        self.next_line = STEP  # the share at which the next line is written (not a terminal)
        self.last_draw = None
        self.closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close(finished=exc_info[0] is None)

    def update(self, units=1):
        """Count `units` more units of work as done."""
        self.done = min(self.total, self.done + units)
        if not self.shown or (self.quiet_until > self.start and self.clock() < self.quiet_until):
            return
        if self.terminal:
            now = self.clock()
            if self.last_draw is None or now - self.last_draw >= REDRAW_SECONDS or self.done == self.total:
                self.last_draw = now
                self._write("\r" + self._bar(now))
        elif self.done / self.total >= self.next_line - 1e-9 and self.done < self.total:
            share = self.done / self.total
            while self.next_line <= share + 1e-9:
                self.next_line += STEP
            self._write(self._line(self.clock()) + "\n")

    def close(self, finished=True):
        """End the report: the bar's final state (terminal), or a last line with the total time."""
        if self.closed or not self.shown or (self.quiet_until > self.start and not self.written):
            self.closed = True
            return
        self.closed = True
        now = self.clock()
        if self.terminal:
            self._write(("" if self.done == self.total else "\r" + self._bar(now, final=True)) + "\n")
        elif finished and self.done == self.total:
            self._write(f"{self.label}: 100% ({self.done}/{self.total}) in {format_duration(now - self.start)}\n")
        else:
            self._write(
                f"{self.label}: stopped at {self.done}/{self.total} after {format_duration(now - self.start)}\n"
            )

    def remaining(self, now=None):
        """Estimated seconds left (elapsed time per unit so far, times the units left), or None before any unit."""
        if not self.done:
            return None
        elapsed = (self.clock() if now is None else now) - self.start
        return elapsed / self.done * (self.total - self.done)

    def _line(self, now):
        share = self.done / self.total
        return (
            f"{self.label}: {share:.0%} ({self.done}/{self.total}), {format_duration(now - self.start)}, "
            f"{_time_left(self.remaining(now))}"
        )

    def _bar(self, now, final=False):
        share = self.done / self.total
        filled = int(BAR_WIDTH * share)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        elapsed = format_duration(now - self.start)
        if final or self.done == self.total:
            timing = f"in {elapsed}"
        elif self.done:
            timing = f"{elapsed}, {_time_left(self.remaining(now))}"
        else:
            timing = elapsed
        return f"{self.label} [{bar}] {share:4.0%} {self.done}/{self.total}  {timing}\x1b[K"

    def _write(self, text):
        self.written = True
        self.stream.write(text)
        self.stream.flush()


def _time_left(seconds):
    return "almost done" if seconds < 0.5 else f"about {format_duration(seconds)} left"


def progress(items, label, total=None, stream=None, quiet_seconds=0):
    """Yield from `items` (an iterable, or an integer for `range(items)`), reporting progress as they are consumed.

    Args:
        items: what to loop over; an integer n stands for `range(n)`.
        label: what is being done, shown before the bar or line.
        total: the number of items, when `items` has no `len()`.
        stream: where to report (default: standard error).
        quiet_seconds: report nothing before this many seconds have passed (a step that is usually quick).

    Returns:
        A generator of the items.

    Example:
        >>> for start in progress(range(0, len(images), 500), "Sampling for FID"):
        ...     batches.append(model.generate(500, seed=start))
    """
    if isinstance(items, int):
        items = range(items)
    if total is None:
        total = len(items) if hasattr(items, "__len__") else 0
    with Progress(total, label, stream, quiet_seconds=quiet_seconds) as bar:
        for item in items:
            yield item
            bar.update(1)
