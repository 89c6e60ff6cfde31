"""How busy a modem's serial line is: bytes counted where the driver's stream is opened.

``LineMeter.wrap(open_stream)`` returns an ``open_stream`` whose streams
count what passes; ``sample(now)`` turns the counts since the last sample
into the busier direction's share of the line's rate (``bytes_per_second``,
baud / 10 for 8N1), smoothed, as ``share`` (0..1).  The driver is untouched:
the meter sits between it and the serial stream.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio

from modem.link.line_speed import AdjustableSpeed

__all__ = ["LineMeter", "MeteredStream"]

SMOOTHING = 0.5  # weight of the newest sample


class LineMeter:
    """Bytes each way on one line, and the smoothed busy share."""

    def __init__(self, bytes_per_second: float) -> None:
        self.bytes_per_second = bytes_per_second
        self.received = 0
        self.sent = 0
        self.share = 0.0
        self._last: tuple[float, int, int] | None = None

    def wrap(self, open_stream: Callable[[], Awaitable[trio.abc.Stream]]
             ) -> Callable[[], Awaitable[trio.abc.Stream]]:
        async def open_metered() -> trio.abc.Stream:
            return MeteredStream(await open_stream(), self)
        return open_metered

    def sample(self, now: float) -> float:
        """Update ``share`` from the bytes since the last call; return it."""
        if self._last is not None and self.bytes_per_second > 0:
            then, received, sent = self._last
            elapsed = now - then
            if elapsed > 0:
                busiest = max(self.received - received, self.sent - sent)
                newest = min(1.0, busiest / (self.bytes_per_second * elapsed))
                self.share = SMOOTHING * newest + (1 - SMOOTHING) * self.share
        self._last = (now, self.received, self.sent)
        return self.share


class MeteredStream(trio.abc.Stream):
    """``inner``, counting the bytes each way into ``meter``."""

    def __init__(self, inner: trio.abc.Stream, meter: LineMeter) -> None:
        self.inner = inner
        self.meter = meter

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.inner.send_all(data)
        self.meter.sent += len(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        data = await self.inner.receive_some(max_bytes)
        self.meter.received += len(data)
        return data

    @property
    def speed(self) -> int:
        """The inner stream's line speed (``modem.link.line_speed.AdjustableSpeed``)."""
        inner = self.inner
        return inner.speed if isinstance(inner, AdjustableSpeed) else 0

    async def set_speed(self, baud: int) -> None:
        inner = self.inner
        if not isinstance(inner, AdjustableSpeed):
            raise TypeError(f"{inner!r} has no line speed to set")
        await inner.set_speed(baud)

    async def aclose(self) -> None:
        await self.inner.aclose()
