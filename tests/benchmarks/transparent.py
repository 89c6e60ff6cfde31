"""The reference: one transparent-mode connection, raw bytes on the line (manual 1.3).

``ReferenceModem.open(device, baud, cacert)`` opens the pty itself and does
the bring-up with the driver's own steps (``modem.bringup.steps``: ``ATE0``,
``AT+CMEE``, clock, ``AT+QICSGP``/``AT+QIACT``, ``AT+QFUPL`` of the CA,
``AT+QSSLCFG`` with the same ``TlsProfile`` the proxy derives from
``--cacert``), then stops the command channel's reader and owns the raw
line.  Each session is ``AT+QSSLOPEN=1,0,<id>,"<host>",<port>,2``, ``CONNECT``,
raw bytes, and the server's close (``NO CARRIER``), then ``AT+QSSLCLOSE``
to free the id: no ``+++`` and its guard times are needed because every
benchmark server closes when its work is done.

Timing starts when ``AT+QSSLOPEN`` is written, as the proxy's starts with
the client's TCP connect: both include the open and the TLS handshake.
"""

from __future__ import annotations

import statistics
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio

from modem.bringup.steps import (
    PdpSettings,
    activate_pdp,
    close_stale_sockets,
    configure_contexts,
    configure_line,
    set_clock,
    upload_files,
)
from modem.core import commands
from modem.core.profile import TlsProfile
from modem.link.channel import AtChannel
from modem.link.serial_stream import open_serial_stream

from .servers import BenchServer

CONNECT = b"\r\nCONNECT\r\n"
NO_CARRIER = b"\r\nNO CARRIER\r\n"
SESSION_TIMEOUT = 900.0
RTT_SAMPLES = 20


class ReferenceError(Exception):
    """The transparent session did not go as the manual says."""


@dataclass
class Transfer:
    """One timed transfer: ``start`` and ``end`` on the trio clock, payload bytes."""

    start: float
    end: float
    nbytes: int
    samples: list[float] | None = None  # per-exchange seconds (request/response)

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def goodput(self) -> float:
        return self.nbytes / self.seconds


@dataclass
class DuplexTransfer:
    """Both directions at once: ``down`` and ``up`` started together."""

    down: Transfer
    up: Transfer

    @property
    def goodput(self) -> float:
        """The two directions' goodputs added (bytes per second, both ways)."""
        return self.down.goodput + self.up.goodput


