"""Opening a placed connection: on the modem its ``Placement`` names, failing over once.

``connection.serve_connection`` gets a ``Placement`` from its admission
ticket (``Admission`` over the ``ModemPool``) and hands it to its opener, a
``PlacedOpener``: it opens on the placement's modem; when that open fails by
the modem's fault (``placement.is_modem_fault``) it is retried once, at once,
on another modem the map may use that takes new connections and has a free
ID (``ModemPool.place_elsewhere``), before the client is reset.  With one
modem there is no other, so the open's error stands.  The connection's
record keeps the client ID and the modem's shown name, and its later logs
name the modem (``names``).  On a modem with channels to lend
(``PoolMember.dedicated``) the socket is a ``TransparentSocket`` unless the
map says ``transparent = never``: the pump's steering decides when it moves.
"""

from __future__ import annotations

import logging

from modem.core.errors import ModemError, render
from modem.core.profile import TlsProfile
from modem.sockets.ssl_socket import SslSocket
from modem.sockets.transparent_socket import TransparentSocket
from proxy.connections.registry import ConnectionRecord
from proxy.connections.transparent_policy import TransparentUse
from proxy.logging_setup import kv
from proxy.modems.names import MODEM_NAME
from proxy.modems.placement import is_modem_fault
from proxy.modems.pool import ModemPool, Placement

__all__ = ["PlacedOpener"]

log = logging.getLogger("proxy.connection")


class PlacedOpener:
    """``SocketOpener`` for one connection: open on the placed modem, fail over once."""

    def __init__(self, pool: ModemPool, record: ConnectionRecord) -> None:
        self._pool = pool
        self._record = record

    async def open_ssl_socket(self, placement: Placement, host: str, port: int,
                              profile: TlsProfile) -> SslSocket | TransparentSocket:
        try:
            return await self._open_on(placement, host, port, profile)
        except ModemError as exc:
            if not is_modem_fault(exc):
                raise
            other = self._pool.place_elsewhere(self._record.mapping, placement.member)
            if other is None:
                raise  # no other ready modem with a free ID: the client is reset
            placement.member.retried_elsewhere += 1
            log.info("open failed on one modem, trying another", extra=kv(
                conn=self._record.number, failed=placement.member.name,
                to=other.member.name, error=render(exc)))
            return await self._open_on(other, host, port, profile)

    async def _open_on(self, placement: Placement, host: str, port: int,
                       profile: TlsProfile) -> SslSocket | TransparentSocket:
        member = placement.member
        self._record.client_id = placement.client_id
        self._record.modem = member.name
        MODEM_NAME.set(member.name)  # this connection's later logs name its modem
        try:
            sock = await placement.modem.open_ssl_socket(placement.client_id, host, port,
                                                         profile)
        except ModemError as exc:
            self._pool.note_open(member, exc)
            raise
        self._pool.note_open(member, None)
        if member.dedicated is None or self._record.mapping.transparent is TransparentUse.NEVER:
            return sock
        return TransparentSocket(sock, member.dedicated)
