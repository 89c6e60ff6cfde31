"""The module's word wins (issue 23 item 1): the proxy as a process against each
emulator variant where the module does not do what the proxy asks.

Each variant carries a binary echo (all 256 byte values, hash-checked), a few
request/response exchanges and a download read slowly, all byte-exact; the
status page shows what the proxy learned (``module.access_mode``,
``module.module_word``, ``module.urcs``).  The AT console's access-mode
switches (``AT+QISWTMD=<id>,0`` and ``,1``) go through the proxy while a
download runs.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
import trio

from modem.emulator import Emulator, EmulatorConfig
from proxy.config.endpoint import Endpoint
from tests.helpers import TlsServer, free_port, receive_exactly, round_trip, source_data
from tests.proxy_helpers import console_command, http_get, start_proxy_process, status_json

NAMES = {"echo.test": "127.0.0.1", "source.test": "127.0.0.1"}
DOWNLOAD = 400_000  # past the 64 KiB push limit, under the 1 MiB hard bound
BINARY = bytes(range(256)) * 400

# variant -> (emulator options, module.access_mode, module.module_word.push)
VARIANTS: dict[str, tuple[dict[str, Any], str, str]] = {
    "push accepted, buffer kept": ({"open_push": "buffer"}, "buffer", "kept buffer"),
    "push refused at open": ({"open_push": "refuse"}, "buffer", "refused at open"),
    "AT+QISWTMD refused": ({"absent_commands": frozenset({"+QISWTMD"})}, "push", "honoured"),
    # A pty has no USB data: the proxy leaves URCs on the factory port (usbat).
    "URCs start elsewhere": ({"port_name": "uart1"}, "push", "honoured"),
}


class Setup:
    """An echo and a source server, the proxy process on ``emulator``, its ports."""

    def __init__(self, echo: TlsServer, source: TlsServer) -> None:
        self.echo_port, self.source_port, self.status_port = free_port(), free_port(), free_port()
        self.echo, self.source = echo, source

    def argv(self, device: str, ca_file: str, *extra: str) -> list[str]:
        return ["--device", device, "--cacert", ca_file, "--status", str(self.status_port),
                "--map", f"{self.echo_port}=echo.test:{self.echo.port}",
                "--map", f"{self.source_port}=source.test:{self.source.port}", *extra]

    async def status(self) -> dict[str, Any]:
        return await status_json(Endpoint("127.0.0.1", self.status_port))


@pytest.fixture
async def setup(server_cert, nursery) -> Setup:
    echo = await nursery.start(TlsServer(server_cert, "echo").serve)
    source = await nursery.start(TlsServer(server_cert, "source", source_bytes=DOWNLOAD).serve)
    return Setup(echo, source)


async def binary_echo(port: int) -> bytes:
    async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
        return await round_trip(stream, BINARY)


async def exchanges(port: int, count: int = 5) -> list[bytes]:
    """``count`` request/response pairs on one connection, each waited for."""
    answers = []
    async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
        for n in range(count):
            request = b"request %d\n" % n
            await stream.send_all(request)
            answers.append(await receive_exactly(stream, len(request)))
    return answers


async def slow_download(port: int, pause: float = 0.02) -> bytes:
    """The whole download, read 16 KiB at a time with a pause after each.  Nothing is
    sent: the source server never reads, and unread bytes make its close a reset,
    which may cut the download short before the module read it."""
    got = bytearray()
    async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
        while chunk := await stream.receive_some(16384):
            got += chunk
            await trio.sleep(pause)
    return bytes(got)


@pytest.mark.parametrize("variant", list(VARIANTS))
async def test_each_variant_carries_every_byte(variant, setup, ca_file, tmp_path, nursery):
    options, access_mode, push = VARIANTS[variant]
    config = EmulatorConfig(resolve=NAMES, real_dns=False, **options)
    async with Emulator.running(config) as emu:
        await start_proxy_process(nursery, tmp_path / "proxy.log",
                                  *setup.argv(emu.device, str(ca_file)), within=30)
        with trio.fail_after(60):
            echoed = await binary_echo(setup.echo_port)
            assert hashlib.sha256(echoed).digest() == hashlib.sha256(BINARY).digest()
            before = (await setup.status())["module"]["urcs"]
            assert await exchanges(setup.echo_port) == [b"request %d\n" % n for n in range(5)]
            after = (await setup.status())["module"]["urcs"]
            assert await slow_download(setup.source_port) == source_data(DOWNLOAD)
        module = (await setup.status())["module"]
        _, metrics = await http_get(Endpoint("127.0.0.1", setup.status_port), "/metrics")
    assert (module["access_mode"], module["module_word"]["push"]) == (access_mode, push)
    assert re.search(rb'ssl_proxy_module_access_mode\{mode="%s",modem="modem1"\} 1\.0'
                     % access_mode.encode(), metrics)
    # Answers come on URCs or pushes, never by waiting for a poll.
    assert after["urcs"] == "ok"
    assert after["data_found_by_poll"] == before["data_found_by_poll"]
    if variant == "URCs start elsewhere":
        assert module["module_word"]["urc_port"] == {
            "host_guess": None, "module_says": "uart1", "routed_to": "uart1"}
        assert emu.urc_port == "uart1"


@pytest.mark.parametrize(("opened", "switches"), [("push", (0, 1, 0, 1)),
                                                  ("buffer", (1, 0, 1, 0))])
async def test_console_switches_are_followed_in_order(opened, switches, server_cert, ca_file,
                                                      tmp_path, nursery):
    """A download on a paced line, read as fast as it comes; the AT console
    switches its socket to buffer mode (the "recv" notice then announces data
    newer than every push) and to push mode (pushes then come for a socket that
    reads in buffer mode), twice each, mid-stream, starting from the mode the
    socket was opened in (``--access-mode``)."""
    size = 1_000_000
    source = await nursery.start(TlsServer(server_cert, "source", source_bytes=size).serve)
    echo = await nursery.start(TlsServer(server_cert, "echo").serve)
    setup = Setup(echo, source)
    config = EmulatorConfig(resolve=NAMES, real_dns=False, baud=3_000_000)
    console_port = free_port()
    log = tmp_path / "proxy.log"
    async with Emulator.running(config) as emu:
        proxy = await start_proxy_process(
            nursery, log, *setup.argv(emu.device, str(ca_file), "--at-console",
                                      str(console_port), "--access-mode", opened,
                                      "-vv"), within=30)
        got = bytearray()

        async def read_all_of(stream: trio.SocketStream) -> None:
            while chunk := await stream.receive_some(65536):
                got.extend(chunk)

        with trio.fail_after(60):
            async with (await trio.open_tcp_stream("127.0.0.1", setup.source_port) as stream,
                        await trio.open_tcp_stream("127.0.0.1", console_port) as console,
                        trio.open_nursery() as reading):
                reading.start_soon(read_all_of, stream)
                while len(got) < 100_000:  # noqa: ASYNC110
                    await trio.sleep(0.01)
                (connection,) = (await setup.status())["connections"]
                cid = connection["client_id"]
                for mode in switches:
                    assert await console_command(console, f"AT+QISWTMD={cid},{mode}") == ["OK"]
                    await trio.sleep(0.3)
                assert len(got) < size  # the switches came mid-stream
    assert hashlib.sha256(got).digest() == hashlib.sha256(source_data(size)).digest()
    text = proxy.output.decode()
    assert text.count("socket reads in buffer mode: the module says so") == 2, text
    assert text.count("socket reads pushed data: the module says so") == 2, text
