"""What the tests of the proxy share: the proxy in the test's nursery or as a child
process, what a local client does with it, emulated modules a test can kill.

* ``build_service``, ``start_proxy``, ``proxy_on_emulator``: a ``ProxyService``
  built from a config (flags, a flag dict) as the CLI builds it, serving in the test;
* ``address``, ``connect``, ``talk``, ``http_get``, ``status_json``,
  ``console_command``: a local client of its listeners, its status page, its console;
* ``start_proxy_process``, ``run_cli``: ``python -m proxy.cli`` as a child process;
* ``KillableModule``, ``start_killable``, ``held_connection``,
  ``echo_on_new_connection``: emulators behind ``--device`` links, killed and revived;
* ``ec25``: the serial ports pyserial lists for one EC25;
* ``LentPort``: ``DedicatedChannels`` over the emulated module's second AT port
  (``usbmodem``), the channel transparent sockets borrow until the channel set
  of ``--channels`` lends them.

The fixtures (``emulator`` for tests/proxy) are in the conftest.py files; what
needs neither the proxy nor the emulator is in ``tests/helpers.py``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio

from modem.core import events as ev
from modem.core.at_command import Command
from modem.emulator import Emulator, EmulatorConfig
from modem.link.channel import AtChannel
from modem.link.serial_stream import open_serial_stream
from proxy.cli import parse_command_line
from proxy.config.build import Endpoint, ProxyConfig, build_config
from proxy.config.profiles import build_profiles, load_all_material
from proxy.modems.port_discovery import SerialPort
from proxy.service import ProxyService
from tests.helpers import REPO, read_all, wait_until

# -- the proxy in the test's nursery ---------------------------------------------------


def build_service(config: ProxyConfig, device: str | None = None, **options: Any
                  ) -> ProxyService:
    """The ``ProxyService`` the CLI builds for ``config`` (its TLS files read and checked);
    ``options`` are ``ProxyService``'s keywords."""
    return ProxyService(config, build_profiles(config, load_all_material(config)), device,
                        **options)


async def start_proxy(nursery: trio.Nursery, emulator: Emulator | None, *argv: str,
                      linger: float | None = 0.3, **options: Any) -> ProxyService:
    """A ProxyService configured by flags (``--device`` the emulator's), started in ``nursery``."""
    device = ["--device", emulator.device] if emulator is not None else []
    config = parse_command_line([*device, *argv])
    options.setdefault("emulator_options", {"real_dns": False})
    service = build_service(config, config.device, linger=linger, **options)
    return await nursery.start(service.run)


@asynccontextmanager
async def proxy_on_emulator(flags: dict[str, Any], **service_options: Any
                            ) -> AsyncIterator[ProxyService]:
    """``ProxyService`` (``--emulate``) built from ``flags`` as the CLI would, serving;
    shut down gracefully on exit."""
    flags = {"emulate": True, **flags}
    service_options.setdefault("linger", 0.1)
    service = build_service(build_config(flags), **service_options)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        try:
            yield service
        finally:
            # Graceful, as on SIGTERM: a plain cancel would also cancel the
            # emulator while the driver's shielded closes wait for its answers.
            service.request_shutdown()
            with trio.move_on_after(30):
                await service.registry.wait_empty()


# -- a local client ------------------------------------------------------------------


def address(service: ProxyService, index: int = 0) -> Endpoint:
    """Where the ``index``-th map listens."""
    return list(service.listen_addresses.values())[index]


async def connect(service: ProxyService, index: int = 0) -> trio.SocketStream:
    """A local client of the ``index``-th map."""
    where = address(service, index)
    return await trio.open_tcp_stream(where.host, where.port)


@dataclass
class Seen:
    """What a local client saw: the bytes, and how the stream ended."""

    data: bytes
    end: str  # "eof" (clean), "reset" (error), "open" (still open at the deadline)
    error: str = ""


async def talk(port: int, send: bytes = b"", *, want: int | None = None,
               within: float = 20.0) -> Seen:
    """Connect, send ``send``, read until the end (or ``want`` bytes) and report it."""
    data = bytearray()
    with trio.move_on_after(within):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        try:
            if send:
                await stream.send_all(send)
            while want is None or len(data) < want:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    return Seen(bytes(data), "eof")
                data += chunk
            return Seen(bytes(data), "data")
        except trio.BrokenResourceError as exc:
            return Seen(bytes(data), "reset", str(exc.__cause__ or exc))
        finally:
            await trio.aclose_forcefully(stream)
    return Seen(bytes(data), "open")


async def http_get(where: Endpoint, path: str, method: str = "GET") -> tuple[int, bytes]:
    """One HTTP/1.0 request to the status page at ``where``: the status code and the body."""
    async with await trio.open_tcp_stream(where.host, where.port) as stream:
        await stream.send_all(f"{method} {path} HTTP/1.0\r\n\r\n".encode())
        data = await read_all(stream)
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def status_json(where: Endpoint | None) -> dict[str, Any]:
    """``/status.json`` at ``where``, which must answer 200."""
    assert where is not None
    status, body = await http_get(where, "/status.json")
    assert status == 200, body
    page: dict[str, Any] = json.loads(body)
    return page


