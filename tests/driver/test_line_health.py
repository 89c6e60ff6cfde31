"""A silent module fails fast (``modem.link.health``): the emulator's ``silence``
fault, while the line is idle, while a socket sends, and under an open.

The outcome and its error type are asserted, not the time; the times are
measured in docs/reliability.md."""

from __future__ import annotations

import pytest
import trio

from modem.core.errors import ModemError, ModuleNotReady, ModuleTimeout
from modem.core.line_health import HealthTimes
from modem.core.module_state import ModuleState
from modem.core.profile import TlsProfile
from modem.driver import Modem
from modem.emulator import Emulator, Fault
from modem.link.health import ModuleSilent
from tests.driver.conftest import modem_on, open_socket
from tests.helpers import TlsServer, round_trip

# The production times, but an idle line is probed after 0.5 s instead of 10 s.
IDLE_PROBED = HealthTimes(idle_probe_after=0.5)
NOT_IDLE_PROBED = HealthTimes(idle_probe_after=3600)


async def an_open_fails_at_once(modem: Modem, server: TlsServer, profile: TlsProfile) -> None:
    cid = await modem.client_ids.acquire()
    with pytest.raises(ModuleNotReady) as caught:
        await modem.open_ssl_socket(cid, "echo.test", server.port, profile)
    assert isinstance(caught.value.last_error, ModuleSilent)


async def serves_again(modem: Modem, server: TlsServer, profile: TlsProfile) -> None:
    with trio.fail_after(20):
        await modem.state.wait_value(ModuleState.READY)
    sock = await open_socket(modem, server.port, profile)
    assert await round_trip(sock, b"back") == b"back"
    await sock.aclose()


async def test_an_idle_module_found_silent_refuses_opens_until_it_answers(
        emulator: Emulator, echo_server: TlsServer, profile: TlsProfile) -> None:
    async with modem_on(emulator.device, profile, line_health=IDLE_PROBED) as modem:
        await emulator.inject(Fault.silence(3.0))
        with trio.fail_after(5):
            await modem.state.wait_value(ModuleState.RECOVERING)
        assert isinstance(modem.last_error, ModuleSilent)
        await an_open_fails_at_once(modem, echo_server, profile)
        await serves_again(modem, echo_server, profile)
        assert modem.recoveries == 0  # a pause, not a lost module


async def test_a_send_into_a_silent_module_ends_after_a_second_not_its_limit(
        emulator: Emulator, echo_server: TlsServer, profile: TlsProfile) -> None:
    async with modem_on(emulator.device, profile, line_health=NOT_IDLE_PROBED) as modem:
        sock = await open_socket(modem, echo_server.port, profile)
        await emulator.inject(Fault.silence(3.0))
        with pytest.raises(ModuleTimeout, match="said nothing for 0.8 s"):
            await sock.send_all(b"into the silence")  # AT+QSSLSEND's own limit: 10 s
        await an_open_fails_at_once(modem, echo_server, profile)
        await sock.aclose()
        await serves_again(modem, echo_server, profile)


async def test_the_open_that_meets_the_silence_ends_too_and_the_next_fail_at_once(
        emulator: Emulator, echo_server: TlsServer, profile: TlsProfile) -> None:
    async with modem_on(emulator.device, profile, line_health=NOT_IDLE_PROBED) as modem:
        await emulator.inject(Fault.silence(3.0))
        ended: list[ModemError] = []

        async def first_open() -> None:
            cid = await modem.client_ids.acquire()
            try:
                await modem.open_ssl_socket(cid, "echo.test", echo_server.port, profile)
            except ModemError as exc:
                ended.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(first_open)
            with trio.fail_after(5):
                await modem.state.wait_value(ModuleState.RECOVERING)
            await an_open_fails_at_once(modem, echo_server, profile)
        # AT+QSSLOPEN's own limit is 150 s plus the negotiate time.
        assert isinstance(ended[0], ModuleTimeout) and "said nothing for 0.8 s" in str(ended[0])
        await serves_again(modem, echo_server, profile)
