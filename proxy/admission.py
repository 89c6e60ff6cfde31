"""Waiting for a module socket: ``--max-connections`` and ``--queue-timeout``.

A connection needs a slot (at most ``max_connections`` at once) and then a
client ID from the driver's pool (12, manual 2.1.2).  Both waits are first
come, first served and share one deadline, ``queue_timeout`` after the
connection arrived; past it ``QueueTimeout`` says which limit was full.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from modem.client_ids import ClientIdPool

from .errors import QueueTimeout as QueueTimeout  # its home before proxy.errors


class Ticket:
    """A held slot.  ``client_id`` waits for an ID under the same deadline."""

    def __init__(self, admission: Admission, deadline: float) -> None:
        self._admission = admission
        self.deadline = deadline

    async def client_id(self) -> int:
        """An ID from the pool.  Pass it straight to ``Modem.open_ssl_socket``
        (with no checkpoint in between), which owns it from then on."""
        pool = self._admission.pool
        try:
            return pool.acquire_nowait()
        except trio.WouldBlock:
            pass
        with trio.move_on_at(self.deadline):
            return await pool.acquire()
        raise QueueTimeout(
            f"no module socket free for {self._admission.queue_timeout:g} s: all "
            f"{pool.capacity} client ids busy")


class Admission:
    """Admits connections to the module's sockets, in arrival order."""

    def __init__(self, pool: ClientIdPool, max_connections: int, queue_timeout: float) -> None:
        self.pool = pool
        self.max_connections = max_connections
        self.queue_timeout = queue_timeout
        self._slots = trio.Semaphore(max_connections)

    @property
    def busy(self) -> int:
        return self.max_connections - self._slots.value

    @asynccontextmanager
    async def ticket(self, arrived: float | None = None) -> AsyncIterator[Ticket]:
        """Hold a slot for the body; ``QueueTimeout`` if none frees up in time."""
        start = trio.current_time() if arrived is None else arrived
        deadline = start + self.queue_timeout
        got = False
        try:
            self._slots.acquire_nowait()
            got = True
        except trio.WouldBlock:
            with trio.move_on_at(deadline):
                await self._slots.acquire()
                got = True
        if not got:
            raise QueueTimeout(
                f"no module socket free for {self.queue_timeout:g} s: "
                f"--max-connections {self.max_connections} reached")
        try:
            yield Ticket(self, deadline)
        finally:
            self._slots.release()