async def console_command(stream: trio.abc.Stream, line: str) -> list[str]:
    """Send one line to the AT console; the response lines up to the final one
    (OK / ERROR...)."""
    await stream.send_all(line.encode() + b"\r\n")
    lines: list[str] = []
    buffer = b""
    while True:
        while b"\r\n" in buffer:
            raw, buffer = buffer.split(b"\r\n", 1)
            lines.append(raw.decode())
            if re.match(r"^(OK|ERROR.*|\+CME ERROR.*)$", lines[-1]):
                assert buffer == b""
                return lines
        chunk = await stream.receive_some(4096)
        assert chunk, lines
        buffer += chunk


def messages(caplog: pytest.LogCaptureFixture, level: int = logging.WARNING) -> str:
    """The captured log lines at ``level`` or above, with their key=value fields."""
    out = []
    for record in caplog.records:
        if record.levelno >= level:
            fields = getattr(record, "kv_fields", {}) or {}
            out.append(record.getMessage() + " " + " ".join(f"{k}={v}" for k, v in
                                                            fields.items()))
    return "\n".join(out)


# -- the proxy as a child process ----------------------------------------------------

STOP_WITHIN = 30.0  # seconds a stopped proxy may take to exit


def proxy_command(*argv: str) -> list[str]:
    """``ssl-proxy ARGV`` as a command line for this checkout."""
    return [sys.executable, "-m", "proxy.cli", *argv]


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``ssl-proxy ARGS`` to its end, as a user runs it; its output as text."""
    return subprocess.run(proxy_command(*args), cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, check=False)


class ProxyProcess:
    """``python -m proxy.cli ...`` started by ``start_proxy_process``; what it prints
    (stdout and stderr) goes to ``log``."""

    def __init__(self, process: trio.Process, log: Path) -> None:
        self.process = process
        self.log = log

    @property
    def output(self) -> bytes:
        """Everything it printed so far."""
        return self.log.read_bytes()

    @property
    def port(self) -> int:
        """The first map's port, from its ``listening on`` line."""
        found = re.search(rb"listening on 127\.0\.0\.1:(\d+)", self.output)
        assert found, self.output.decode(errors="replace")
        return int(found[1])

    async def wait_for(self, text: bytes, within: float = 20) -> None:
        """Until ``text`` is in the output; fails at once if the process ends without it."""
        await wait_until(lambda: text in self.output or self.process.returncode is not None,
                         within=within, every=0.02)
        assert text in self.output, self.output.decode(errors="replace")

    async def wait(self, within: float = STOP_WITHIN) -> int:
        """Its exit status, once it ends (a hang guard of ``within`` s)."""
        with trio.fail_after(within):
            return await self.process.wait()

    async def stop(self, signum: int = signal.SIGINT) -> int:
        """Send ``signum`` (SIGINT: Ctrl-C) and wait for the exit status."""
        self.process.send_signal(signum)
        return await self.wait()


async def _interrupt(process: trio.Process) -> None:
    """A cancelled test stops its proxy as a user would: SIGINT, SIGKILL if it lingers."""
    process.send_signal(signal.SIGINT)
    await trio.sleep(5)
    process.kill()


async def start_proxy_process(nursery: trio.Nursery, log: Path, *argv: str,
                              ready: bytes | None = b"listening on", within: float = 20,
                              env: dict[str, str] | None = None) -> ProxyProcess:
    """``python -m proxy.cli ARGV`` as a child process owned by ``nursery``, printing
    into the file ``log``; returned once ``ready`` is in its output (at once for None).

    When ``nursery`` is cancelled with the process still running, it gets SIGINT
    (a graceful stop), then SIGKILL after 5 s.
    """
    with log.open("wb") as sink:
        process: trio.Process = await nursery.start(partial(
            trio.run_process, proxy_command(*argv), cwd=REPO, env=env, check=False,
            stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
            deliver_cancel=_interrupt))
    proxy = ProxyProcess(process, log)
    if ready is not None:
        await proxy.wait_for(ready, within)
    return proxy


# -- emulated modules the test kills and revives -------------------------------------


class KillableModule:
    """An emulator behind ``link`` that the test can kill and revive."""

    def __init__(self, link: Path, config: EmulatorConfig) -> None:
        self.link = link
        self.config = config
        self._scope: trio.CancelScope | None = None

    async def start(self, nursery: trio.Nursery) -> None:
        await nursery.start(self._run)

    async def _run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        with trio.CancelScope() as self._scope:
            async with Emulator.running(self.config) as emu:
                self.link.symlink_to(emu.device)
                try:
                    task_status.started()
                    await trio.sleep_forever()
                finally:
                    self.link.unlink()

    def kill(self) -> None:
        assert self._scope is not None
        self._scope.cancel()


