"""The module clock against the emulator: which source sets it, and opens that verify.

The server's certificate is valid from yesterday for 30 days, so a module
clock set from a wrong host clock fails the open with 566, as on a real
module (manual 1.4).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
import trio
import trio.testing
import trustme

from modem.core.clock_policy import ClockSource
from modem.core.errors import SocketConnectionFailed
from modem.core.profile import TlsProfile
from modem.driver import Modem, PdpSettings
from modem.emulator import Emulator, EmulatorConfig
from modem.emulator.config import GPS_EPOCH
from modem.link.serial_stream import open_serial_stream
from modem.options import ModemOptions
from tests.helpers import TlsServer, log_fields

from .conftest import open_socket

WRONG_HOST = datetime(2019, 6, 1, tzinfo=UTC)  # a gateway without RTC or NTP
TOLERANCE = timedelta(minutes=1)


@pytest.fixture
async def fresh_server(ca: trustme.CA, nursery: trio.Nursery) -> TlsServer:
    now = datetime.now(UTC)
    cert = ca.issue_cert("echo.test", not_before=now - timedelta(days=1),
                         not_after=now + timedelta(days=30))
    server = TlsServer(cert, handler="echo")
    await nursery.start(server.serve)
    return server


@asynccontextmanager
async def running(config: EmulatorConfig, host: datetime | None, profiles: list[TlsProfile],
                  **options: float) -> AsyncIterator[tuple[Emulator, Modem]]:
    host_clock: Callable[[], float] = (lambda: host.timestamp()) if host else datetime.now(
        UTC).timestamp
    async with Emulator.running(config) as emu:
        open_stream = functools.partial(open_serial_stream, emu.device)
        async with Modem.open(
            open_stream,
            pdp=PdpSettings(apn="internet"),
            profiles=profiles,
            options=ModemOptions(registration_timeout=10, host_clock=host_clock, **options),
        ) as modem:  # type: ignore[arg-type]
            yield emu, modem


def emulator(clock_start: datetime | None, network: float | None) -> EmulatorConfig:
    return EmulatorConfig(resolve={"echo.test": "127.0.0.1"}, clock_start=clock_start,
                          network_time_offset=network)


async def echo_once(modem: Modem, server: TlsServer, profile: TlsProfile) -> None:
    sock = await open_socket(modem, server.port, profile)
    await sock.send_all(b"ping")
    assert await sock.receive_some(4) == b"ping"
    await sock.aclose()


@pytest.mark.parametrize("host", [WRONG_HOST, datetime.now(UTC) - timedelta(days=2)],
                         ids=["implausible host", "host behind the module"])
async def test_a_wrong_host_clock_never_overwrites_a_right_module_clock(
    host: datetime, profile: TlsProfile, fresh_server: TlsServer, caplog,
) -> None:
    caplog.set_level(logging.INFO, "modem.bringup")
    async with running(emulator(datetime.now(UTC), None), host, [profile]) as (emu, modem):
        assert abs(emu.clock_offset) < TOLERANCE
        await echo_once(modem, fresh_server, profile)
    assert "module clock left alone" in caplog.text


async def test_network_time_wins_when_the_host_clock_is_implausible(
    profile: TlsProfile, fresh_server: TlsServer, caplog,
) -> None:
    caplog.set_level(logging.INFO, "modem.bringup")
    async with running(emulator(None, 0.0), WRONG_HOST, [profile]) as (emu, modem):
        assert abs(emu.clock_offset) < TOLERANCE  # from 1980 to the network's time
        assert emu.module.ctzu == 3  # and the module follows it from now on
        decision = modem.clock_decision
        assert decision is not None and decision.source is ClockSource.NETWORK
        await echo_once(modem, fresh_server, profile)
    [line] = [log_fields(r) for r in caplog.records if r.getMessage() == "module clock set"]
    assert line["source"] == "network" and line["host"].startswith("2019-06-01")


async def test_without_any_trustworthy_time_opens_fail_and_the_logs_say_why(
    profile: TlsProfile, fresh_server: TlsServer, caplog,
) -> None:
    lenient = dataclasses.replace(profile, ignore_local_time=True)
    async with running(emulator(None, None), WRONG_HOST, [profile, lenient]) as (emu, modem):
        assert emu.module.clock.now() < GPS_EPOCH + timedelta(days=1)  # left alone
        with pytest.raises(SocketConnectionFailed):
            await open_socket(modem, fresh_server.port, profile)
        await echo_once(modem, fresh_server, lenient)  # ignorelocaltime 1 skips the dates
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any(r.name == "modem.bringup" and "--ignore-local-time" in log_fields(r)["hint"]
               for r in warnings)
    assert any(r.name == "modem.emulator" and "not valid at the module clock 1980"
               in log_fields(r)["reason"] for r in warnings)


async def test_the_clock_is_checked_again_and_fixed(
    profile: TlsProfile, fresh_server: TlsServer,
) -> None:
    async with running(emulator(None, 0.0), None, [profile],
                       clock_check_interval=0.2) as (emu, modem):
        assert abs(emu.clock_offset) < TOLERANCE
        assert emu.module.ctzu == 0  # a trusted host clock needs no AT+CTZU
        first = modem.clock_decision
        emu.set_clock(GPS_EPOCH)  # as after a module power cut
        with trio.fail_after(10):  # the emulator's clock offers no event to wait on
            # The module's clock is set before the driver records its decision.
            while abs(emu.clock_offset) > TOLERANCE or modem.clock_decision is first:  # noqa: ASYNC110
                await trio.sleep(0.05)
        assert modem.clock_decision.trusted  # the status page sees the latest check
        await echo_once(modem, fresh_server, profile)


async def test_a_failing_clock_check_is_retried_not_fatal(autojump_clock, caplog) -> None:
    """A module that refuses AT+CCLK=... after bring-up: the daily check logs
    and retries; the module keeps serving."""
    from .conftest import answer

    sets = []

    async def module(stream: trio.abc.Stream) -> None:
        buf = b""
        while data := await stream.receive_some(4096):
            buf += data
            while b"\r" in buf:
                raw, buf = buf.split(b"\r", 1)
                line = raw.decode()
                if line == "AT+CCLK?":
                    reply = b'\r\n+CCLK: "80/01/06,00:00:00+00"\r\n\r\nOK\r\n'
                elif line.startswith("AT+CCLK="):
                    sets.append(line)
                    reply = b"\r\nOK\r\n" if len(sets) == 1 else b"\r\n+CME ERROR: 3\r\n"
                else:
                    reply = answer(line, sim_ok=True) or b""
                await stream.send_all(reply)

    async with trio.open_nursery() as nursery:

        async def open_stream():
            host, module_side = trio.testing.memory_stream_pair()
            nursery.start_soon(module, module_side)
            return host

        async with Modem.open(
            open_stream, pdp=PdpSettings(), options=ModemOptions(clock_check_interval=60)
        ) as modem:
            await trio.sleep(600)
            assert modem.state.value.value == "ready"
        nursery.cancel_scope.cancel()
    assert len(sets) >= 3
    assert "module clock check failed, retrying later" in caplog.text