class ReferenceModem:
    """The emulator's line after bring-up, for transparent sessions."""

    def __init__(self, stream: trio.abc.Stream, host: str, ssl_ctx: int,
                 command_rtt: float) -> None:
        self.stream = stream
        self.host = host
        self.ssl_ctx = ssl_ctx
        self.command_rtt = command_rtt
        self._buf = bytearray()

    @classmethod
    @asynccontextmanager
    async def open(cls, device: str, baud: int, cacert: bytes,
                   host: str = "bench.test") -> AsyncIterator[ReferenceModem]:
        stream = await open_serial_stream(device, baudrate=baud)
        async with stream:
            channel = AtChannel(stream, on_urc=lambda event: None)
            profile = TlsProfile(cacert=cacert)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(channel.read_loop)
                await channel.sync()
                await configure_line(channel)
                await set_clock(channel)
                await activate_pdp(channel, PdpSettings(apn="internet"))
                await close_stale_sockets(channel)
                files = await upload_files(channel, [cacert])
                contexts = await configure_contexts(channel, [profile], files)
                rtts = []
                for _ in range(RTT_SAMPLES):
                    start = trio.current_time()
                    await channel.run(commands.at())
                    rtts.append(trio.current_time() - start)
                nursery.cancel_scope.cancel()  # the line is ours from here on
            yield cls(stream, host, contexts[profile], statistics.median(rtts))

    # -- raw line ------------------------------------------------------------

    async def _more(self) -> None:
        data = await self.stream.receive_some(65536)
        if not data:
            raise ReferenceError("the emulator closed the line")
        self._buf += data

    async def _until(self, *markers: bytes) -> bytes:
        """Bytes up to and including the first of ``markers``."""
        while True:
            hits = [(i, m) for m in markers if (i := self._buf.find(m)) >= 0]
            if hits:
                i, m = min(hits)
                out = bytes(self._buf[:i + len(m)])
                del self._buf[:i + len(m)]
                return out
            await self._more()

    async def command(self, text: str) -> bytes:
        await self.stream.send_all(text.encode() + b"\r")
        return await self._until(b"\r\nOK\r\n", b"ERROR\r\n")

    async def _connect(self, port: int, client_id: int) -> float:
        start = trio.current_time()
        await self.stream.send_all(
            b'AT+QSSLOPEN=1,%d,%d,"%s",%d,2\r' % (self.ssl_ctx, client_id,
                                                   self.host.encode(), port))
        answer = await self._until(CONNECT, b"ERROR\r\n")
        if not answer.endswith(CONNECT):
            raise ReferenceError(f"transparent open failed: {answer!r}")
        return start

    async def _finish(self, client_id: int) -> None:
        """After the data: ``NO CARRIER`` (server closed), then free the id."""
        await self._until(NO_CARRIER)
        await self.command(f"AT+QSSLCLOSE={client_id},0")

    async def _read_exact(self, n: int) -> None:
        while len(self._buf) < n:
            await self._more()
        del self._buf[:n]

    # -- sessions ------------------------------------------------------------

    async def download(self, port: int, nbytes: int, client_id: int = 0) -> Transfer:
        """Read ``nbytes`` from a source server; ends at the last payload byte."""
        with trio.fail_after(SESSION_TIMEOUT):
            start = await self._connect(port, client_id)
            got = min(len(self._buf), nbytes)
            del self._buf[:got]
            while got < nbytes:
                data = await self.stream.receive_some(65536)
                if not data:
                    raise ReferenceError("the emulator closed the line")
                take = min(len(data), nbytes - got)
                got += take
                if take < len(data):  # the tail is NO CARRIER: keep it for _finish
                    self._buf += data[take:]
            end = trio.current_time()
            await self._finish(client_id)
        return Transfer(start, end, nbytes)

    async def upload(self, server: BenchServer, data: bytes, client_id: int = 0) -> Transfer:
        """Write ``data`` to a sink server; ends when the server has the last byte."""
        with trio.fail_after(SESSION_TIMEOUT):
            index = len(server.completions)
            start = await self._connect(server.port, client_id)
            view = memoryview(data)
            for offset in range(0, len(view), 4096):
                await self.stream.send_all(view[offset:offset + 4096])
            completion = await server.completion(index)
            await completion.done.wait()
            await self._finish(client_id)
        return Transfer(start, completion.at, completion.nbytes)

    async def duplex(self, server: BenchServer, data: bytes, nbytes: int,
                     client_id: int = 0) -> DuplexTransfer:
        """Write ``data`` while reading ``nbytes`` on one session (a duplex server).

        Download time ends at the last byte read, upload time when the server
        has the last byte; both start at ``AT+QSSLOPEN``.
        """
        with trio.fail_after(SESSION_TIMEOUT):
            index = len(server.completions)
            start = await self._connect(server.port, client_id)
            down_end = start

            async def write() -> None:
                view = memoryview(data)
                for offset in range(0, len(view), 4096):
                    await self.stream.send_all(view[offset:offset + 4096])

            async def read() -> None:
                nonlocal down_end
                got = min(len(self._buf), nbytes)
                del self._buf[:got]
                while got < nbytes:
                    chunk = await self.stream.receive_some(65536)
                    if not chunk:
                        raise ReferenceError("the emulator closed the line")
                    take = min(len(chunk), nbytes - got)
                    got += take
                    if take < len(chunk):
                        self._buf += chunk[take:]
                down_end = trio.current_time()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(write)
                nursery.start_soon(read)
            completion = await server.completion(index)
            await completion.done.wait()
            await self._finish(client_id)
        return DuplexTransfer(Transfer(start, down_end, nbytes),
                              Transfer(start, completion.received_at, completion.received))

    async def reqresp(self, port: int, request: bytes, reply: int, count: int,
                      client_id: int = 0) -> Transfer:
        """``count`` exchanges of ``request`` for ``reply`` bytes, one after another.

        The goodput counts the replies only (the downlink), so that it is a
        share of one direction's line rate like the others.
        """
        samples = []
        with trio.fail_after(SESSION_TIMEOUT):
            start = await self._connect(port, client_id)
            for _ in range(count):
                t0 = trio.current_time()
                await self.stream.send_all(request)
                await self._read_exact(reply)
                samples.append(trio.current_time() - t0)
            end = trio.current_time()
            await self._finish(client_id)
        return Transfer(start, end, count * reply, samples)
