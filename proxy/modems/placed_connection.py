"""One connection over several modems: the ticket that places it, the opener that fails over.

``connection.serve_connection`` asks its ``admission`` for a ticket, the
ticket for a client ID, and its ``modem`` to open a socket on that ID.  With
several modems the service hands it, per connection:

* ``PlacedAdmission``: the shared ``Admission``'s slot (``--max-connections``,
  ``--queue-timeout``), and a ``PlacedTicket`` whose ``client_id`` is a
  ``PlacedId`` on the modem placement chose, from the pool's shared queue:
  the connection waits only while every modem its map may use is full;
* ``PlacedOpener``: opens on the ID's modem; when that open fails by the
  modem's fault (``placement.is_modem_fault``) it is retried once on
  another eligible modem with a free ID, at once, before the client is
  reset.  The connection's record and its logs name the modem.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio

from modem.core.errors import ModemError
from modem.core.profile import TlsProfile
from modem.sockets.ssl_socket import SslSocket
from proxy.config.model import Mapping
from proxy.connections.admission import Admission, Ticket
from proxy.connections.registry import ConnectionRecord
from proxy.errors import QueueTimeout
from proxy.logging_setup import kv
from proxy.modems.names import MODEM_NAME
from proxy.modems.placement import is_modem_fault
from proxy.modems.pool import ModemPool, PlacedId, PoolMember

__all__ = ["PlacedAdmission", "PlacedOpener", "PlacedTicket"]

log = logging.getLogger("proxy.connection")


class PlacedTicket:
    """A held slot; ``client_id`` places the connection under the slot's deadline.

    Like ``admission.Ticket``, a wait for an ID is on the shared reclaim board
    (so idle connections on any modem are reclaimed for it) and counted as
    queued until it has its ID."""

    def __init__(self, slot: Ticket, shared: Admission, pool: ModemPool,
                 mapping: Mapping) -> None:
        self.deadline = slot.deadline
        self._slot = slot
        self._shared = shared
        self._pool = pool
        self._mapping = mapping

    async def client_id(self) -> int:
        eligible = self._mapping.modems
        got = self._pool.take_nowait(eligible)
        if isinstance(got, PlacedId):
            self._slot.leave_queue()
            return got
        with trio.move_on_at(self.deadline), self._shared.board.waiter():
            placed = await self._pool.take(eligible)
            self._slot.leave_queue()
            return placed
        names = ", ".join(m.name for m in self._pool.eligible(eligible))
        raise QueueTimeout(f"no module socket free for {self._shared.queue_timeout:g} s: all "
                           f"client ids of {names} busy")


class PlacedAdmission:
    """``Admission`` for one connection of ``mapping``: the shared slot, a placed ID.

    It stands in for the shared ``Admission`` (other attributes are the
    shared one's), which stays the one place slots are counted.
    """

    def __init__(self, shared: Admission, pool: ModemPool, mapping: Mapping) -> None:
        self.shared = shared
        self._pool = pool
        self._mapping = mapping

    def __getattr__(self, name: str) -> Any:
        return getattr(self.shared, name)

    @asynccontextmanager
    async def ticket(self, *args: Any, **kwargs: Any) -> AsyncIterator[PlacedTicket]:
        async with self.shared.ticket(*args, **kwargs) as ticket:
            yield PlacedTicket(ticket, self.shared, self._pool, self._mapping)


class PlacedOpener:
    """``SocketOpener`` for one connection: open on the placed modem, fail over once."""

    def __init__(self, pool: ModemPool, record: ConnectionRecord) -> None:
        self._pool = pool
        self._record = record

    async def open_ssl_socket(self, client_id: int, host: str, port: int,
                              profile: TlsProfile) -> SslSocket:
        if not isinstance(client_id, PlacedId):
            raise TypeError("PlacedOpener opens only IDs its PlacedTicket handed out")
        try:
            return await self._open_on(client_id, host, port, profile)
        except ModemError as exc:
            if not is_modem_fault(exc):
                raise
            failed = client_id.member.name
            other = self._pool.take_nowait(self._record.mapping.modems, exclude=(failed,),
                                           ready_only=True)
            if not isinstance(other, PlacedId):
                raise  # no other ready modem with a free ID: the client is reset
            client_id.member.retried_elsewhere += 1
            log.warning("open failed on one modem, trying another", extra=kv(
                conn=self._record.number, failed=failed, to=other.member.name, error=str(exc)))
            self._record.client_id = int(other)
            return await self._open_on(other, host, port, profile)

    async def _open_on(self, placed: PlacedId, host: str, port: int,
                       profile: TlsProfile) -> SslSocket:
        member: PoolMember = placed.member
        assert member.modem is not None
        self._record.modem = member.name
        MODEM_NAME.set(member.name)  # this connection's later logs name its modem
        try:
            sock = await member.modem.open_ssl_socket(int(placed), host, port, profile)
        except ModemError as exc:
            member.open_failures[type(exc).__name__] += 1
            if member.health.record(exc, trio.current_time()):
                log.warning("modem fails its opens: passed over for a while",
                            extra=kv(modem=member.name, error=str(exc)))
            raise
        member.health.record(None, trio.current_time())
        member.opened += 1
        return sock
