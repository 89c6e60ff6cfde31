"""One proxied connection: admission, open, pump both ways (``proxy.connections.pump``), close.

``serve_connection`` waits for a module socket (``proxy.connections.admission``), opens
it, runs the ``Pump`` and closes both sides.  How the connection ended is an
``Ending`` (``proxy.connections.endings``): a clean end of stream (FIN) only when the
remote closed and every byte it sent was delivered, or when the connection
was closed idle with nothing in flight; every other end *resets* the client
(RST, ``SO_LINGER`` 0), so a client never takes a cut stream for a complete
one.  Each end is counted in ``Counters.ends`` (and ``resets``); failures
keep their detail counters: ``socket_failures`` (the module side broke
mid-stream), ``open_failures`` (``open_failures["ModuleNotReady"]`` counts
connections reset at once because the module was being recovered),
``queue_timeouts``.  A failed open also logs the manual's error code and
meaning with the error's hint of what to check.
"""

from __future__ import annotations

import logging
import socket
import struct
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import trio

from modem.core.errors import ModemError, ModuleNotReady, render
from modem.core.profile import TlsProfile
from proxy.config.model import HALF_CLOSE_TIMEOUT, Mapping
from proxy.connections.bulk_steering import steering_for
from proxy.connections.endings import Ending
from proxy.connections.idle import IdlePolicy, ReclaimBoard
from proxy.connections.module_socket import ModuleSocket
from proxy.connections.pump import (
    LOCAL_STREAM_ERRORS,
    MODULE_SOCKET_ERRORS,
    NO_IDLE,
    READ_SIZE,
    RECEIVE_SIZE,
    Pump,
    failure_key,
)
from proxy.connections.registry import ConnectionRecord, ConnectionState, Registry
from proxy.errors import QueueFull, QueueTimeout
from proxy.logging_setup import kv
from proxy.modems.pool import Placement

__all__ = [
    "HALF_CLOSE_TIMEOUT", "LOCAL_STREAM_ERRORS", "MODULE_SOCKET_ERRORS", "READ_SIZE",
    "RECEIVE_SIZE", "ConnectionAdmission", "PlacementTicket", "Pump", "SocketOpener",
    "failure_key", "reset_on_close",
    "serve_connection",
]

log = logging.getLogger("proxy.connection")

class SocketOpener(Protocol):
    """What a connection needs to open its module socket on its placement
    (``proxy.modems.placed_connection.PlacedOpener``)."""

    async def open_ssl_socket(self, placement: Placement, host: str, port: int,
                              profile: TlsProfile) -> ModuleSocket: ...


class PlacementTicket(Protocol):
    """Held admission slots (``admission.Ticket``)."""

    async def placement(self) -> Placement: ...


class ConnectionAdmission(Protocol):
    """What a connection needs of admission (``admission.Admission`` over the
    ``ModemPool``): a ticket that yields its placement, the reclaim board."""

    @property
    def board(self) -> ReclaimBoard: ...

    def ticket(self, arrived: float | None, mapping: Mapping | None
               ) -> AbstractAsyncContextManager[PlacementTicket]: ...


async def serve_connection(local: trio.abc.Stream, record: ConnectionRecord, *,
                           opener: SocketOpener, profile: TlsProfile,
                           admission: ConnectionAdmission, registry: Registry,
                           half_close_timeout: float = HALF_CLOSE_TIMEOUT,
                           idle: IdlePolicy = NO_IDLE) -> str:
    """Proxy one accepted local connection to its mapping; return why it ended.

    ``opener`` opens the module socket on the placement admission gives,
    ``profile`` is the map's ``TlsProfile``, ``idle`` its idle limits.  The
    local stream is closed on return: cleanly or with a reset, as the
    ``Ending`` says.  The caller cancels ``record.cancel_scope`` to stop it
    early (a reset); the module socket is still closed properly then.
    """
    connection = _Connection(local, record, opener, profile, admission, registry,
                             half_close_timeout, idle)
    return await connection.serve()


