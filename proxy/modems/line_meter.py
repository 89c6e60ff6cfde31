"""How long a modem's serial line was busy, in seconds: the one measure behind
``ssl_proxy_serial_busy_seconds_total`` and the status page's ``line_busy``.

The driver counts the bytes each way (``Modem.line_counts``, all module
lives).  At 8N1 a byte holds the line for ten bits, so ``bytes * 10 / baud``
is the line time those bytes need at the line's rate.  ``sample(now)`` adds,
for each direction, the line time of the bytes since the last sample, but
never more than the time that passed: a line is not busy for longer than
the clock ran.  The bound matters wherever bytes move faster than
``baud / 10`` per second, where the baud is a nominal figure and not the
line's limit: a module's USB AT port (the host's baud setting does not pace
USB) and the emulator without ``--emulate-baud`` (unpaced), where 2 MB pass
in under a second yet need 174 s of a 115200 line.  There, a share of 1.0
reads "at or past the nominal rate".

``busy_to_module`` and ``busy_from_module`` only grow (the counter);
``share`` is the busier direction's busy seconds per second over the last
``SHARE_WINDOW`` seconds of samples (the status page's ``line_busy``, and
placement's tie-break).  So ``rate(ssl_proxy_serial_busy_seconds_total[1m])``
and ``line_busy`` are the same measure over different windows.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from modem.core.line_counts import BITS_PER_BYTE, LineCounts

__all__ = ["SHARE_WINDOW", "LineMeter"]

SHARE_WINDOW = 2.0  # seconds of samples behind ``share``


class LineMeter:
    """One line's busy seconds each way, from the driver's ``LineCounts``, at ``baud``."""

    def __init__(self, baud: int) -> None:
        self.baud = baud
        self.busy_to_module = 0.0
        self.busy_from_module = 0.0
        self.share = 0.0
        self._counts: LineCounts | None = None
        self._baud_now: Callable[[], int | None] | None = None
        self._last = (0.0, 0, 0)  # when, bytes to, bytes from: at the last sample
        self._history: deque[tuple[float, float, float]] = deque()  # when, busy to, busy from

    def attach(self, counts: LineCounts, since: float,
               baud: Callable[[], int | None] | None = None) -> None:
        """Meter ``counts`` (a driver's, empty at ``since``) from then on, at the
        rate ``baud()`` says when it knows one (a speed found at start)."""
        self._counts = counts
        self._baud_now = baud
        self._last = (since, 0, 0)
        self._history = deque([(since, self.busy_to_module, self.busy_from_module)])

    def sample(self, now: float) -> None:
        """Add the line time of the bytes since the last sample, each way at most the
        time since then; update ``share``."""
        counts = self._counts
        then, sent, received = self._last
        if counts is None or now <= then:
            return
        elapsed = now - then
        if self._baud_now is not None:
            self.baud = self._baud_now() or self.baud
        self.busy_to_module += min(elapsed, self._line_time(counts.to_module - sent))
        self.busy_from_module += min(elapsed, self._line_time(counts.from_module - received))
        self._last = (now, counts.to_module, counts.from_module)
        history = self._history
        history.append((now, self.busy_to_module, self.busy_from_module))
        while len(history) > 2 and history[1][0] <= now - SHARE_WINDOW:
            history.popleft()
        start, to_module, from_module = history[0]
        self.share = max(self.busy_to_module - to_module,
                         self.busy_from_module - from_module) / (now - start)

    def _line_time(self, count: int) -> float:
        return count * BITS_PER_BYTE / self.baud
