"""The soak's TLS servers: echo and sink, each hashing every stream it gets.

Every connection starts with a ``HEADER_SIZE``-byte header the client
writes (``b"SOAK"``, an 8-byte token, 8-byte payload length), so a server
record can be matched with the client that made it.  After the header:

* ``echo`` sends every byte back;
* ``sink`` reads ``length`` bytes, answers their SHA-256 (32 bytes) and
  closes: the server really finished, so a clean end of stream after the
  digest is what the client must see;
* ``source`` sends ``length`` bytes of ``source_bytes(token, length)`` and
  closes (a download: the client only reads, so the way the proxy ends a
  failed connection, reset or clean end of stream, is all it has to go by).

Every payload is ``signatures.signed_bytes(token, length)``, so each block
names the connection it belongs to.  Each server keeps, per token, how many
payload bytes it received, their hash, the first wrong bytes classified
(another connection's, a hole, corrupted) and how the connection ended; the
client checks the server's bytes against a prefix of what it sent.
"""

from __future__ import annotations

import hashlib
import ssl
import struct
from dataclasses import dataclass, field
from typing import Any

import trio
import trustme

from tests.helpers import close_tls, open_local_listeners, receive_exactly, server_context

from .signatures import classify, signed_bytes

MAGIC = b"SOAK"
HEADER = struct.Struct(">4sQQ")
HEADER_SIZE = HEADER.size


def header(token: int, length: int) -> bytes:
    return HEADER.pack(MAGIC, token, length)


@dataclass
class ServerRecord:
    """What one server connection saw after the header."""

    token: int
    length: int
    received: int = 0
    sha256: hashlib._Hash = field(default_factory=hashlib.sha256)
    ended: str = ""  # "eof", "broken", "finished" (sink answered / source sent all)
    done: trio.Event = field(default_factory=trio.Event)
    verdict: tuple[str, str] | None = None  # the first wrong bytes: (outcome, message)

    def take(self, data: bytes) -> None:
        """Count ``data`` and check it against the token's signed bytes."""
        if self.verdict is None and data != signed_bytes(
                self.token, self.received + len(data))[self.received:]:
            self.verdict = classify(data, self.received, self.token)
        self.received += len(data)
        self.sha256.update(data)


class SoakServer:
    """A TLS echo or sink server on 127.0.0.1; ``records`` by token."""

    def __init__(self, cert: trustme.LeafCert, handler: str) -> None:
        if handler not in ("echo", "sink", "source"):
            raise ValueError(handler)
        self.handler = handler
        self.port = 0
        self.records: dict[int, ServerRecord] = {}
        self.handshake_failures = 0
        self.bad_headers = 0
        self.active = 0
        self._arrived: dict[int, trio.Event] = {}
        self.context = server_context(cert)

    async def serve(self, task_status: trio.TaskStatus[SoakServer] = trio.TASK_STATUS_IGNORED
                    ) -> None:
        listeners, self.port = await open_local_listeners()
        async with trio.open_nursery() as nursery:
            task_status.started(self)
            await trio.serve_listeners(self._handle, listeners, handler_nursery=nursery)

    async def wait_done(self, token: int) -> ServerRecord:
        """The record of ``token`` once its connection ended."""
        if token not in self.records:
            await self._arrived.setdefault(token, trio.Event()).wait()
        record = self.records[token]
        await record.done.wait()
        return record

    def forget(self, token: int) -> None:
        self.records.pop(token, None)
        self._arrived.pop(token, None)

    async def _handle(self, tcp: trio.SocketStream) -> None:
        stream = trio.SSLStream(tcp, self.context, server_side=True)
        record: ServerRecord | None = None
        self.active += 1
        try:
            try:
                await stream.do_handshake()
            except (trio.BrokenResourceError, ssl.SSLError):
                self.handshake_failures += 1
                return
            head = await receive_exactly(stream, HEADER_SIZE)
            if len(head) < HEADER_SIZE:
                return
            magic, token, length = HEADER.unpack(head)
            if magic != MAGIC:
                self.bad_headers += 1
                return
            record = ServerRecord(token, length)
            self.records[token] = record
            self._arrived.pop(token, trio.Event()).set()
            if self.handler == "echo":
                await self._echo(stream, record)
            elif self.handler == "sink":
                await self._sink(stream, record)
            else:
                await self._source(stream, record)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            if record is not None and not record.ended:
                record.ended = "broken"
        finally:
            self.active -= 1
            await close_tls(stream, graceful=record is not None and record.ended == "finished")
            if record is not None:
                record.ended = record.ended or "broken"
                record.done.set()

    async def _echo(self, stream: trio.SSLStream[Any], record: ServerRecord) -> None:
        while data := await stream.receive_some(65536):
            record.take(data)
            await stream.send_all(data)
        record.ended = "eof"

    async def _sink(self, stream: trio.SSLStream[Any], record: ServerRecord) -> None:
        while record.received < record.length:
            data = await stream.receive_some(min(65536, record.length - record.received))
            if not data:
                record.ended = "eof"
                return
            record.take(data)
        await stream.send_all(record.sha256.digest())
        record.ended = "finished"


    async def _source(self, stream: trio.SSLStream[Any], record: ServerRecord) -> None:
        data = source_bytes(record.token, record.length)
        for offset in range(0, len(data), 16384):
            await stream.send_all(data[offset:offset + 16384])
        record.ended = "finished"


def source_bytes(token: int, length: int) -> bytes:
    """What the source server sends for ``token`` (what any client of it sends)."""
    return signed_bytes(token, length)
