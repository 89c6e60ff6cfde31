"""Real TLS servers on 127.0.0.1 for tests: echo, sink and source.

Certificates come from ``trustme``.  Each server records what a test wants
to check on the far side: the SNI names it saw, and per connection the bytes
it received (count and SHA-256) or sent.
"""

from __future__ import annotations

import hashlib
import random
import ssl
from dataclasses import dataclass, field

import trio
import trustme


@dataclass
class ConnectionRecord:
    received: int = 0
    sent: int = 0
    sha256: hashlib._Hash = field(default_factory=hashlib.sha256)
    finished: trio.Event = field(default_factory=trio.Event)
    client_cert: dict | None = None


class TlsServer:
    """A TLS server; ``handler`` is ``"echo"``, ``"sink"`` or ``"source"``.

    ``source`` sends ``source_bytes`` of seeded random data (see
    ``source_data``) then closes.  ``client_ca`` makes the server require a
    client certificate issued by that CA.  ``versions`` pins
    ``(minimum, maximum)`` TLS versions.
    """

    def __init__(
        self,
        cert: trustme.LeafCert,
        handler: str = "echo",
        *,
        client_ca: trustme.CA | None = None,
        source_bytes: int = 0,
        versions: tuple[ssl.TLSVersion, ssl.TLSVersion] | None = None,
    ) -> None:
        self.handler = handler
        self.source_bytes = source_bytes
        self.port = 0
        self.sni_seen: list[str | None] = []
        self.connections: list[ConnectionRecord] = []
        self.handshake_failures = 0
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        if client_ca is not None:
            client_ca.configure_trust(ctx)
            ctx.verify_mode = ssl.CERT_REQUIRED
        if versions is not None:
            ctx.minimum_version, ctx.maximum_version = versions
            if versions[0] < ssl.TLSVersion.TLSv1_2:
                ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.sni_callback = self._on_sni
        self.context = ctx

    def _on_sni(self, sslobj, name, context):
        self.sni_seen.append(name)

    async def serve(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
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
            if self.handler == "echo":
                await self._echo(stream, record)
            elif self.handler == "sink":
                await self._sink(stream, record)
            else:
                await self._source(stream, record)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            record.finished.set()
            with trio.move_on_after(2) as scope:
                scope.shield = True
                try:
                    await stream.aclose()
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    pass

    async def _echo(self, stream: trio.SSLStream, record: ConnectionRecord) -> None:
        while data := await stream.receive_some(65536):
            record.received += len(data)
            record.sha256.update(data)
            await stream.send_all(data)
            record.sent += len(data)

    async def _sink(self, stream: trio.SSLStream, record: ConnectionRecord) -> None:
        while data := await stream.receive_some(65536):
            record.received += len(data)
            record.sha256.update(data)

    async def _source(self, stream: trio.SSLStream, record: ConnectionRecord) -> None:
        data = source_data(self.source_bytes)
        for offset in range(0, len(data), 16384):
            await stream.send_all(data[offset:offset + 16384])
            record.sent = offset + len(data[offset:offset + 16384])


def source_data(n: int, seed: int = 7) -> bytes:
    """The bytes a ``source`` server sends: seeded random, all 256 values."""
    return random.Random(seed).randbytes(n)
