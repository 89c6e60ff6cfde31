"""Waiting for a module socket: limits, the bounded queue, one deadline.

A connection needs, in this order: a slot of its map (when the map sets
``max-connections``, so one busy map cannot take every ID), a slot of the
service (``--max-connections``) and a placement: a client ID (12 per module,
manual 2.1.2) on a module its map may use, from the ``Placer`` (the
``ModemPool``).  Each wait is first come, first served and all share one
deadline, ``queue_timeout`` after the connection arrived; past it
``QueueTimeout`` says which limit was full.  At most ``queue_max``
connections wait at once: one that would have to wait beyond that gets
``QueueFull`` at once.  Every wait is registered on the ``ReclaimBoard``, so
idle connections can give their socket back (``proxy.connections.idle``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Generic, Protocol, TypeVar

import trio

from proxy.config.model import QUEUE_MAX, Mapping
from proxy.connections.idle import ReclaimBoard
from proxy.errors import QueueFull, QueueTimeout

__all__ = ["QUEUE_MAX", "Admission", "Placer", "QueueFull", "QueueTimeout", "Ticket"]

P = TypeVar("P")
P_co = TypeVar("P_co", covariant=True)


class Placer(Protocol[P_co]):
    """Where an admitted connection's client ID comes from (``proxy.modems.pool.ModemPool``);
    ``mapping`` None: a connection any module may carry."""

    def free_now(self, mapping: Mapping | None) -> bool:
        """Whether an ID is free now for ``mapping``."""
        ...

    def place_nowait(self, mapping: Mapping | None) -> P_co | None:
        """An ID now, or None (none free, or others wait for one already)."""
        ...

    async def place(self, mapping: Mapping | None) -> P_co:
        """An ID, waiting in arrival order."""
        ...

    def all_busy(self, mapping: Mapping | None) -> str:
        """What was full, for ``QueueTimeout``: ``"all 12 client ids busy"``."""
        ...


class Ticket(Generic[P]):
    """Held slots.  ``placement`` waits for an ID under the same deadline."""

    def __init__(self, admission: Admission[P], mapping: Mapping | None, deadline: float,
                 queued: bool) -> None:
        self._admission = admission
        self._mapping = mapping
        self.deadline = deadline
        self.queued = queued  # counted in Admission.queued until it has its ID

    def leave_queue(self) -> None:
        """It has its ID: no longer counted as waiting."""
        if self.queued:
            self.queued = False
            self._admission.queued -= 1

    async def placement(self) -> P:
        """An ID from the placer.  Pass it straight to the opener (with no
        checkpoint in between): ``Modem.open_ssl_socket`` owns it from then on."""
        admission, mapping = self._admission, self._mapping
        placed = admission.placer.place_nowait(mapping)
        if placed is not None:
            self.leave_queue()
            return placed
        with trio.move_on_at(self.deadline), admission.board.waiter():
            placed = await admission.placer.place(mapping)
            self.leave_queue()
            return placed
        raise QueueTimeout(f"no module socket free for {admission.queue_timeout:g} s: "
                           f"{admission.placer.all_busy(mapping)}")


class Admission(Generic[P]):
    """Admits connections to the modules' sockets, in arrival order.

    ``map_limits`` gives a map's ``max-connections`` (maps not in it have
    none of their own).  ``queued`` is how many connections wait right now.
    """

    def __init__(self, placer: Placer[P], max_connections: int, queue_timeout: float, *,
                 queue_max: int = QUEUE_MAX, map_limits: dict[Mapping, int] | None = None,
                 board: ReclaimBoard | None = None) -> None:
        self.placer = placer
        self.max_connections = max_connections
        self.queue_timeout = queue_timeout
        self.queue_max = queue_max
        self.map_limits = dict(map_limits or {})
        self.board = board or ReclaimBoard()
        self.queued = 0
        self._slots = trio.Semaphore(max_connections)
        self._map_slots = {m: trio.Semaphore(n) for m, n in self.map_limits.items()}

    @property
    def busy(self) -> int:
        return self.max_connections - self._slots.value

    def map_busy(self, mapping: Mapping) -> int:
        """Sockets ``mapping`` holds or is opening (0 for a map without a limit)."""
        slots = self._map_slots.get(mapping)
        return 0 if slots is None else self.map_limits[mapping] - slots.value

    def _free_now(self, mapping: Mapping | None) -> bool:
        slots = self._map_slots.get(mapping) if mapping is not None else None
        return ((slots is None or slots.value > 0) and self._slots.value > 0
                and self.placer.free_now(mapping))

    @asynccontextmanager
    async def ticket(self, arrived: float | None = None, mapping: Mapping | None = None
                     ) -> AsyncIterator[Ticket[P]]:
        """Hold the slots for the body; ``QueueTimeout`` if none frees up in time,
        ``QueueFull`` at once if it would have to wait behind ``queue_max`` others."""
        start = trio.current_time() if arrived is None else arrived
        deadline = start + self.queue_timeout
        queued = not self._free_now(mapping)
        if queued:
            if self.queued >= self.queue_max:
                raise QueueFull(f"{self.queued} connections already wait for a module socket "
                                f"(--queue-max {self.queue_max})")
            self.queued += 1
        ticket = Ticket(self, mapping, deadline, queued)
        try:
            async with AsyncExitStack() as held:
                if mapping is not None and mapping in self._map_slots:
                    map_slots = self._map_slots[mapping]
                    await self._take(map_slots, deadline, mapping, f"max-connections "
                                     f"{self.map_limits[mapping]} of map {mapping} reached")
                    held.callback(map_slots.release)
                await self._take(self._slots, deadline, None,
                                 f"--max-connections {self.max_connections} reached")
                held.callback(self._slots.release)
                yield ticket
        finally:
            ticket.leave_queue()

    async def _take(self, slots: trio.Semaphore, deadline: float, scope: Mapping | None,
                    full: str) -> None:
        try:
            slots.acquire_nowait()
            return
        except trio.WouldBlock:
            pass
        with trio.move_on_at(deadline), self.board.waiter(scope):
            await slots.acquire()
            return
        raise QueueTimeout(f"no module socket free for {self.queue_timeout:g} s: {full}")
