"""Direct push mode on firmware that refuses ``AT+QISWTMD`` (an emulator variant).

The SSL manual (1.3) only points to ``AT+QISWTMD`` for switching; firmware
without it (``absent_commands``) leaves push mode without backpressure.
The driver then keeps working for a reader that keeps up, and fails a
stalled one visibly (``PushOverrun``) at the hard bound instead of growing.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import AsyncIterator

import pytest
import trio

from modem.core.errors import PushOverrun
from modem.core.profile import TlsProfile
from modem.core.stream_errors import EndUnconfirmed
from modem.core.urc_watch import UrcPolling
from modem.driver import AccessMode, Modem
from modem.emulator import Emulator, EmulatorConfig
from modem.emulator.ssl_sockets import AccessMode as EmulatedMode
from modem.sockets.ssl_socket import SslSocket
from tests.driver.conftest import modem_on, open_socket
from tests.helpers import TlsServer, log_fields, receive_exactly, source_data


@pytest.fixture
async def push_modem_without_switch(profile: TlsProfile) -> AsyncIterator[Modem]:
    config = EmulatorConfig(resolve={"echo.test": "127.0.0.1"},
                            absent_commands=frozenset({"+QISWTMD"}))
    async with (Emulator.running(config) as emu,
                modem_on(emu.device, profile, access_mode=AccessMode.PUSH,
                         push_limit=16 * 1024) as modem):
        yield modem


async def test_reader_that_keeps_up_gets_everything(push_modem_without_switch, server_cert,
                                                     nursery, profile):
    total = 1 << 20
    source = TlsServer(server_cert, handler="source", source_bytes=total)
    await nursery.start(source.serve)
    sock = await open_socket(push_modem_without_switch, source.port, profile)
    got = await receive_exactly(sock, total + 1)
    assert hashlib.sha256(got).digest() == hashlib.sha256(source_data(total)).digest()
    await sock.aclose()


async def test_stalled_reader_fails_visibly_at_the_hard_bound(push_modem_without_switch,
                                                              server_cert, nursery, profile):
    source = TlsServer(server_cert, handler="source", source_bytes=4 << 20)
    await nursery.start(source.serve)
    sock = await open_socket(push_modem_without_switch, source.port, profile)
    assert sock.push is not None
    with trio.fail_after(20):
        while sock.failure is None:  # noqa: ASYNC110  (nothing reads: no event to wait on)
            await trio.sleep(0.01)
    assert isinstance(sock.failure, PushOverrun)
    assert sock.push.switch_refused
    assert sock.push.peak <= sock.push.hard_limit
    assert len(sock.push) == 0  # what it held is freed
    with pytest.raises(PushOverrun):
        await sock.receive_some()
    await sock.aclose()


async def test_state_polls_do_not_end_a_stream_whose_pushes_are_queued(server_cert, nursery,
                                                                        profile):
    """Twelve sources close at once on a paced line: each socket's last pushes
    wait behind the others' while its reader is quiet, and ``AT+QSSLSTATE``
    (answered at once) already says closing.  Nothing may be cut short."""
    total = 32 * 1024
    source = TlsServer(server_cert, handler="source", source_bytes=total)
    await nursery.start(source.serve)
    fast_polls = UrcPolling(read_poll_first=0.03, read_poll_max=0.06)
    config = EmulatorConfig(resolve={"echo.test": "127.0.0.1"}, baud=3_000_000)
    results: list[bytes] = []
    async with (Emulator.running(config) as emu,
                modem_on(emu.device, profile, access_mode=AccessMode.PUSH,
                         urc_polling=fast_polls) as modem):

        async def one() -> None:
            sock = await open_socket(modem, source.port, profile)
            results.append(await receive_exactly(sock, total + 1))
            await sock.aclose()

        async with trio.open_nursery() as clients:
            for _ in range(12):
                clients.start_soon(one)
    assert [len(r) for r in results] == [total] * 12
    assert all(r == source_data(total) for r in results)


FAST_OPEN_CHECKS = UrcPolling(open_check_after=0.2, open_check_max=0.4, read_poll_first=0.05,
                              read_poll_max=0.2, missing_after=2)


async def three_echoes(modem: Modem, port: int, profile: TlsProfile) -> list[SslSocket]:
    """Three sockets opened one after the other, each echoing 5000 random bytes."""
    socks = [await open_socket(modem, port, profile) for _ in range(3)]
    for sock in socks:
        payload = os.urandom(5000)
        with trio.fail_after(20):
            await sock.send_all(payload)
            assert await receive_exactly(sock, len(payload)) == payload
    return socks


async def test_urcs_that_never_reach_this_port_reopen_sockets_in_buffer_mode(echo_server,
                                                                              profile):
    """The pty plays ``usbmodem`` while the module sends URCs (and so pushes)
    to ``usbat``, and the driver leaves ``urcport`` alone (firmware without
    ``AT+QURCCFG`` here, so the port the module names cannot be routed to
    either): a socket opened in push mode without its URC may have pushed its
    first bytes elsewhere, so it is closed and opened again in buffer mode
    before anyone reads it; once URCs count as missing, new sockets open in
    buffer mode at once."""
    polls = FAST_OPEN_CHECKS
    config = EmulatorConfig(resolve={"echo.test": "127.0.0.1"}, port_name="usbmodem",
                            absent_commands=frozenset({"+QURCCFG"}))
    async with (Emulator.running(config) as emu,
                modem_on(emu.device, profile, access_mode=AccessMode.PUSH,
                         urc_polling=polls) as modem):
        socks = await three_echoes(modem, echo_server.port, profile)
        assert modem.urc_health.urcs == "missing"
        for sock in socks:
            assert sock.push is None
            assert emu.module.sockets[sock.client_id].mode is EmulatedMode.BUFFER
        assert modem.integrity.reopened_in_buffer_mode == 1  # its reopen made URCs "missing"
        assert modem.module_word.report()["urc_port"] == {
            "host_guess": None, "module_says": "usbmodem", "routed_to": None}
        for sock in socks:
            await sock.aclose()


async def test_the_port_the_module_names_gets_the_urcs(echo_server, profile, caplog):
    """The same module with ``AT+QURCCFG``: the first open, resolved by polling,
    names the port in its ``AT+QSSLSTATE`` line (``usbmodem``); URCs are routed
    there, and the sockets after it open in push mode and hear their URCs."""
    caplog.set_level(logging.INFO, logger="modem")
    polls = FAST_OPEN_CHECKS
    config = EmulatorConfig(resolve={"echo.test": "127.0.0.1"}, port_name="usbmodem")
    async with (Emulator.running(config) as emu,
                modem_on(emu.device, profile, access_mode=AccessMode.PUSH,
                         urc_polling=polls) as modem):
        socks = await three_echoes(modem, echo_server.port, profile)
        assert emu.urc_port == "usbmodem"
        assert (modem.urc_health.urcs, modem.urc_health.opens_by_state) == ("ok", 1)
        assert modem.integrity.reopened_in_buffer_mode == 1
        assert [s.push is None for s in socks] == [True, False, False]
        assert modem.access_mode is AccessMode.PUSH
        for sock in socks:
            await sock.aclose()
    routed = [log_fields(r) for r in caplog.records if r.getMessage() == "URC port"]
    assert routed[-1] == {"found": "usbat", "set": "usbmodem",
                          "reason": "AT+QSSLSTATE names this port"}


async def test_lost_closed_urc_ends_the_stream_after_its_data(server_cert, nursery, profile):
    """No URC is load-bearing in push mode either: with every "closed" lost,
    state polls end the stream once the line has gone quiet, after the data."""
    total = 100_000
    source = TlsServer(server_cert, handler="source", source_bytes=total)
    await nursery.start(source.serve)
    polls = UrcPolling(read_poll_first=0.03, read_poll_max=0.06)
    config = EmulatorConfig(resolve={"echo.test": "127.0.0.1"}, faults=("urc_loss:1,closed",))
    async with (Emulator.running(config) as emu,
                modem_on(emu.device, profile, access_mode=AccessMode.PUSH,
                         urc_polling=polls) as modem):
        sock = await open_socket(modem, source.port, profile)
        with trio.fail_after(10):
            got = await receive_exactly(sock, total + 1)
        assert got == source_data(total)
        assert modem.urc_health.closes_by_poll == 1
        await sock.aclose()


@pytest.mark.parametrize("switch_when_closed", [False, True])
async def test_lost_closed_urc_on_a_line_that_never_goes_quiet_ends_the_stream(
        server_cert, echo_server, nursery, profile, switch_when_closed):
    """Another socket's echoes push all along, so the line never goes quiet: checks
    that find the socket closed, with none of its own pushes between them, try
    buffer mode to show what the module holds.  Firmware that takes it: reads
    show the buffer empty, a clean end; firmware that refuses it for a closed
    socket: the stream ends unconfirmed (a reset).  Never a wait for good (found
    by the soak: a sink's client waited 60 s for its end of stream)."""
    total = 20_000
    small = TlsServer(server_cert, handler="source", source_bytes=total)
    await nursery.start(small.serve)
    polls = UrcPolling(read_poll_first=0.03, read_poll_max=0.06)
    config = EmulatorConfig(resolve={"echo.test": "127.0.0.1"}, faults=("urc_loss:1,closed",),
                            switch_when_closed=switch_when_closed)
    async with (Emulator.running(config) as emu,
                modem_on(emu.device, profile, access_mode=AccessMode.PUSH,
                         urc_polling=polls) as modem):
        other = await open_socket(modem, echo_server.port, profile)

        async def keep_echoing() -> None:
            while True:
                await other.send_all(b"ping")
                assert await receive_exactly(other, 4) == b"ping"
                await trio.sleep(0.01)

        async with trio.open_nursery() as echoes:
            echoes.start_soon(keep_echoing)
            sock = await open_socket(modem, small.port, profile)
            got = bytearray()
            with trio.fail_after(20):
                try:
                    while chunk := await sock.receive_some():
                        got += chunk
                except EndUnconfirmed as exc:
                    assert not switch_when_closed and "never went quiet" in str(exc)
                else:
                    assert switch_when_closed and modem.urc_health.closes_by_poll == 1
                    assert sock.push is not None and sock.push.switches == 1  # the proof
            assert bytes(got) == source_data(total)  # all of it, then the end
            echoes.cancel_scope.cancel()
        await sock.aclose()
        await other.aclose()
