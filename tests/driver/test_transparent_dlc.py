"""``TransparentSocket`` on a DLC of the 07.10 multiplexer (issue 21 item 3).

The driver runs on the emulated module's ``usbmodem`` port; the host puts the
``usbat`` pty into ``AT+CMUX`` and lends DLC 1's ``AtChannel`` (a ``LentPort``
on the DLC's stream).  Firmware that refuses transparent mode on every DLC
(``transparent_refused=("dlc",)``) leaves the socket in command mode.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from modem.core.profile import TlsProfile
from modem.driver import Modem
from modem.emulator import Emulator, EmulatorConfig
from modem.link.mux_session import MuxSession
from modem.link.serial_stream import open_serial_stream
from modem.sockets.transparent_channels import TransparentOptions
from modem.sockets.transparent_socket import SocketMode, TransparentSocket
from tests.driver.conftest import modem_on, open_socket
from tests.helpers import TlsServer, receive_exactly, wait_until
from tests.mux.conftest import enter_cmux
from tests.proxy_helpers import LentPort

GUARD = 0.2


@pytest.fixture
def firmware() -> dict[str, Any]:
    return {}


@pytest.fixture
async def emu(firmware: dict[str, Any]) -> AsyncIterator[Emulator]:
    config = EmulatorConfig(extra_ports=("usbmodem",), escape_guard=GUARD, real_dns=False,
                            resolve={"echo.test": "127.0.0.1"}, **firmware)
    async with Emulator.running(config) as emulator:
        yield emulator


@pytest.fixture
async def modem(emu: Emulator, profile: TlsProfile) -> AsyncIterator[Modem]:
    async with modem_on(emu.devices["usbmodem"], profile, urc_port="usbmodem") as m:
        yield m


@pytest.fixture
async def dlc(emu: Emulator, modem: Modem) -> AsyncIterator[LentPort]:
    line = await open_serial_stream(emu.device)
    await enter_cmux(line)
    async with MuxSession.open(line) as mux:
        stream = await mux.open_dlc(1)
        async with LentPort.on_stream(stream) as port:
            yield port


async def test_an_upload_in_transparent_mode_on_a_dlc(modem, dlc, profile, server_cert,
                                                       nursery):
    sink = TlsServer(server_cert, "sink")
    await nursery.start(sink.serve)
    sock = TransparentSocket(await open_socket(modem, sink.port, profile), dlc,
                             TransparentOptions(guard=GUARD))
    data = os.urandom(256 << 10)
    assert await sock.enter()
    await sock.send_all(data)
    await wait_until(lambda: sink.connections and sink.connections[0].received >= len(data))
    assert sink.connections[0].sha256.digest() == hashlib.sha256(data).digest()
    await sock.leave()
    assert sock.mode is SocketMode.COMMANDS
    await sock.aclose()
    assert dlc.loans == 1 and dlc.broken == 0


@pytest.mark.parametrize("firmware", [{"transparent_refused": ("dlc",)}])
async def test_a_module_that_refuses_transparent_mode_on_a_dlc(modem, dlc, profile,
                                                               echo_server):
    sock = TransparentSocket(await open_socket(modem, echo_server.port, profile), dlc,
                             TransparentOptions(guard=GUARD))
    assert not await sock.enter()
    assert sock.refused and sock.mode is SocketMode.COMMANDS
    await sock.send_all(b"on the command channel")
    assert await receive_exactly(sock, 22) == b"on the command channel"
    await sock.aclose()
    assert dlc.loans == 1 and dlc.broken == 0
