"""No URC is load-bearing: the driver against an emulator that loses URCs or
re-arms "recv" only after an empty read (real pty, real TLS; scaled poll times)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio

from modem.core import errors
from modem.core.profile import TlsProfile
from modem.core.urc_watch import RearmBehaviour, UrcPolling
from modem.driver import Modem
from modem.emulator import Emulator, EmulatorConfig, Fault
from tests.driver.conftest import modem_on, open_socket
from tests.helpers import CommandCount, free_port

# Scaled: production waits 3 s before asking after a late open, 0.5-3 s between polls.
FAST = UrcPolling(open_check_after=0.2, open_check_max=0.4, read_poll_first=0.05,
                  read_poll_max=0.2, state_check_every=2, missing_after=2)


@asynccontextmanager
async def stack(profile: TlsProfile, *, faults: tuple[str, ...] = (), rearm: str = "drain",
                trace: CommandCount | None = None) -> AsyncIterator[tuple[Emulator, Modem]]:
    config = EmulatorConfig(resolve={"echo.test": "127.0.0.1"}, faults=faults,
                            recv_urc_rearm=rearm)
    async with (Emulator.running(config, trace=trace) as emu,
                modem_on(emu.device, profile, urc_polling=FAST) as modem):
        yield emu, modem


async def exchanges(sock, count: int) -> None:
    """``count`` request/response rounds of different sizes, each checked; reads
    ask for as much as the module gives (``MAX_RECV``), as the proxy's pump does."""
    for i in range(count):
        payload = bytes([65 + i % 26]) * (7 + 97 * i)
        await sock.send_all(payload)
        got = bytearray()
        while len(got) < len(payload):
            data = await sock.receive_some()
            assert data, "peer closed early"
            got += data
        assert got == payload


async def test_echo_completes_when_every_recv_urc_is_lost(echo_server, profile):
    async with stack(profile, faults=("urc_loss:1,recv",)) as (_emu, modem):
        sock = await open_socket(modem, echo_server.port, profile)
        with trio.fail_after(20):
            await exchanges(sock, 5)
        await sock.aclose()
        health = modem.urc_health
        assert health.data_by_poll >= 1
        assert health.urcs == "ok"  # the +QSSLOPEN URCs still came
        assert health.opens_by_state == 0


async def test_opens_data_and_peer_close_work_without_any_urc(echo_server, profile):
    async with stack(profile, faults=("urc_loss:1",)) as (emu, modem):
        first = await open_socket(modem, echo_server.port, profile)
        with trio.fail_after(20):
            await exchanges(first, 3)
        second = await open_socket(modem, echo_server.port, profile)
        health = modem.urc_health
        assert health.opens_by_state == 2
        assert health.urcs == "missing"
        await emu.inject(Fault.peer_close(second.client_id))
        with trio.fail_after(10):
            assert await second.receive_some() == b""
        assert health.closes_by_poll == 1
        assert health.data_by_poll >= 3
        assert health.socket_urcs == 0
        report = modem.urc_health.report()
        assert report["urcs"] == "missing"
        assert report["opens_resolved_by_state"] == 2
        for sock in (first, second):
            await sock.aclose()
        assert modem.client_ids.free == 12


async def test_failed_open_without_its_urc_gets_the_modules_error(profile):
    async with stack(profile, faults=("urc_loss:1,open",)) as (_emu, modem):
        cid = await modem.client_ids.acquire()
        with pytest.raises(errors.SocketConnectionFailed), trio.fail_after(10):
            await modem.open_ssl_socket(cid, "127.0.0.1", free_port(), profile)
        assert modem.urc_health.opens_by_state == 1
        assert modem.client_ids.free == 12


async def test_empty_read_rearm_is_detected_and_followed(echo_server, profile):
    trace = CommandCount()
    async with stack(profile, rearm="empty", trace=trace) as (_emu, modem):
        sock = await open_socket(modem, echo_server.port, profile)
        with trio.fail_after(20):
            await exchanges(sock, 3)
        health = modem.urc_health
        assert health.rearm is RearmBehaviour.EMPTY
        polls_before = health.data_by_poll
        with trio.fail_after(20):
            await exchanges(sock, 6)
        # Detected: each short read is followed by one empty read, which re-arms
        # the URC, so later data comes by URC, not by a poll.
        assert health.data_by_poll == polls_before
        await sock.aclose()


async def test_drain_firmware_is_not_taken_for_empty(echo_server, profile):
    async with stack(profile, rearm="drain") as (_emu, modem):
        sock = await open_socket(modem, echo_server.port, profile)
        with trio.fail_after(20):
            await exchanges(sock, 6)
        assert modem.urc_health.rearm is RearmBehaviour.DRAIN
        assert modem.urc_health.data_by_poll == 0
        await sock.aclose()


async def test_idle_sockets_poll_no_more_than_the_schedule_allows(echo_server, profile):
    trace = CommandCount()
    async with stack(profile, trace=trace) as (_emu, modem):
        socks = [await open_socket(modem, echo_server.port, profile) for _ in range(3)]
        recv_before = trace.count(b"AT+QSSLRECV=")
        state_before = trace.count(b"AT+QSSLSTATE=")
        window = 1.0
        async with trio.open_nursery() as nursery:
            for sock in socks:
                nursery.start_soon(sock.receive_some)
            await trio.sleep(window)
            nursery.cancel_scope.cancel()
        recvs = trace.count(b"AT+QSSLRECV=") - recv_before
        states = trace.count(b"AT+QSSLSTATE=") - state_before
        # The gaps 0.05, 0.1, 0.2, 0.2...: at most this many polls fit the window.
        gaps = FAST.read_polls()
        elapsed, polls = 0.0, 0
        while elapsed <= window:
            elapsed += next(gaps)
            polls += 1
        assert len(socks) <= recvs <= len(socks) * polls
        assert states <= len(socks) * (polls // FAST.state_check_every)
        for sock in socks:
            await sock.aclose()


async def test_an_open_still_opening_is_waited_for_not_failed(echo_server, profile):
    trace = CommandCount()
    async with stack(profile, faults=("urc_loss:1,open", "slow_handshake:0.6"),
                     trace=trace) as (_emu, modem):
        sock = await open_socket(modem, echo_server.port, profile)
        # The first check (at 0.2 s) saw "opening" and waited; a later one saw "connected".
        assert trace.count(b"AT+QSSLSTATE=") >= 2
        assert modem.urc_health.opens_by_state == 1
        with trio.fail_after(10):
            await exchanges(sock, 2)
        await sock.aclose()