async def start_killable(nursery: trio.Nursery, tmp_path: Path, count: int,
                         **emulator: Any) -> list[KillableModule]:
    """``count`` emulators resolving ``echo.test``, each behind a by-id style link."""
    config = EmulatorConfig(resolve={"echo.test": "127.0.0.1"}, real_dns=False, **emulator)
    modules = [KillableModule(tmp_path / f"usb-Quectel_EC25_{n}-if02-port0", config)
               for n in range(count)]
    for module in modules:
        await module.start(nursery)
    return modules


class Client:
    """One echo connection moving ``size`` random bytes in chunks, both ways at once."""

    def __init__(self, service: ProxyService, size: int, chunk: int = 4096) -> None:
        self.service = service
        self.data = os.urandom(size)
        self.chunk = chunk
        self.got = bytearray()
        self.modem: str | None = None
        self.outcome = "running"
        self.halfway = trio.Event()

    async def run(self, hold_at_half: trio.Event | None = None) -> None:
        stream = await connect(self.service)
        async with stream:
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._send, stream, hold_at_half)
                    while len(self.got) < len(self.data):
                        chunk = await stream.receive_some(65536)
                        if not chunk:
                            self.outcome = "closed"
                            return
                        self.got += chunk
                        if self.modem is None:
                            self.modem = self._placed(stream)
                        if len(self.got) >= len(self.data) // 2:
                            self.halfway.set()
            except* trio.BrokenResourceError:  # either direction may see the reset first
                self.outcome = "reset"
                self.halfway.set()
        if self.outcome != "running":
            return
        same = hashlib.sha256(self.got).digest() == hashlib.sha256(self.data).digest()
        self.outcome = "intact" if same else "corrupt"

    async def _send(self, stream: trio.SocketStream, hold: trio.Event | None) -> None:
        for start in range(0, len(self.data), self.chunk):
            if hold is not None and start >= len(self.data) // 2:
                await self.halfway.wait()
                await hold.wait()
            await stream.send_all(self.data[start:start + self.chunk])

    def _placed(self, stream: trio.SocketStream) -> str | None:
        port = stream.socket.getsockname()[1]
        for record in self.service.registry.connections.values():
            if record.peer.endswith(f":{port}"):
                return record.modem
        return None


async def echo_on_new_connection(service: ProxyService) -> str | None:
    """A fresh connection's echo works; the modem it was placed on."""
    client = Client(service, 5000)
    with trio.fail_after(20):
        await client.run()
    assert client.outcome == "intact"
    return client.modem


async def held_connection(service: ProxyService) -> tuple[trio.SocketStream, str | None]:
    """A connection that stays open (one echo done) and the modem it is on."""
    stream = await connect(service)
    await stream.send_all(b"hold")
    got = b""
    with trio.fail_after(20):
        while len(got) < 4:
            got += await stream.receive_some(10)
    port = stream.socket.getsockname()[1]
    (modem,) = [r.modem for r in service.registry.connections.values()
                if r.peer.endswith(f":{port}")]
    return stream, modem


def ec25(n: int, bus: str = "1-1.4") -> list[SerialPort]:
    """pyserial's view of one EC25 on USB ``bus``: four interfaces, ttyUSB``n`` onwards."""
    return [SerialPort(f"/dev/ttyUSB{n + i}", 0x2C7C, 0x0125, f"{bus}:1.{i}")
            for i in range(4)]


# -- a second AT port lent for transparent mode --------------------------------------


class LentPort:
    """``DedicatedChannels`` (``modem.sockets.transparent_channels``) with one
    channel: an ``AtChannel`` on another pty of the emulated module, echo off,
    its reader in ``open``'s nursery.  URCs on it go to ``on_urc`` (kept in
    ``urcs`` when none is given).  ``loans`` counts borrows, ``broken`` the
    channels given back failed; a broken channel is not lent again."""

    def __init__(self, channel: AtChannel) -> None:
        self.channel = channel
        self.lent = False
        self.loans = 0
        self.broken = 0
        self.urcs: list[ev.Urc] = []

    @classmethod
    @asynccontextmanager
    async def open(cls, device: str, on_urc: Any = None) -> AsyncIterator[LentPort]:
        stream = await open_serial_stream(device)
        async with cls.on_stream(stream, on_urc) as port:
            yield port

    @classmethod
    @asynccontextmanager
    async def on_stream(cls, stream: trio.abc.Stream, on_urc: Any = None
                        ) -> AsyncIterator[LentPort]:
        """As ``open``, on a stream of the test's (a DLC); closed on exit."""
        urcs: list[ev.Urc] = []
        channel = AtChannel(stream, on_urc or urcs.append, command_timeout_cap=5.0)
        port = cls(channel)
        port.urcs = urcs
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(channel.read_loop)
                await channel.sync()
                await channel.run(Command("ATE0"))
                yield port
                nursery.cancel_scope.cancel()
        finally:
            await trio.aclose_forcefully(stream)

    def borrow(self) -> AtChannel | None:
        if self.lent or self.channel.failure is not None:
            return None
        self.lent = True
        self.loans += 1
        return self.channel

    def give_back(self, channel: AtChannel) -> None:
        assert channel is self.channel and self.lent
        self.lent = False
        if channel.failure is not None:
            self.broken += 1
