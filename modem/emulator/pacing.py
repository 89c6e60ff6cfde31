"""Line-rate pacing: a token bucket per direction of the serial line."""

from __future__ import annotations

import trio


class Pacer:
    """Lets bytes through at ``rate`` bytes per second (0: no limit).

    ``consume(n)`` books n bytes and sleeps until the line would have
    carried them.  The bucket holds at most ``burst`` bytes of credit
    (about 5 ms of line time), so an idle line does not save up speed.
    """

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.burst = max(16, int(rate * 0.005)) if rate else 1 << 16
        self._tokens = float(self.burst)
        self._stamp: float | None = None

    @property
    def unpaced(self) -> bool:
        return not self.rate

    async def consume(self, n: int) -> None:
        if not self.rate:
            return
        now = trio.current_time()
        if self._stamp is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        self._tokens -= n
        if self._tokens < 0:
            await trio.sleep(-self._tokens / self.rate)
