"""One proxied connection: admission, open, pump both ways, close.

Pumping (one task per direction, in a nursery per connection):

* local -> module: read up to ``READ_SIZE`` bytes, ``send_all`` to the
  module socket (the driver cuts them into ``AT+QSSLSEND`` chunks of
  ``MAX_SEND``, 1460 bytes);
* module -> local: ``receive_some`` on the module socket, ``send_all`` to
  the local stream.  The driver reads only when asked, so a slow local
  reader slows the remote server down (backpressure end to end).

Ends:

* the remote closes (``receive_some`` returns ``b""``): everything it sent
  has been written to the local side; close the local side;
* the local client shuts down its write side: the module has no
  half-close, so the remote may go on sending until it has been quiet for
  ``linger`` seconds (at most ``linger_max`` in all), then both sides close;
* an error on either side closes both at once.  Each side's errors are
  mapped once where the pump calls that side (``LOCAL_STREAM_ERRORS``,
  ``MODULE_SOCKET_ERRORS``); anything else is a bug and propagates.

When the module side fails (the socket broke mid-stream, or the open
failed) the local connection is *reset* (RST), not closed with a FIN: a
client must never take a broken stream for a complete one.  The status
counts such failures in ``socket_failures`` (``open_failures`` for opens;
``open_failures["ModuleNotReady"]`` counts connections reset at once
because the module was being recovered).  A failed open
also logs the manual's error code and meaning with a hint of what to check.
"""

from __future__ import annotations

import logging
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Protocol

import trio

from modem.errors import (
    CmeError,
    ExceptionMapping,
    ModemError,
    ModuleNotReady,
    map_exceptions,
)
from modem.limits import MAX_RECV, MAX_SEND
from modem.profile import TlsProfile

from .admission import Admission
from .errors import QueueTimeout
from .logging_setup import kv
from .registry import ConnectionRecord, ConnectionState, Registry

log = logging.getLogger("proxy.connection")

READ_SIZE = MAX_SEND * 4
RECEIVE_SIZE = MAX_RECV
HALF_CLOSE_LINGER = 2.0
HALF_CLOSE_MAX = 30.0

# What to check after an open fails with a given code (manual chapters 4 and 5).
_HINTS = {
    561: "check the PDP context (AT+QIACT?) and --apn",
    565: "check the host name and the module's DNS servers (AT+QIDNSCFG); "
         "with --emulate give --resolve NAME=IP",
    566: "check the remote port, the CA (--cacert), --tls-version/--ciphers, "
         "and the module clock (AT+CCLK?)",
    567: "the remote closed the connection during the open",
    569: "the remote did not answer in time: check the address and the network",
    570: "the network dropped the PDP context; the proxy reactivates it",
    573: "give --apn (the module has no APN configured)",
}


def hint_for(exc: BaseException) -> str | None:
    code = getattr(exc, "code", None)
    if isinstance(code, int) and code in _HINTS:
        return _HINTS[code]
    if isinstance(code, int) and code in (564, 568, 574):
        return "the module is busy: try again"
    return None


def failure_key(exc: BaseException) -> str:
    """The status page's key for a failure: the code, else the error's kind."""
    code = getattr(exc, "code", None)
    if isinstance(exc, CmeError) and code is not None:
        return str(code)
    return type(exc).__name__


class SocketOpener(Protocol):
    """What a connection needs of the driver (``modem.driver.Modem``)."""

    async def open_ssl_socket(self, client_id: int, host: str, port: int,
                              profile: TlsProfile) -> trio.abc.Stream: ...


class _DirectionEnded(Exception):
    """One direction of the pump is over.

    ``reason`` says why, for the log; ``module_failure`` names the failure
    (``failure_key``) when the module side broke, so the client is reset.
    """

    def __init__(self, reason: str, module_failure: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.module_failure = module_failure


def _local_ended(exc: Exception) -> _DirectionEnded:
    return _DirectionEnded("local connection reset")


def _module_failed(exc: Exception) -> _DirectionEnded:
    if isinstance(exc, ModemError):
        return _DirectionEnded(f"module socket failed: {exc}", failure_key(exc))
    return _DirectionEnded("module socket closed", failure_key(exc))


# The pump's two boundaries: what each side's stream may raise, mapped once.
LOCAL_STREAM_ERRORS: ExceptionMapping = {
    trio.BrokenResourceError: _local_ended,
    trio.ClosedResourceError: _local_ended,
}
MODULE_SOCKET_ERRORS: ExceptionMapping = {
    ModemError: _module_failed,
    trio.BrokenResourceError: _module_failed,
    trio.ClosedResourceError: _module_failed,
}


class Pump:
    """Moves bytes both ways between ``local`` and ``remote`` until one side ends.

    ``reason`` says afterwards why it stopped; ``module_failure`` is the
    failure's status key (``failure_key``) when the module side broke.
    """

    def __init__(self, local: trio.abc.Stream, remote: trio.abc.Stream,
                 record: ConnectionRecord, registry: Registry, *,
                 linger: float = HALF_CLOSE_LINGER, linger_max: float = HALF_CLOSE_MAX) -> None:
        self.local = local
        self.remote = remote
        self.record = record
        self.registry = registry
        self.linger = linger
        self.linger_max = linger_max
        self.reason = "cancelled"
        self.module_failure: str | None = None
        self._last_down = trio.current_time()

    @property
    def module_failed(self) -> bool:
        return self.module_failure is not None

    async def run(self) -> str:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._direction, nursery, self._local_to_remote)
            nursery.start_soon(self._direction, nursery, self._remote_to_local)
        return self.reason

    async def _direction(self, nursery: trio.Nursery,
                         move: Callable[[], Awaitable[None]]) -> None:
        """Run one direction; the first one to end ends both."""
        try:
            await move()
        except _DirectionEnded as ended:
            if self.reason == "cancelled":
                self.reason = ended.reason
                self.module_failure = ended.module_failure
            nursery.cancel_scope.cancel()

    async def _local_to_remote(self) -> None:
        counters = self.registry.counters
        while True:
            with map_exceptions(LOCAL_STREAM_ERRORS):
                data = await self.local.receive_some(READ_SIZE)
            if not data:
                await self._linger_after_local_eof()
                raise _DirectionEnded("local closed")
            with map_exceptions(MODULE_SOCKET_ERRORS):
                await self.remote.send_all(data)
            self.record.bytes_up += len(data)
            counters.bytes_up += len(data)

    async def _linger_after_local_eof(self) -> None:
        self.record.state = ConnectionState.HALF_CLOSED
        eof = trio.current_time()
        while True:
            deadline = min(eof + self.linger_max, max(eof, self._last_down) + self.linger)
            if trio.current_time() >= deadline:
                return
            await trio.sleep_until(deadline)

    async def _remote_to_local(self) -> None:
        counters = self.registry.counters
        while True:
            with map_exceptions(MODULE_SOCKET_ERRORS):
                data = await self.remote.receive_some(RECEIVE_SIZE)
            if not data:
                raise _DirectionEnded("remote closed")
            self._last_down = trio.current_time()
            with map_exceptions(LOCAL_STREAM_ERRORS):
                await self.local.send_all(data)
            self.record.bytes_down += len(data)
            counters.bytes_down += len(data)
            self._last_down = trio.current_time()


async def serve_connection(local: trio.abc.Stream, record: ConnectionRecord, *,
                           modem: SocketOpener, profile: TlsProfile, admission: Admission,
                           registry: Registry, linger: float = HALF_CLOSE_LINGER) -> str:
    """Proxy one accepted local connection to its mapping; return why it ended.

    ``modem`` is a ``modem.driver.Modem`` (``open_ssl_socket``), ``profile``
    the map's ``TlsProfile``.  The local stream is closed on return.  The
    caller cancels ``record.cancel_scope`` to stop it early; the module
    socket is still closed properly then.  When the module side fails (or
    an unexpected error ends the connection) the local side is reset.
    """
    remote = record.mapping.remote
    fields = {"conn": record.number}
    sock: trio.abc.Stream | None = None
    reason = "cancelled"
    reset = False
    try:
        with record.cancel_scope:
            try:
                async with admission.ticket(record.started) as ticket:
                    cid = await ticket.client_id()
                    record.client_id = cid
                    record.state = ConnectionState.OPENING
                    log.debug("opening", extra=kv(**fields, id=cid, remote=str(remote)))
                    opened_at = trio.current_time()
                    try:
                        sock = await modem.open_ssl_socket(cid, remote.host, remote.port,
                                                           profile)
                    except ModemError as exc:
                        record.client_id = None
                        registry.counters.open_failures[failure_key(exc)] += 1
                        reason = f"open failed: {exc}"
                        reset = True
                        # While the module recovers the driver has warned once already.
                        level = (logging.INFO if isinstance(exc, ModuleNotReady)
                                 else logging.WARNING)
                        log.log(level, "open failed", extra=kv(
                            **fields, remote=str(remote), error=str(exc), hint=hint_for(exc)))
                        return reason
                    registry.counters.opened += 1
                    record.state = ConnectionState.OPEN
                    log.info("opened", extra=kv(
                        **fields, id=cid, remote=str(remote),
                        took=f"{trio.current_time() - opened_at:.3f}s"))
                    pump = Pump(local, sock, record, registry, linger=linger)
                    reason = await pump.run()
                    if pump.module_failure is not None:
                        reset = True
                        registry.counters.socket_failures[pump.module_failure] += 1
            except QueueTimeout as exc:
                registry.counters.queue_timeouts += 1
                reason = f"queue timeout: {exc}"
                log.warning("connection closed unserved", extra=kv(
                    **fields, listen=record.listen, remote=str(remote), reason=str(exc)))
                return reason
        if record.cancel_scope.cancelled_caught:
            reason = "shutdown"
        return reason
    except Exception:
        reset = True  # a broken stream must not look complete to the client
        raise
    finally:
        record.state = ConnectionState.CLOSING
        if reset:
            reset_on_close(local)
        await trio.aclose_forcefully(local)
        if sock is not None:
            await sock.aclose()  # shielded and bounded inside the driver
        log.info("closed", extra=kv(**fields, id=record.client_id, reason=reason,
                                    up=record.bytes_up, down=record.bytes_down,
                                    age=f"{trio.current_time() - record.started:.3f}s"))


def reset_on_close(stream: trio.abc.Stream) -> None:
    """Make closing ``stream`` send RST instead of FIN (SO_LINGER 0)."""
    if isinstance(stream, trio.SocketStream):
        try:
            stream.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
