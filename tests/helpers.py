"""What every test directory shares: TLS servers on 127.0.0.1, free ports, reads, waits.

The fixtures built on these (the test CA, its server certificate, an echo
server) are in ``tests/conftest.py``.  The soak (``python -m tests.soak``) and
the benchmarks (``python -m tests.benchmarks``) import the server pieces
(``server_context``, ``open_local_listeners``, ``close_tls``, ``source_data``)
from here too, so this module needs nothing from pytest.

``TlsServer`` records what a test wants to check on the far side: the SNI
names it saw, and per connection the bytes it received (count and SHA-256)
or sent.

What needs the proxy or the emulator (a ``ProxyService`` in the test's
nursery, the proxy as a child process, ...) is in ``tests/proxy_helpers.py``.
"""

from __future__ import annotations

import enum
import hashlib
import random
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio
import trustme

from modem.core.log_fields import FIELDS_ATTRIBUTE
from modem.sockets.client_ids import ClientIdPool

REPO = Path(__file__).resolve().parents[1]  # the checkout: where child processes run
# Every name the shared server certificate holds (``server_cert`` in tests/conftest.py).
# The module checks the chain, not the host name (docs/emulator.md, "Host names are not
# checked"), so one certificate for every name a test resolves to 127.0.0.1 serves them all.
SERVER_NAMES = ("echo.test", "sink.test", "source.test", "other.test", "api.example.com",
                "localhost", "127.0.0.1")


def log_fields(record: Any) -> dict[str, Any]:
    """The fields a log record carries (``modem.core.log_fields.kv``), beside its message."""
    fields: dict[str, Any] = getattr(record, FIELDS_ATTRIBUTE, None) or {}
    return fields


_PORTS_BELOW_EPHEMERAL = range(20000, 32768)
_PORT_CHOICE = random.SystemRandom()  # not the global generator, which tests may seed


def free_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago; nothing listens on it.

    Drawn below Linux's ephemeral range (32768-60999), which the kernel hands out
    to every connection and ``bind(0)`` of the tests running beside this one: a
    port taken from there could be another test's before the process binds it."""
    for _ in range(100):
        port = _PORT_CHOICE.choice(_PORTS_BELOW_EPHEMERAL)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free TCP port below the ephemeral range")


