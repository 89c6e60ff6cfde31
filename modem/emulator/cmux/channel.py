"""``DlcChannel``: one DLC's bytes, the stream its AT port's ``HostLine`` runs on.

Host bytes arrive from the engine (``deliver``) into a bounded inbox; the
port's command loop reads them.  Past ``HIGH_WATER`` unread bytes the
module asks the host to stop (MSC with FC), below ``LOW_WATER`` to go on;
a host that sends on past ``LIMIT`` loses what does not fit, as a UART FIFO
overruns (counted in ``overrun``).  What the port writes goes out through
the engine in frames of at most N1 bytes, held while the host's MSC for the
DLC has FC set (or it sent FCoff).
"""

from __future__ import annotations

from typing import Protocol

import trio

from ..at_port import AtPort

HIGH_WATER = 4096
LOW_WATER = 1024
LIMIT = 64 * 1024


class ChannelOwner(Protocol):
    """What a channel needs of its engine."""

    async def send_data(self, channel: DlcChannel, data: bytes) -> None: ...

    async def send_status(self, channel: DlcChannel) -> None: ...


class DlcChannel(trio.abc.Stream):
    """One open DLC, seen from the module's side."""

    def __init__(self, owner: ChannelOwner, dlci: int, n1: int) -> None:
        self.dlci = dlci
        self.n1 = n1
        self.host_stopped = False  # the host's MSC FC bit
        self.stopping_host = False  # our FC bit
        self.status_due = False  # our MSC must be sent again
        self.status_sent = 0  # our MSCs so far; the host answered up to status_answered
        self.status_answered = 0
        self.overrun = 0
        self.closed = False
        self.scope = trio.CancelScope()  # the DLC's AT port
        self.port: AtPort | None = None
        self.changed = trio.lowlevel.ParkingLot()
        self._owner = owner
        self._inbox = bytearray()

    def deliver(self, data: bytes) -> None:
        room = LIMIT - len(self._inbox)
        if len(data) > room:
            self.overrun += len(data) - room
            data = data[:room]
        self._inbox += data
        if len(self._inbox) > HIGH_WATER and not self.stopping_host:
            self.stopping_host = self.status_due = True
        self.changed.unpark_all()

    def close(self) -> None:
        self.closed = True
        self.scope.cancel()
        self.changed.unpark_all()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        while not self._inbox and not self.closed:
            await self.changed.park()
        n = len(self._inbox) if max_bytes is None else max_bytes
        data = bytes(self._inbox[:n])
        del self._inbox[:n]
        if self.stopping_host and len(self._inbox) < LOW_WATER:
            self.stopping_host = False
            await self._owner.send_status(self)
        return data

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._owner.send_data(self, bytes(data))

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        self.close()
        await trio.lowlevel.checkpoint()