class _Connection:
    """One connection's steps: wait for a placement and open, pump, idle-release, close."""

    def __init__(self, local: trio.abc.Stream, record: ConnectionRecord, opener: SocketOpener,
                 profile: TlsProfile, admission: ConnectionAdmission, registry: Registry,
                 half_close_timeout: float, idle: IdlePolicy) -> None:
        self.local = local
        self.record = record
        self.opener = opener
        self.profile = profile
        self.admission = admission
        self.registry = registry
        self.half_close_timeout = half_close_timeout
        self.idle = idle
        self.fields = {"conn": record.number}
        self.sock: ModuleSocket | None = None
        self.reason = "cancelled"
        self.ending = Ending.INTERNAL_ERROR  # until something better is known

    async def serve(self) -> str:
        record = self.record
        try:
            with record.cancel_scope:
                await self._serve_turns()
            if record.cancel_scope.cancelled_caught:
                if record.state is ConnectionState.RELEASED:  # nothing in flight: a clean end
                    self._end("shutdown while released", Ending.IDLE_RECLAIM)
                else:
                    self._end("shutdown: grace period over", Ending.SHUTDOWN_CUT)
            return self.reason
        except trio.Cancelled:
            self._end("shutdown: stopped at once", Ending.SHUTDOWN_CUT)
            raise
        finally:
            await self._close()

    def _end(self, reason: str, ending: Ending) -> None:
        self.reason, self.ending = reason, ending

    async def _serve_turns(self) -> None:
        """Admit, open and pump; after an idle release, again once the client speaks."""
        arrived = self.record.started
        while await self._turn(arrived) and await self._release():
            arrived = trio.current_time()
            self.record.state = ConnectionState.QUEUED

    async def _turn(self, arrived: float) -> bool:
        """One module socket's turn; True when it ended in an idle release."""
        try:
            async with self.admission.ticket(arrived, self.record.mapping) as ticket:
                sock = await self._open(await ticket.placement())
                if sock is None:
                    return False
                await self._pump(sock)
        except (QueueTimeout, QueueFull) as exc:
            self._unserved(exc)
            return False
        return self.ending is Ending.IDLE_RECLAIM and self.idle.release

    async def _open(self, placement: Placement) -> ModuleSocket | None:
        """The module socket on ``placement``; None when the open failed (logged)."""
        record, remote = self.record, self.record.mapping.remote
        record.state = ConnectionState.OPENING
        log.debug("opening", extra=kv(**self.fields, id=placement.client_id, remote=str(remote)))
        opened_at = trio.current_time()
        try:
            self.sock = await self.opener.open_ssl_socket(placement, remote.host, remote.port,
                                                          self.profile)
        except ModemError as exc:
            record.client_id = None
            self.registry.counters.open_failures[failure_key(exc)] += 1
            self._end(f"open failed: {exc}", Ending.OPEN_FAILED)
            # While the module recovers the driver has warned once already.
            level = logging.INFO if isinstance(exc, ModuleNotReady) else logging.WARNING
            log.log(level, "open failed", extra=kv(
                **self.fields, remote=str(remote), error=str(exc),
                hint=exc.hint))
            return None
        self.registry.counters.opened += 1
        record.state = ConnectionState.OPEN
        log.info("opened", extra=kv(
            **self.fields, id=record.client_id, remote=str(remote),
            took=f"{trio.current_time() - opened_at:.3f}s"))
        return self.sock

    async def _pump(self, sock: ModuleSocket) -> None:
        pump = Pump(self.local, sock, self.record, self.registry,
                    half_close_timeout=self.half_close_timeout, idle=self.idle,
                    board=self.admission.board,
                    steering=steering_for(sock, self.record.mapping.transparent))
        reason = await pump.run()
        self._end(reason, pump.ending or Ending.INTERNAL_ERROR)
        if pump.module_failure is not None:
            self.registry.counters.socket_failures[pump.module_failure] += 1

    def _unserved(self, exc: QueueTimeout | QueueFull) -> None:
        full = isinstance(exc, QueueFull)
        if not full:
            self.registry.counters.queue_timeouts += 1
        ending = Ending.QUEUE_FULL if full else Ending.QUEUE_TIMEOUT
        self._end(f"{ending.value.replace('_', ' ')}: {exc}", ending)
        log.warning("connection reset unserved", extra=kv(
            **self.fields, listen=self.record.listen, remote=str(self.record.mapping.remote),
            reason=render(exc)))

    async def _release(self) -> bool:
        """Idle-release: the module socket goes (nothing was in flight), the client
        stays; True once it sends again (its bytes wait for a socket like a new
        arrival's), False when it ended instead."""
        record = self.record
        released, self.sock = self.sock, None
        if released is not None:
            await released.aclose()
        record.client_id = None
        record.state = ConnectionState.RELEASED
        self.registry.counters.idle_releases += 1
        log.info("released", extra=kv(**self.fields, reason="idle while others waited"))
        gone = await client_speaks_again(self.local)
        if gone is not None:
            self._end("local closed while released", gone)
            return False
        return True

    async def _close(self) -> None:
        """Both sides closed, the end counted and logged."""
        record, ending, counters = self.record, self.ending, self.registry.counters
        record.state = ConnectionState.CLOSING
        record.ending = ending
        counters.ends[ending] += 1
        if ending.resets:  # a broken stream must not look complete to the client
            counters.resets += 1
            reset_on_close(self.local)
        await trio.aclose_forcefully(self.local)
        if self.sock is not None:
            await self.sock.aclose()  # shielded and bounded inside the driver
        log.info("closed", extra=kv(**self.fields, id=record.client_id, reason=self.reason,
                                    end=ending.value, reset=ending.resets,
                                    up=record.bytes_up, down=record.bytes_down,
                                    age=f"{trio.current_time() - record.started:.3f}s"))


async def client_speaks_again(local: trio.abc.Stream) -> Ending | None:
    """Wait, reading nothing, until the client sends again (None) or ends:
    ``IDLE_RECLAIM`` for a close (nothing was in flight), ``CLIENT_RESET``."""
    if not isinstance(local, trio.SocketStream):
        await trio.lowlevel.checkpoint()
        return Ending.IDLE_RECLAIM
    try:
        peeked = await local.socket.recv(1, socket.MSG_PEEK)
    except OSError:
        return Ending.CLIENT_RESET
    return None if peeked else Ending.IDLE_RECLAIM


def reset_on_close(stream: trio.abc.Stream) -> None:
    """Make closing ``stream`` send RST instead of FIN (SO_LINGER 0)."""
    if isinstance(stream, trio.SocketStream):
        try:
            stream.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