async def receive_exactly(stream: trio.abc.ReceiveStream, n: int) -> bytes:
    """``n`` bytes from ``stream``; fewer only when the stream ends first.

    Callers compare the result, so a short read fails their assertion (and a
    test may read past the end on purpose to see where it is).
    """
    buf = bytearray()
    while len(buf) < n:
        chunk = await stream.receive_some(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


async def read_all(stream: trio.abc.ReceiveStream) -> bytes:
    """Everything ``stream`` delivers until its end."""
    data = bytearray()
    while chunk := await stream.receive_some(65536):
        data += chunk
    return bytes(data)


async def read_until_end(stream: trio.abc.ReceiveStream, most: int | None = None
                         ) -> tuple[bytes, str]:
    """Everything until the end (or ``most`` bytes), and how it ended: ``"eof"``,
    ``"reset"`` or, with ``most`` read, ``"data"``."""
    data = bytearray()
    with trio.fail_after(20):
        try:
            while most is None or len(data) < most:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    return bytes(data), "eof"
                data += chunk
        except trio.BrokenResourceError as exc:
            assert isinstance(exc.__cause__, ConnectionResetError)
            return bytes(data), "reset"
    return bytes(data), "data"


async def round_trip(stream: trio.abc.Stream, data: bytes) -> bytes:
    """Send ``data`` and read as many bytes back (concurrently, as echo needs)."""
    got = bytearray()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(stream.send_all, data)
        while len(got) < len(data):
            chunk = await stream.receive_some(65536)
            assert chunk, f"closed after {len(got)} of {len(data)} bytes"
            got += chunk
    return bytes(got)


async def wait_until(predicate: Callable[[], object], *, within: float = 20.0,
                     every: float = 0.005) -> None:
    """Until ``predicate()`` is true, asked every ``every`` s: for state that offers no
    event to wait on (an emulator's socket table, a service's state).

    ``within`` is a hang guard: ``trio.TooSlowError`` after that long.
    """
    with trio.fail_after(within):
        while not predicate():  # noqa: ASYNC110
            await trio.sleep(every)


class CommandCount:
    """Counts the commands a module was sent, by prefix (an AT line-trace callback)."""

    def __init__(self) -> None:
        self.text = bytearray()

    def __call__(self, direction: str, data: bytes) -> None:
        if direction == "host->module":
            self.text += data

    def count(self, prefix: bytes) -> int:
        return self.text.count(prefix)


def source_data(n: int, seed: int = 7) -> bytes:
    """``n`` bytes of seeded random data (all 256 values): what a ``source`` server sends."""
    return random.Random(seed).randbytes(n)


def server_context(cert: trustme.LeafCert, *, client_ca: trustme.CA | None = None,
                   versions: tuple[ssl.TLSVersion, ssl.TLSVersion] | None = None
                   ) -> ssl.SSLContext:
    """A server-side context presenting ``cert``.

    ``client_ca`` requires a client certificate issued by that CA; ``versions``
    pins ``(minimum, maximum)`` TLS versions (below 1.2 with OpenSSL's
    security level 0, or no cipher suite is left).
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    if client_ca is not None:
        client_ca.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
    if versions is not None:
        context.minimum_version, context.maximum_version = versions
        if versions[0] < ssl.TLSVersion.TLSv1_2:
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


async def open_local_listeners() -> tuple[list[trio.SocketListener], int]:
    """Listeners on a free port of 127.0.0.1, and that port."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port: int = listeners[0].socket.getsockname()[1]
    return listeners, port


async def close_tls(stream: trio.SSLStream[Any], *, within: float = 2.0,
                    graceful: bool = True) -> None:
    """Close ``stream`` even from a cancelled task (shielded, at most ``within`` s).

    ``graceful`` sends close_notify first (the peer sees a clean end of
    stream); otherwise the TCP connection is just closed.  A peer that is
    already gone is not an error.
    """
    with trio.move_on_after(within) as scope:
        scope.shield = True
        if not graceful:
            await trio.aclose_forcefully(stream)
            return
        try:
            await stream.aclose()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass


class Handler(enum.Enum):
    """What a ``TlsServer`` does with a connection after the handshake."""

    ECHO = "echo"      # sends every byte back
    SINK = "sink"      # reads and counts until the client ends
    SOURCE = "source"  # sends ``source_data(source_bytes)``, then closes


@dataclass
class ConnectionRecord:
    """What one server connection saw after its handshake."""

    received: int = 0
    sent: int = 0
    sha256: hashlib._Hash = field(default_factory=hashlib.sha256)
    finished: trio.Event = field(default_factory=trio.Event)
    client_cert: dict[str, Any] | None = None


class TlsServer:
    """A TLS server on 127.0.0.1; ``handler`` is ``"echo"``, ``"sink"`` or ``"source"``.

    ``source`` sends ``source_bytes`` of seeded random data (see
    ``source_data``) then closes.  ``client_ca`` makes the server require a
    client certificate issued by that CA.  ``versions`` pins
    ``(minimum, maximum)`` TLS versions.  Start it with
    ``await nursery.start(server.serve)``; ``port`` is set then.
    """

    def __init__(
        self,
        cert: trustme.LeafCert,
        handler: str | Handler = Handler.ECHO,
        *,
        client_ca: trustme.CA | None = None,
        source_bytes: int = 0,
        versions: tuple[ssl.TLSVersion, ssl.TLSVersion] | None = None,
    ) -> None:
        self.handler = Handler(handler)
        self.source_bytes = source_bytes
        self.port = 0
        self.sni_seen: list[str | None] = []
        self.connections: list[ConnectionRecord] = []
        self.handshake_failures = 0
        self.context = server_context(cert, client_ca=client_ca, versions=versions)
        self.context.sni_callback = self._on_sni

    def _on_sni(self, sslobj: ssl.SSLObject, name: str | None, context: ssl.SSLContext
                ) -> None:
        self.sni_seen.append(name)

    async def serve(self, task_status: trio.TaskStatus[TlsServer] = trio.TASK_STATUS_IGNORED
                    ) -> None:
        listeners, self.port = await open_local_listeners()
        async with trio.open_nursery() as nursery:
            for listener in listeners:
                nursery.start_soon(self._accept_loop, listener, nursery)
            task_status.started(self)

    async def _accept_loop(self, listener: trio.SocketListener, nursery: trio.Nursery) -> None:
        async with listener:
            while True:
                tcp = await listener.accept()
                nursery.start_soon(self._handle, tcp)

    async def _handle(self, tcp: trio.SocketStream) -> None:
        record = ConnectionRecord()
        stream = trio.SSLStream(tcp, self.context, server_side=True)
        try:
            try:
                await stream.do_handshake()
            except (trio.BrokenResourceError, ssl.SSLError):
                self.handshake_failures += 1
                return
            self.connections.append(record)
            record.client_cert = stream.getpeercert()
            if self.handler is Handler.ECHO:
                await self._echo(stream, record)
            elif self.handler is Handler.SINK:
                await self._sink(stream, record)
            else:
                await self._source(stream, record)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            record.finished.set()
            await close_tls(stream)

    async def _echo(self, stream: trio.SSLStream[Any], record: ConnectionRecord) -> None:
        while data := await stream.receive_some(65536):
            record.received += len(data)
            record.sha256.update(data)
            await stream.send_all(data)
            record.sent += len(data)

    async def _sink(self, stream: trio.SSLStream[Any], record: ConnectionRecord) -> None:
        while data := await stream.receive_some(65536):
            record.received += len(data)
            record.sha256.update(data)

    async def _source(self, stream: trio.SSLStream[Any], record: ConnectionRecord) -> None:
        data = source_data(self.source_bytes)
        for offset in range(0, len(data), 16384):
            await stream.send_all(data[offset:offset + 16384])
            record.sent = offset + len(data[offset:offset + 16384])


def take_id(pool: ClientIdPool, wanted: int) -> int:
    """Acquire ``wanted`` itself (the pool hands out the longest free first)."""
    others = []
    while (got := pool.acquire_nowait()) != wanted:
        others.append(got)
    for other in others:
        pool.release(other)
    return got


async def read_until(stream: trio.abc.ReceiveStream, marker: bytes) -> bytes:
    """Bytes from ``stream`` up to and including ``marker`` (nothing read past it
    is lost: callers read whole answers)."""
    data = b""
    with trio.fail_after(20):
        while marker not in data:
            chunk = await stream.receive_some()
            assert chunk, f"the stream ended after {data!r}"
            data += chunk
    return data


async def enter_cmux(line: trio.abc.Stream, command: bytes = b"AT+CMUX=0,0,5,127\r") -> None:
    """Echo off, then ``AT+CMUX`` and its OK: the line is the multiplexer's after it."""
    await line.send_all(b"ATE0\r")
    await read_until(line, b"OK\r\n")
    await line.send_all(command)
    assert (await read_until(line, b"OK\r\n")).endswith(b"\r\nOK\r\n")
