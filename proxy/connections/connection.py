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
meaning with a hint of what to check.
"""

from __future__ import annotations

import logging
import socket
import struct
from typing import Protocol

import trio

from modem.core.errors import ModemError, ModuleNotReady
from modem.core.profile import TlsProfile
from proxy.config.model import HALF_CLOSE_TIMEOUT
from proxy.connections.admission import Admission
from proxy.connections.endings import Ending
from proxy.connections.idle import IdlePolicy
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

__all__ = [
    "HALF_CLOSE_TIMEOUT", "LOCAL_STREAM_ERRORS", "MODULE_SOCKET_ERRORS", "READ_SIZE",
    "RECEIVE_SIZE", "Pump", "SocketOpener", "failure_key", "hint_for", "reset_on_close",
    "serve_connection",
]

log = logging.getLogger("proxy.connection")

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


class SocketOpener(Protocol):
    """What a connection needs of the driver (``modem.driver.Modem``)."""

    async def open_ssl_socket(self, client_id: int, host: str, port: int,
                              profile: TlsProfile) -> ModuleSocket: ...


async def serve_connection(local: trio.abc.Stream, record: ConnectionRecord, *,
                           modem: SocketOpener, profile: TlsProfile, admission: Admission,
                           registry: Registry, half_close_timeout: float = HALF_CLOSE_TIMEOUT,
                           idle: IdlePolicy = NO_IDLE) -> str:
    """Proxy one accepted local connection to its mapping; return why it ended.

    ``modem`` is a ``modem.driver.Modem`` (``open_ssl_socket``), ``profile``
    the map's ``TlsProfile``, ``idle`` its idle limits.  The local stream is
    closed on return: cleanly or with a reset, as the ``Ending`` says.  The
    caller cancels ``record.cancel_scope`` to stop it early (a reset); the
    module socket is still closed properly then.
    """
    remote = record.mapping.remote
    fields = {"conn": record.number}
    sock: ModuleSocket | None = None
    reason = "cancelled"
    ending = Ending.INTERNAL_ERROR  # until something better is known
    try:
        with record.cancel_scope:
            arrived = record.started
            while True:
                try:
                    async with admission.ticket(arrived, record.mapping) as ticket:
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
                            reason, ending = f"open failed: {exc}", Ending.OPEN_FAILED
                            # While the module recovers the driver has warned once already.
                            level = (logging.INFO if isinstance(exc, ModuleNotReady)
                                     else logging.WARNING)
                            log.log(level, "open failed", extra=kv(
                                **fields, remote=str(remote), error=str(exc),
                                hint=hint_for(exc)))
                            return reason
                        registry.counters.opened += 1
                        record.state = ConnectionState.OPEN
                        log.info("opened", extra=kv(
                            **fields, id=cid, remote=str(remote),
                            took=f"{trio.current_time() - opened_at:.3f}s"))
                        pump = Pump(local, sock, record, registry,
                                    half_close_timeout=half_close_timeout, idle=idle,
                                    board=admission.board)
                        reason = await pump.run()
                        ending = pump.ending or Ending.INTERNAL_ERROR
                        if pump.module_failure is not None:
                            registry.counters.socket_failures[pump.module_failure] += 1
                except (QueueTimeout, QueueFull) as exc:
                    full = isinstance(exc, QueueFull)
                    if not full:
                        registry.counters.queue_timeouts += 1
                    ending = Ending.QUEUE_FULL if full else Ending.QUEUE_TIMEOUT
                    reason = f"{ending.value.replace('_', ' ')}: {exc}"
                    log.warning("connection reset unserved", extra=kv(
                        **fields, listen=record.listen, remote=str(remote), reason=str(exc)))
                    return reason
                if not (ending is Ending.IDLE_RECLAIM and idle.release and sock is not None):
                    break
                # idle-release: the module socket goes (nothing was in flight), the
                # client stays; its next bytes wait for a socket like a new arrival.
                released, sock = sock, None
                await released.aclose()
                record.client_id = None
                record.state = ConnectionState.RELEASED
                registry.counters.idle_releases += 1
                log.info("released", extra=kv(**fields, reason="idle while others waited"))
                gone = await client_speaks_again(local)
                if gone is not None:
                    reason, ending = "local closed while released", gone
                    break
                arrived = trio.current_time()
                record.state = ConnectionState.QUEUED
        if record.cancel_scope.cancelled_caught:
            if record.state is ConnectionState.RELEASED:  # nothing in flight: a clean end
                reason, ending = "shutdown while released", Ending.IDLE_RECLAIM
            else:
                reason, ending = "shutdown: grace period over", Ending.SHUTDOWN_CUT
        return reason
    except trio.Cancelled:
        reason, ending = "shutdown: stopped at once", Ending.SHUTDOWN_CUT
        raise
    finally:
        record.state = ConnectionState.CLOSING
        record.ending = ending.value
        registry.counters.ends[ending.value] += 1
        if ending.resets:  # a broken stream must not look complete to the client
            registry.counters.resets += 1
            reset_on_close(local)
        await trio.aclose_forcefully(local)
        if sock is not None:
            await sock.aclose()  # shielded and bounded inside the driver
        log.info("closed", extra=kv(**fields, id=record.client_id, reason=reason,
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
