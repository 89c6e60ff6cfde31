"""One SSL client socket of the module (``AT+QSSLOPEN`` ids 0-11).

The runner task, owned by the module's nursery, opens real TCP plus TLS and
then pumps: a receive loop fills the bounded receive buffer (and reads the
TLS stream only while it has room, so the server feels TCP backpressure), a
send loop drains the bounded send buffer, a push loop delivers
``+QSSLURC: "recv",<id>,<len>`` data in push mode.  Who empties the receive
buffer depends on the access mode (manual 1.3): ``AT+QSSLRECV`` (0), the push
loop (1), the transparent session (2).
"""

from __future__ import annotations

import ipaddress
import logging
import socket as stdlib_socket
import ssl
from enum import IntEnum
from typing import Protocol

import trio

from . import tls
from .clock import ModuleClock
from .config import EmulatorConfig
from .files import FileStore
from .manual import CONNECTION_FAILED, DNS_PARSE_FAILED, MAX_PUSH
from .pending_faults import PendingFaults

log = logging.getLogger("modem.emulator")
_FIELDS = "kv_fields"
"""Where a log record carries its fields (``modem.core.log_fields``; the emulator borrows
nothing from the driver, so it names the attribute itself)."""


def tls_reason(exc: BaseException) -> str:
    """The TLS library's reason, e.g. ``CERTIFICATE_VERIFY_FAILED: certificate has expired``."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"{cause.reason}: {cause.verify_message}"
    if isinstance(cause, ssl.SSLError):
        return str(cause.reason or cause)
    if cause is not None:
        return f"{type(cause).__name__}: {cause}"
    return str(exc) or type(exc).__name__


class SocketOwner(Protocol):
    """What a socket uses of the module that owns it (``module.Module`` is one).

    A protocol, so that this module need not import the module that imports it.
    """

    config: EmulatorConfig
    files: FileStore
    clock: ModuleClock
    pending_faults: PendingFaults
    ssl_contexts: dict[int, tls.SslContextConfig]
    last_error: int

    def forget_socket(self, sock: SslSocket) -> None: ...

    def post_urc(self, data: bytes, done: trio.Event | None = None) -> trio.Event: ...

    def post_push(self, client_id: int, unit: bytes) -> trio.Event: ...

    def post_after_pushes(self, client_id: int, unit: bytes) -> trio.Event: ...


class AccessMode(IntEnum):
    """``<access_mode>`` (manual 1.3): who empties the receive buffer."""

    BUFFER = 0  # the host, with AT+QSSLRECV after a "recv" URC
    PUSH = 1  # the module, in +QSSLURC: "recv",<id>,<len> URCs
    TRANSPARENT = 2  # the line itself, after CONNECT


class SocketState(IntEnum):
    """``<socket_state>`` of ``+QSSLSTATE`` (manual 2.1.6)."""

    INITIAL = 0
    OPENING = 1
    CONNECTED = 2
    CLOSING = 4


class SslSocket:
    """State and buffers of one client id; ``run`` is its task."""

    def __init__(
        self, module: SocketOwner, client_id: int, pdp_id: int, ctx_id: int,
        host: str, port: int, mode: AccessMode,
    ) -> None:
        self.module = module
        self.client_id = client_id
        self.pdp_id = pdp_id
        self.ctx_id = ctx_id
        self.host = host
        self.port = port
        self.mode = mode
        self.state = SocketState.OPENING
        self.local_port = 0
        self.remote_ip = ""
        self.rx = bytearray()
        self.kept = bytearray()  # keep_buffer_on_push: older than rx, read first
        self.tx = bytearray()
        self.rx_limit = module.config.rx_buffer
        self.tx_limit = module.config.tx_buffer
        self.recv_urc_sent = False
        self._last_push = trio.Event()
        self._last_push.set()
        self.peer_closed = False
        self.open_error: int | None = None
        self.opened = trio.Event()
        self.finished = trio.Event()
        self.bytes_received = 0
        self.bytes_sent = 0
        self._lot = trio.lowlevel.ParkingLot()
        self._io_scope = trio.CancelScope()
        self._close_timeout: float | None = None
        self._stream: trio.SSLStream[trio.SocketStream] | None = None

    # -- shared with the command processor ---------------------------------

    def notify(self) -> None:
        self._lot.unpark_all()

    async def wait_change(self) -> None:
        await self._lot.park()

    @property
    def connected(self) -> bool:
        return self.state == SocketState.CONNECTED

    def take_rx(self, n: int) -> bytes:
        """Up to n buffered bytes (``AT+QSSLRECV``); re-arms the recv URC when the
        buffer is empty now ("drain") or only when nothing was left to read
        ("empty"), per ``config.recv_urc_rearm``.  What was kept on a switch to
        push mode (``keep_buffer_on_push``) comes first, also in push mode."""
        data = bytes(self.kept[:n])
        del self.kept[:n]
        if self.mode is AccessMode.BUFFER and len(data) < n:
            more = bytes(self.rx[: n - len(data)])
            del self.rx[: len(more)]
            data += more
        rearmed = not data if self.module.config.recv_urc_rearm == "empty" else not self.rx
        if rearmed:
            self.recv_urc_sent = False
        self.notify()
        return data

    def offer_tx(self, data: bytes) -> bool:
        """Queue data to send if all of it fits (``AT+QSSLSEND``), else take nothing."""
        if len(self.tx) + len(data) > self.tx_limit:
            return False
        self.tx += data
        self.notify()
        return True

    async def put_tx(self, data: bytes) -> None:
        """Queue data, waiting for room (transparent mode); dropped once closed."""
        view = memoryview(data)
        while view and not self.peer_closed:
            room = self.tx_limit - len(self.tx)
            if room <= 0:
                await self.wait_change()
                continue
            self.tx += view[:room]
            view = view[room:]
            self.notify()

    def set_mode(self, mode: AccessMode) -> None:
        """``AT+QISWTMD`` / leaving transparent mode: the new consumer takes over.

        To buffer mode: data already in the buffer is announced with
        ``+QSSLURC: "recv",<id>`` (manual 1.3, 2.2.1: the URC is how buffer
        mode tells of data).  To push mode: what the buffer holds is pushed
        at once, and the "recv" URC is re-armed for a later buffer period.
        No module log shows either moment (a guess, the tolerant one: the
        host loses nothing whether or not it reads first).  Quectel's BG96
        and BG95 TCP/IP application notes (1.2/1.3, on manualslib and
        manualshive) describe ``AT+QISWTMD`` the same way as the SSL manual
        and say no more; public drivers only send ``AT+QISWTMD=<id>,0|1|2``.
        """
        self.mode = mode
        if mode is AccessMode.PUSH:
            self.recv_urc_sent = False
            if self.module.config.keep_buffer_on_push and self.rx:
                self.kept += self.rx  # not pushed: announced, read with AT+QSSLRECV
                self.rx.clear()
                self._announce_recv()
        if mode is AccessMode.BUFFER and self.rx and not self.recv_urc_sent:
            self._announce_recv()
        self.notify()

    async def pushes_written(self) -> None:
        """Until the push frames taken from the buffer so far are on the line:
        the module's output keeps the order it decided things in."""
        await self._last_push.wait()

    def request_close(self, timeout: float) -> None:
        """``AT+QSSLCLOSE``: stop pumping, close with close_notify within timeout."""
        self._close_timeout = timeout
        self._io_scope.cancel()

    def drop_connection(self) -> None:
        """The network lost the connection (fault injection): as if the peer closed."""
        if self.state == SocketState.CONNECTED:
            self._io_scope.cancel()

    # -- the task ------------------------------------------------------------

    async def run(self) -> None:
        try:
            with self._io_scope:
                err = await self._open()
                self._report_open(err)
                if err:
                    return
                await self._pump()
            if self._close_timeout is not None:
                await self._close_gracefully(self._close_timeout)
            elif self.state == SocketState.CONNECTED:
                await self._peer_gone()
        finally:
            if self._stream is not None:
                await trio.aclose_forcefully(self._stream)
            if not self.opened.is_set():  # closed or torn down while opening
                self.open_error = CONNECTION_FAILED
                self.opened.set()
            self.finished.set()
            self.notify()

    async def _open(self) -> int:
        module = self.module
        booked = module.pending_faults.take_open_fail()
        if booked:
            log.warning("emulated open failed (injected)", extra={_FIELDS: {
                "id": self.client_id, "remote": f"{self.host}:{self.port}", "error": booked}})
            return booked
        cfg = module.ssl_contexts[self.ctx_id]
        address = await self._resolve()
        if address is None:
            return DNS_PARSE_FAILED
        self.remote_ip = address  # +QSSLSTATE shows it from now on
        try:
            context = tls.client_context(cfg, module.files)
        except tls.TlsSetupError as exc:
            return self._failed(f"SSL context {self.ctx_id}: {exc}")
        family = stdlib_socket.AF_INET6 if ":" in address else stdlib_socket.AF_INET
        sock = trio.socket.socket(family, stdlib_socket.SOCK_STREAM)
        if module.config.socket_buffer:
            for opt in (stdlib_socket.SO_RCVBUF, stdlib_socket.SO_SNDBUF):
                sock.setsockopt(stdlib_socket.SOL_SOCKET, opt, module.config.socket_buffer)
        why = "TCP connect timed out"
        try:
            with trio.move_on_after(module.config.connect_timeout):
                await sock.connect((address, self.port))
            connected = self._connected_socket(sock)
        except OSError as exc:
            connected, why = False, f"TCP connect failed: {exc.strerror or exc}"
        except BaseException:  # cancelled (QSSLCLOSE, restart) while connecting
            sock.close()
            raise
        if not connected:
            sock.close()
            return self._failed(why)
        self.local_port = sock.getsockname()[1]
        self._stream = trio.SSLStream(
            trio.SocketStream(sock), context, server_hostname=tls.server_hostname(cfg, self.host)
        )
        with trio.move_on_after(cfg.negotiatetime):
            try:
                delay = module.pending_faults.take_slow_handshake()
                if delay:
                    await trio.sleep(delay)
                await self._stream.do_handshake()
            except trio.BrokenResourceError as exc:
                return self._failed(f"TLS handshake failed: {tls_reason(exc)}")
            if cfg.seclevel and not cfg.ignorelocaltime:
                peer_cert = self._stream.getpeercert()
                now = module.clock.now()
                if not tls.leaf_valid_at(peer_cert, now):
                    return self._failed(
                        f"certificate not valid at the module clock {now:%Y-%m-%dT%H:%M:%SZ} "
                        f"(valid {tls.validity_text(peer_cert)}): set AT+CCLK, "
                        "or ignorelocaltime 1")
            return 0
        return self._failed(f"TLS handshake not done within negotiatetime {cfg.negotiatetime} s")

    def _failed(self, reason: str) -> int:
        """Log why an open fails with 566: real firmware says only the number."""
        log.warning("emulated open failed", extra={_FIELDS: {
            "id": self.client_id, "remote": f"{self.host}:{self.port}",
            "error": CONNECTION_FAILED, "reason": reason}})
        return CONNECTION_FAILED

    @staticmethod
    def _connected_socket(sock: trio.socket.SocketType) -> bool:
        try:
            sock.getpeername()
        except OSError:
            return False
        return True

    async def _resolve(self) -> str | None:
        host = self.host
        config = self.module.config
        if host in config.resolve:
            return config.resolve[host]
        try:
            return str(ipaddress.ip_address(host))
        except ValueError:
            pass
        if not config.real_dns:
            return "127.0.0.1" if host == "localhost" else None
        try:
            infos = await trio.socket.getaddrinfo(host, self.port, type=stdlib_socket.SOCK_STREAM)
        except OSError:
            return None
        return str(infos[0][4][0]) if infos else None

    def _report_open(self, err: int) -> None:
        module = self.module
        self.open_error = err
        module.last_error = err
        if err:
            module.forget_socket(self)
        else:
            self.state = SocketState.CONNECTED
        if self.mode is not AccessMode.TRANSPARENT:
            module.post_urc(b'\r\n+QSSLOPEN: %d,%d\r\n' % (self.client_id, err))
        self.opened.set()

    async def _pump(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._send_loop, nursery.cancel_scope)
            nursery.start_soon(self._push_loop)
            await self._receive_loop()
            nursery.cancel_scope.cancel()

    async def _receive_loop(self) -> None:
        assert self._stream is not None
        while True:
            while len(self.rx) >= self.rx_limit:
                await self.wait_change()
            try:
                data = await self._stream.receive_some(min(self.rx_limit - len(self.rx), 16384))
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return
            if not data:
                return
            self.rx += data
            self.bytes_received += len(data)
            if self.mode is AccessMode.BUFFER and not self.recv_urc_sent:
                self._announce_recv()
            self.notify()

    def _announce_recv(self) -> None:
        self.recv_urc_sent = True
        self.module.post_urc(b'\r\n+QSSLURC: "recv",%d\r\n' % self.client_id)

    async def _send_loop(self, pump_scope: trio.CancelScope) -> None:
        assert self._stream is not None
        while True:
            while not self.tx:
                await self.wait_change()
            chunk = bytes(self.tx[:16384])
            try:
                await self._stream.send_all(chunk)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pump_scope.cancel()
                return
            del self.tx[: len(chunk)]
            self.bytes_sent += len(chunk)
            self.notify()

    async def _push_loop(self) -> None:
        while True:
            while not (self.mode is AccessMode.PUSH and self.rx):
                await self.wait_change()
            await self._push_chunk().wait()

    def _push_chunk(self) -> trio.Event:
        """Queue one ``+QSSLURC: "recv",<id>,<len>`` unit; written whole, in order."""
        chunk = bytes(self.rx[:MAX_PUSH])
        del self.rx[: len(chunk)]
        self.notify()
        self._last_push = self.module.post_push(self.client_id, self.push_unit(chunk))
        return self._last_push

    def push_unit(self, chunk: bytes) -> bytes:
        """The bytes of one push frame of ``chunk`` (``config.push_trailer``)."""
        trailer = b"\r\n" if self.module.config.push_trailer else b""
        return b'\r\n+QSSLURC: "recv",%d,%d\r\n' % (self.client_id, len(chunk)) + chunk + trailer

    def leftover(self) -> bytes:
        """At the close: what the socket still held and never pushed (taken)."""
        data = bytes(self.kept + self.rx)
        self.kept.clear()
        self.rx.clear()
        return data

    async def _peer_gone(self) -> None:
        """The peer or network closed: keep what is buffered, report "closed" once."""
        if self._stream is not None:
            await trio.aclose_forcefully(self._stream)
        self.peer_closed = True
        self.state = SocketState.CLOSING
        self.notify()
        while self.mode is AccessMode.PUSH and self.rx:
            self._push_chunk()
        # The transparent session reports NO CARRIER itself.
        if self.mode is not AccessMode.TRANSPARENT:
            self.module.post_after_pushes(
                self.client_id, b'\r\n+QSSLURC: "closed",%d\r\n' % self.client_id)

    async def _close_gracefully(self, close_timeout: float) -> None:
        self.state = SocketState.CLOSING
        if self._stream is None:
            return
        with trio.move_on_after(close_timeout):
            try:
                await self._stream.aclose()
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass
