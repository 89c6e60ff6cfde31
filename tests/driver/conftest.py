"""Fixtures: a real emulator on a pty and a Modem on top (CA and TLS servers: tests/conftest.py)."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

import pytest
import trustme

from modem.core.profile import TlsProfile
from modem.driver import AccessMode, Modem, PdpSettings
from modem.emulator import Emulator, EmulatorConfig
from modem.link.serial_stream import open_serial_stream
from modem.options import ModemOptions
from modem.sockets.ssl_socket import SslSocket


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    config = EmulatorConfig(resolve={"echo.test": "127.0.0.1", "sink.test": "127.0.0.1"})
    async with Emulator.running(config) as emu:
        yield emu


@pytest.fixture
def profile(ca: trustme.CA) -> TlsProfile:
    return TlsProfile(cacert=ca.cert_pem.bytes())


# Tests that silence the module cap every command's response time: without
# it, each command caught in the silence waits out the manual's time (10 s
# for AT+QSSLSEND, 6 s for AT+QSSLCLOSE).
COMMAND_TIMEOUT_CAP = 2.0


def modem_on(device: str, *profiles: TlsProfile, **options: Any
             ) -> AbstractAsyncContextManager[Modem]:
    """``Modem.open`` on ``device`` with APN ``internet`` and ``profiles``;
    ``options`` are ``ModemOptions`` fields over a 10 s registration limit."""
    return Modem.open(functools.partial(open_serial_stream, device),
                      pdp=PdpSettings(apn="internet"), profiles=list(profiles),
                      options=ModemOptions(registration_timeout=10, **options))


ACCESS_MODES = ("buffer", "push")
"""Parametrize ``access_mode`` with these to run a test in both modes."""


@pytest.fixture
def access_mode() -> str:
    """The mode the ``modem`` fixtures open sockets in; tests parametrize it
    (``@pytest.mark.parametrize("access_mode", ACCESS_MODES)``)."""
    return "buffer"


@pytest.fixture
async def modem(emulator: Emulator, profile: TlsProfile, access_mode: str
                ) -> AsyncIterator[Modem]:
    async with modem_on(emulator.device, profile, access_mode=AccessMode(access_mode)) as m:
        yield m


@pytest.fixture
async def capped_modem(
    emulator: Emulator, profile: TlsProfile, access_mode: str
) -> AsyncIterator[Modem]:
    """The ``modem`` fixture's driver, with commands capped at ``COMMAND_TIMEOUT_CAP``."""
    async with modem_on(emulator.device, profile, access_mode=AccessMode(access_mode),
                        command_timeout_cap=COMMAND_TIMEOUT_CAP) as m:
        yield m


async def open_socket(modem: Modem, port: int, profile: TlsProfile, host: str = "echo.test"
                      ) -> SslSocket:
    cid = await modem.client_ids.acquire()
    return await modem.open_ssl_socket(cid, host, port, profile)


def answer(line: str, sim_ok: bool) -> bytes | None:
    """A scripted module's reply to command ``line`` (None: it never answers)."""
    if line.startswith("AT+QSSLOPEN="):
        client_id = line.split(",")[2]
        return b"\r\nOK\r\n\r\n+QSSLOPEN: %s,0\r\n" % client_id.encode()
    if line.startswith("AT+QSSLCLOSE="):
        return None  # this module never confirms a close
    if line == "AT+CPIN?":
        return b"\r\n+CPIN: READY\r\n\r\nOK\r\n" if sim_ok else b"\r\n+CME ERROR: 10\r\n"
    if line in ("AT+CEREG?", "AT+CREG?"):
        return b"\r\n" + line[2:-1].encode() + b": 0,1\r\n\r\nOK\r\n"
    if line == "AT+QIACT?":
        return b'\r\n+QIACT: 1,1,1,"10.0.0.2"\r\n\r\nOK\r\n'
    if line == "AT+CCLK?":
        now = datetime.now(UTC).strftime("%y/%m/%d,%H:%M:%S+00")
        return f'\r\n+CCLK: "{now}"\r\n\r\nOK\r\n'.encode()
    if line == "ATI":
        return b"\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A03M4G\r\n\r\nOK\r\n"
    return b"\r\nOK\r\n"
