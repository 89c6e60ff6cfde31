"""Streams under the channels: the physical line counted, a DLC as an AT line.

``CountedLine`` counts the bytes of a physical line each way into the
module's ``LineCounts`` (what the line meter and ``/metrics`` read), also
while the multiplexer owns it, framing included.  ``DlcLine`` gives an
``AtChannel`` a DLC as a plain line: the multiplexer's errors
(``MuxLost``, ``DlcClosedError``) become ``trio.BrokenResourceError`` with
their words, and so does the end of the DLC; the channel reads either as a
lost line.
"""

from __future__ import annotations

import trio

from modem.core.line_counts import LineCounts
from modem.core.mux.errors import MuxError
from modem.link.dlc_stream import DlcStream

__all__ = ["CountedLine", "DlcLine"]


class CountedLine(trio.abc.Stream):
    """``inner`` with its bytes counted into ``counts``; closing it is the owner's."""

    def __init__(self, inner: trio.abc.Stream, counts: LineCounts) -> None:
        self.inner = inner
        self.counts = counts

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.inner.send_all(data)
        self.counts.to_module += len(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        data = await self.inner.receive_some(max_bytes)
        self.counts.from_module += len(data)
        return data

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()  # the line is closed by whoever opened it


class DlcLine(trio.abc.Stream):
    """A ``DlcStream`` as an ``AtChannel``'s line."""

    def __init__(self, dlc: DlcStream) -> None:
        self.dlc = dlc

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        try:
            await self.dlc.send_all(data)
        except MuxError as exc:
            raise trio.BrokenResourceError(f"DLC {self.dlc.dlci}: {exc}") from exc

    async def wait_send_all_might_not_block(self) -> None:
        await self.dlc.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        try:
            data = await self.dlc.receive_some(max_bytes)
        except MuxError as exc:
            raise trio.BrokenResourceError(f"DLC {self.dlc.dlci}: {exc}") from exc
        if not data:
            raise trio.BrokenResourceError(f"DLC {self.dlc.dlci} was closed")
        return data

    async def aclose(self) -> None:
        await self.dlc.aclose()
