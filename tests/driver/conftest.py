"""Fixtures: a real emulator on a pty, real TLS servers, a Modem on top."""

from __future__ import annotations

import functools

import pytest
import trio
import trustme

from modem.driver import Modem, PdpSettings
from modem.emulator import Emulator, EmulatorConfig
from modem.profile import TlsProfile
from modem.serial_stream import open_serial_stream
from tests.tls_servers import TlsServer


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_cert(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("echo.test", "sink.test", "localhost", "127.0.0.1")


@pytest.fixture
async def echo_server(server_cert, nursery):
    server = TlsServer(server_cert, handler="echo")
    await nursery.start(server.serve)
    return server


@pytest.fixture
async def emulator():
    config = EmulatorConfig(resolve={"echo.test": "127.0.0.1", "sink.test": "127.0.0.1"})
    async with Emulator.running(config) as emu:
        yield emu


@pytest.fixture
def profile(ca: trustme.CA) -> TlsProfile:
    return TlsProfile(cacert=ca.cert_pem.bytes())


@pytest.fixture
async def modem(emulator, profile):
    open_stream = functools.partial(open_serial_stream, emulator.device)
    async with Modem.open(open_stream, pdp=PdpSettings(apn="internet"),
                          profiles=[profile], registration_timeout=10) as m:
        yield m


async def open_socket(modem: Modem, port: int, profile: TlsProfile, host: str = "echo.test"):
    cid = await modem.client_ids.acquire()
    return await modem.open_ssl_socket(cid, host, port, profile)


async def receive_exactly(stream: trio.abc.ReceiveStream, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = await stream.receive_some(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)
