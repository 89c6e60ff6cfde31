"""Fixtures: the emulator on a real pty and a raw host end (CA and TLS servers: tests/conftest.py).

``Host`` is the host end of the pseudo-terminal, opened like a serial port
(``os.open`` + ``tty.setraw``), speaking raw bytes so tests check exact bytes.
"""

from __future__ import annotations

import os
import re
import tty
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trustme

from modem.emulator import Emulator, EmulatorConfig, Fault

HANG_GUARD = 20  # seconds; only so that a bug fails a test instead of hanging the run
BOOT_DONE = b"\r\n+QIND: SMS DONE\r\n"
PUSH = re.compile(rb'\+QSSLURC: "recv",(\d+),(\d+)')
FINALS = (b"OK", b"ERROR", b"SEND OK", b"SEND FAIL", b"CONNECT", b"NO CARRIER")


class Host:
    """The host end of the emulator's pty."""

    def __init__(self, stream: trio.lowlevel.FdStream) -> None:
        self.stream = stream
        self.buf = bytearray()
        self.urcs: list[bytes] = []
        self.pushed: dict[int, bytearray] = {}

    @classmethod
    def open(cls, device: str) -> Host:
        fd = os.open(device, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(fd)
        return cls(trio.lowlevel.FdStream(fd))

    async def aclose(self) -> None:
        await self.stream.aclose()

    async def send(self, data: bytes | str) -> None:
        await self.stream.send_all(data.encode() if isinstance(data, str) else data)

    async def _more(self) -> None:
        with trio.fail_after(HANG_GUARD):
            chunk = await self.stream.receive_some(65536)
        assert chunk, "pty closed"
        self.buf += chunk

    async def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            await self._more()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    async def expect(self, expected: bytes) -> None:
        """The next bytes are exactly ``expected``."""
        got = await self.read_exact(len(expected))
        assert got == expected

    async def read_until(self, marker: bytes) -> bytes:
        while (end := self.buf.find(marker)) < 0:
            await self._more()
        end += len(marker)
        data = bytes(self.buf[:end])
        del self.buf[:end]
        return data

    async def item(self) -> bytes | None:
        """The next non-empty CR LF line (without line ends), or None for push data.

        Push-mode data (``+QSSLURC: "recv",<id>,<len>`` and its payload) is
        collected in ``pushed[id]``.
        """
        while self.buf[:2] == b"\r\n" or len(self.buf) < 2:
            if self.buf[:2] == b"\r\n":
                del self.buf[:2]
            else:
                await self._more()
        line = (await self.read_until(b"\r\n"))[:-2]
        m = PUSH.fullmatch(line)
        if m is None:
            return line
        payload = await self.read_exact(int(m[2]))
        self.pushed.setdefault(int(m[1]), bytearray()).extend(payload)
        if await self.read_exact(2) != b"\r\n":  # the frame's trailer (push_trailer)
            raise AssertionError("a push frame without its trailer")
        return None

    async def line(self) -> bytes:
        """The next non-empty line that is not push data."""
        while (line := await self.item()) is None:
            pass
        return line

    async def pushed_data(self, cid: int, n: int) -> bytes:
        """Wait until ``n`` bytes were pushed for ``cid`` (other lines collected)."""
        while len(self.pushed.get(cid, b"")) < n:
            line = await self.item()
            if line is not None:
                self.urcs.append(line)
        return bytes(self.pushed[cid])

    async def command(self, text: str) -> bytes:
        """Send a command (echo off) and return every byte up to its final result."""
        await self.send(text + "\r")
        out = bytearray()
        while True:
            out += await self.read_until(b"\r\n")
            last = out[:-2].rsplit(b"\r\n", 1)[-1]
            if last in FINALS or last.startswith(b"+CME ERROR:"):
                return bytes(out)

    async def prompt(self) -> None:
        """Wait for ``> `` (URCs and push data before it are collected)."""
        while True:
            while self.buf[:2] == b"\r\n" or len(self.buf) < 2:
                if self.buf[:2] == b"\r\n":
                    del self.buf[:2]
                else:
                    await self._more()
            if self.buf[:2] == b"> ":
                del self.buf[:2]
                return
            line = await self.item()
            if line is not None:
                self.urcs.append(line)

    async def final(self) -> bytes:
        """The next final result line, collecting URCs before it."""
        while True:
            line = await self.line()
            if line in FINALS or line.startswith(b"+CME ERROR:"):
                return line
            self.urcs.append(line)

    async def urc(self, prefix: bytes) -> bytes:
        """The next URC starting with ``prefix`` (collected or arriving)."""
        for i, urc in enumerate(self.urcs):
            if urc.startswith(prefix):
                return self.urcs.pop(i)
        while True:
            line = await self.line()
            if line.startswith(prefix):
                return line
            self.urcs.append(line)

    async def send_data(self, cid: int, data: bytes) -> bytes:
        """``AT+QSSLSEND=<cid>,<len>`` with ``data``; returns the final result."""
        await self.send(f"AT+QSSLSEND={cid},{len(data)}\r")
        await self.prompt()
        await self.send(data)
        return await self.final()

    async def recv_data(self, cid: int, n: int = 1500) -> bytes:
        """``AT+QSSLRECV=<cid>,<n>``; returns the payload (URCs on the way collected)."""
        await self.send(f"AT+QSSLRECV={cid},{n}\r")
        while True:
            line = await self.line()
            if line.startswith(b"+QSSLRECV: "):
                break
            assert line not in FINALS, line
            self.urcs.append(line)
        data = await self.read_exact(int(line[11:]))
        assert await self.final() == b"OK"
        return data

    async def open_ssl(self, cid: int, host: str, port: int, ctx: int = 1, mode: int = 0,
                       pdp: int = 1) -> int:
        """``AT+QSSLOPEN`` in buffer or push mode; returns ``<err>`` of the URC."""
        await self.send(f'AT+QSSLOPEN={pdp},{ctx},{cid},"{host}",{port},{mode}\r')
        assert await self.final() == b"OK"
        urc = await self.urc(b"+QSSLOPEN: ")
        got_cid, err = urc[11:].split(b",")
        assert int(got_cid) == cid
        return int(err)


@asynccontextmanager
async def emulator_host(config: EmulatorConfig) -> AsyncIterator[tuple[Emulator, Host]]:
    """A booted emulator and a host end that has read the boot URCs."""
    async with Emulator.running(config) as emu:
        host = Host.open(emu.device)
        try:
            await host.read_until(BOOT_DONE)
            yield emu, host
        finally:
            await host.aclose()


@pytest.fixture
def config() -> EmulatorConfig:
    return EmulatorConfig(resolve={"api.example.com": "127.0.0.1"}, real_dns=False)


@pytest.fixture
async def emu_host(config: EmulatorConfig) -> AsyncIterator[tuple[Emulator, Host]]:
    """Booted emulator and host, echo still on (as after power-up)."""
    async with emulator_host(config) as pair:
        yield pair


@pytest.fixture
async def host(emu_host: tuple[Emulator, Host]) -> Host:
    """The host end with echo off (``ATE0`` done)."""
    _, h = emu_host
    await h.send("ATE0\r")
    await h.expect(b"ATE0\r\r\nOK\r\n")
    return h


@pytest.fixture
def emu(emu_host: tuple[Emulator, Host]) -> Emulator:
    return emu_host[0]


@pytest.fixture
async def online(emu: Emulator, host: Host, ca: trustme.CA) -> Host:
    """Echo off, PDP context 1 active, the test CA uploaded as UFS:cacert.pem."""
    assert await host.command("AT+QIACT=1") == b"\r\nOK\r\n"
    emu.files.put("UFS:cacert.pem", ca.cert_pem.bytes())
    return host


async def data_during_a_silence(emu: Emulator, host: Host, client_id: int, data: bytes) -> None:
    """Silence the module for 0.5 s and hand socket ``client_id`` ``data`` as if
    its server sent it then; the module must say nothing for 0.3 s."""
    await emu.inject(Fault.silence(0.5))
    sock = emu.module.sockets[client_id]
    sock.rx += data
    sock.notify()
    with trio.move_on_after(0.3):
        await host.read_exact(1)
        raise AssertionError("the module spoke while silent")
