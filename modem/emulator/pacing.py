"""Line-rate pacing: the strict line model, one ``Pacer`` per direction.

A serial line carries one byte after another at ``baud / 10`` bytes per
second and saves nothing up while it is idle.  The pacer keeps a line clock
(``free_at``: when everything booked so far has crossed the line): a chunk
starts no earlier than the line is free, and after an idle gap the clock
restarts from now, so idle time is gone for good.  (An earlier model, a token
bucket with 5 ms of credit, let the first 5 ms of bytes after any gap leave
at once and so hid each command's turnaround; see docs/benchmarks.md.)

Trio's sleeps end late (epoll rounds its timeout up to whole milliseconds,
about 0.6 ms late on average), so lateness of the pacer's own sleep is not
idle time: a chunk booked within that lateness plus ``CONTINUITY`` after the
line went free starts where the last one ended on the line.  Anything later
is idle: the host's next command after the module's answer is never booked
in the past (which would skip the module's turnaround).  Where that lateness
would show on the line, the module's turnaround and the last chunk of a
write (after which the host reacts), ``exact`` wakes at the line time itself:
it sleeps to ``SPIN`` before it and busy-waits until it has passed; the chunks
before it in the same write may leave up to ``SPIN`` early (``early``), so
their lateness does not carry over to it.
"""

from __future__ import annotations

import math

import trio
import trio.lowlevel

#: Seconds of the caller's own work between one ``consume`` returning and the
#: next that still count as a continuous stream; more is idle line time.
CONTINUITY = 0.0002
#: How long before a deadline ``sleep_until_exactly`` stops sleeping and
#: busy-waits instead (a little more than epoll's rounding).
SPIN = 0.0012
#: Equal clock readings in a row that mean a virtual clock (trio's MockClock).
_FROZEN = 1000


async def sleep_until_exactly(deadline: float) -> None:
    """Return once the trio clock has passed ``deadline``, without epoll's lateness.

    Sleeps until ``SPIN`` before it, then busy-waits without yielding: a
    yield could hand the emulator to another task (a TLS read) that runs
    past the deadline.  So it blocks the emulator for at most ``SPIN``; the
    host's bytes wait in the pty meanwhile.  Under a clock that only moves
    while every task sleeps (trio's ``MockClock``) it simply sleeps.
    """
    if deadline - trio.current_time() > SPIN:
        await trio.sleep_until(deadline - SPIN)
    else:
        await trio.lowlevel.checkpoint()
    last, same = trio.current_time(), 0
    while last < deadline:
        now = trio.current_time()
        same = same + 1 if now == last else 0
        if same > _FROZEN:
            await trio.sleep_until(deadline)
            return
        last = now


class Pacer:
    """Serialises bytes on a line of ``rate`` bytes/s (0: no limit).

    ``consume(n)`` books n bytes on the line clock and sleeps until the line
    has carried them.  ``burst`` is the chunk size callers read and write in
    (5 ms of line time); ``last`` is the line time (trio clock) of the last
    chunk booked, for traces.
    """

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.burst = max(16, int(rate * 0.005)) if rate else 1 << 16
        self._free_at = -math.inf
        self._late = 0.0  # how late the last consume returned after its line time
        self.last = (0.0, 0.0)

    @property
    def unpaced(self) -> bool:
        return not self.rate

    @property
    def free_at(self) -> float:
        """When the line has carried everything booked (trio clock; -inf: nothing yet)."""
        return self._free_at

    async def consume(self, n: int, *, exact: bool = False, early: bool = False) -> None:
        """Sleep until n more bytes have crossed the line.

        ``exact``: not later either (see ``sleep_until_exactly``).  ``early``:
        return up to ``SPIN`` before, for a chunk another one follows at once
        (so that timer lateness cannot pile up before an exact one).
        """
        if not self.rate:
            return
        now = trio.current_time()
        if now > self._free_at + self._late + CONTINUITY:
            self._free_at = now  # the line was idle: that time is gone
        start = self._free_at
        self._free_at += n / self.rate
        self.last = (start, self._free_at)
        if exact:
            await sleep_until_exactly(self._free_at)
        elif early:
            if self._free_at - SPIN > now:
                await trio.sleep_until(self._free_at - SPIN)
        elif self._free_at > now:
            await trio.sleep(self._free_at - now)
        self._late = max(0.0, trio.current_time() - self._free_at)
