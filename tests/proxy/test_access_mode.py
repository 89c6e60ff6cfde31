"""``--access-mode`` / ``access-mode``: buffer or direct push (manual 1.3).

In push mode a connection whose local client stops reading switches its
module socket to buffer mode (``AT+QISWTMD``), holding at most the push
limit plus what was on its way, and back once the client reads again.
"""

from __future__ import annotations

import hashlib
import socket as stdlib_socket
from pathlib import Path

import pytest
import trio

from modem.core.push_flow import PushState
from modem.emulator.ssl_sockets import AccessMode as EmulatedMode
from proxy.cli import main, parse_command_line
from proxy.config.model import DEFAULT_ACCESS_MODE
from proxy.service import ProxyService
from tests.helpers import TlsServer, source_data, wait_until
from tests.proxy_helpers import address, start_proxy

MAP = ("--map", "0=echo.test:1")
PUSH_OVERSHOOT = 256 * 1024  # as tests/driver/test_driver.py


def test_default_flag_and_file(tmp_path: Path) -> None:
    assert parse_command_line([*MAP]).access_mode == DEFAULT_ACCESS_MODE
    for mode in ("buffer", "push"):
        assert parse_command_line([*MAP, "--access-mode", mode]).access_mode == mode
    path = tmp_path / "proxy.toml"
    path.write_text('access-mode = "push"\n[[map]]\nlisten = 0\nconnect = "h:1"\n')
    assert parse_command_line(["--config", str(path)]).access_mode == "push"
    assert parse_command_line(["--config", str(path), "--access-mode", "buffer"]
                              ).access_mode == "buffer"


def test_unknown_mode_is_a_one_line_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*MAP, "--access-mode", "transparent"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "--access-mode: 'transparent' is not one of buffer, push" in err


async def _slow_client(service: ProxyService) -> trio.SocketStream:
    """A local client with a small receive window, so the proxy's writes block soon."""
    where = address(service)
    sock = trio.socket.socket()
    sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_RCVBUF, 4096)
    await sock.connect((where.host, where.port))
    return trio.SocketStream(sock)


async def test_push_mode_client_that_stalls_gets_everything_in_bounded_memory(
    emulator, server_cert, ca_file, nursery
) -> None:
    total = 3 * 1024 * 1024
    source = await nursery.start(TlsServer(server_cert, "source", source_bytes=total).serve)
    service = await start_proxy(nursery, emulator, "--cacert", str(ca_file),
                                "--access-mode", "push",
                                "--map", f"0=source.test:{source.port}")
    client = await _slow_client(service)
    async with client:
        # The client reads nothing: the proxy's socket must go to buffer mode.
        await wait_until(lambda: any(
            s.push is not None and s.push.state is PushState.BUFFER
            for s in service.modem.open_sockets.values()))
        (sock,) = service.modem.open_sockets.values()
        assert sock.push is not None
        emulated = emulator.module.sockets[sock.client_id]
        assert emulated.mode is EmulatedMode.BUFFER
        got = bytearray()
        while chunk := await client.receive_some(65536):
            got += chunk
    assert hashlib.sha256(got).digest() == hashlib.sha256(source_data(total)).digest()
    assert sock.push.switches >= 1 and sock.push.returns >= 1  # to buffer and back
    assert sock.push.peak <= sock.push.limit + PUSH_OVERSHOOT
