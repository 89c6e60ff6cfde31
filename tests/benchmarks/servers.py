"""TLS servers on 127.0.0.1 for the benchmark: source, sink and request/response.

Each server listens on its own port, so a connection needs no request to
say what it wants, and closes the connection when its work is done (the
transparent reference then ends with ``NO CARRIER``, no ``+++`` needed):

* ``source``: sends ``size`` bytes at once after the handshake, then closes;
* ``sink``: reads until it has ``size`` bytes, notes when the last one came,
  then closes;
* ``duplex``: sends ``size`` bytes while it reads ``size`` bytes, then closes;
* ``reqresp``: ``count`` times reads a ``request``-byte request and answers
  ``reply`` bytes, then closes.

``tests.helpers.TlsServer`` has source and sink too, but its sink cannot tell
when the n-th byte arrived and it has no request/response handler; the
context, listener, close and seeded data come from ``tests.helpers``.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

import trio
import trustme

from tests.helpers import close_tls, open_local_listeners, server_context, source_data

CHUNK = 16384


def payload(n: int) -> bytes:
    """``n`` bytes of seeded random data (TLS does not compress; content is irrelevant)."""
    return source_data(n, seed=6)


@dataclass
class Completion:
    """When a connection's work finished (trio clock) and how many bytes it moved."""

    done: trio.Event = field(default_factory=trio.Event)
    at: float = 0.0
    nbytes: int = 0
    received: int = 0  # duplex: bytes read, and when the last one came
    received_at: float = 0.0


@dataclass
class BenchServer:
    """One listening server; ``completions`` get one entry per accepted connection."""

    kind: str
    size: int = 0
    request: int = 0
    reply: int = 0
    count: int = 0
    port: int = 0
    completions: list[Completion] = field(default_factory=list)
    _waiting: list[trio.Event] = field(default_factory=list)

    async def completion(self, index: int) -> Completion:
        """The record of the ``index``-th connection, once it has been accepted."""
        while len(self.completions) <= index:
            event = trio.Event()
            self._waiting.append(event)
            await event.wait()
        return self.completions[index]


class BenchServers:
    """All servers of one benchmark run, sharing one trustme CA (``ca_pem``)."""

    def __init__(self, host: str = "bench.test") -> None:
        self.ca = trustme.CA()
        cert = self.ca.issue_cert(host)
        self.ca_pem = self.ca.cert_pem.bytes()
        self.context = server_context(cert)
        self._data = b""

    def _data_of(self, n: int) -> bytes:
        if len(self._data) < n:
            self._data = payload(n)
        return self._data[:n]

    async def serve(self, nursery: trio.Nursery, server: BenchServer) -> BenchServer:
        listeners, server.port = await open_local_listeners()
        if server.kind in ("source", "duplex"):
            self._data_of(server.size)
        nursery.start_soon(self._accept_loop, listeners[0], server, nursery)
        return server

    async def _accept_loop(self, listener: trio.SocketListener, server: BenchServer,
                           nursery: trio.Nursery) -> None:
        async with listener:
            while True:
                tcp = await listener.accept()
                completion = Completion()
                server.completions.append(completion)
                for event in server._waiting:
                    event.set()
                server._waiting.clear()
                nursery.start_soon(self._handle, tcp, server, completion)

    async def _duplex(self, stream: trio.SSLStream[trio.SocketStream], size: int,
                      completion: Completion) -> None:
        data = self._data_of(size)

        async def send() -> None:
            view = memoryview(data)
            for offset in range(0, len(data), CHUNK):
                await stream.send_all(view[offset:offset + CHUNK])

        async def receive() -> None:
            while completion.received < size:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    break
                completion.received += len(chunk)
            completion.received_at = trio.current_time()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(send)
            nursery.start_soon(receive)
        completion.nbytes = len(data) + completion.received

    async def _handle(self, tcp: trio.SocketStream, server: BenchServer,
                      completion: Completion) -> None:
        stream = trio.SSLStream(tcp, self.context, server_side=True)
        try:
            await stream.do_handshake()
            if server.kind == "source":
                data = self._data_of(server.size)
                view = memoryview(data)
                for offset in range(0, len(data), CHUNK):
                    await stream.send_all(view[offset:offset + CHUNK])
                completion.nbytes = len(data)
            elif server.kind == "sink":
                while completion.nbytes < server.size:
                    chunk = await stream.receive_some(65536)
                    if not chunk:
                        break
                    completion.nbytes += len(chunk)
            elif server.kind == "duplex":
                await self._duplex(stream, server.size, completion)
            elif server.kind == "reqresp":
                answer = self._data_of(server.reply)
                for _ in range(server.count):
                    got = 0
                    while got < server.request:
                        chunk = await stream.receive_some(server.request - got)
                        if not chunk:
                            return
                        got += len(chunk)
                    await stream.send_all(answer)
                    completion.nbytes += got + len(answer)
        except (trio.BrokenResourceError, trio.ClosedResourceError, ssl.SSLError):
            pass
        finally:
            completion.at = trio.current_time()
            if not completion.received_at:
                completion.received_at = completion.at
            completion.done.set()
            await close_tls(stream, within=5)
