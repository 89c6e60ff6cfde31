"""What the push check costs and teaches (``modem.core.module_word``), counted on the
commands the emulated module was sent: one ``AT+QSSLSTATE`` per module life on
firmware that behaves, none after a refusal."""

from __future__ import annotations

import os
import re

import pytest
import trio

from modem.core.module_word import PushSupport
from modem.core.stream_errors import PushOrderUnknown
from modem.driver import AccessMode
from modem.emulator import Emulator, EmulatorConfig
from modem.emulator.ssl_sockets import AccessMode as EmulatedMode
from tests.driver.conftest import modem_on, open_socket
from tests.helpers import CommandCount, receive_exactly, round_trip

OPENS = 6


@pytest.mark.parametrize(("open_push", "support", "buffered", "mode_1_opens", "checks"), [
    ("honour", PushSupport.HONOURED, [], OPENS, 1),
    ("buffer", PushSupport.KEPT_BUFFER, list(range(OPENS)), 1, 1),
    ("refuse", PushSupport.REFUSED_AT_OPEN, list(range(OPENS)), 1, 0),
])
async def test_push_is_checked_once_and_a_refusal_learned(echo_server, profile, open_push,
                                                          support, buffered, mode_1_opens,
                                                          checks):
    trace = CommandCount()
    config = EmulatorConfig(resolve={"echo.test": "127.0.0.1"}, open_push=open_push)
    async with (Emulator.running(config, trace=trace) as emu,
                modem_on(emu.device, profile, access_mode=AccessMode.PUSH) as modem):
        socks = []
        with trio.fail_after(30):
            for _ in range(OPENS):
                socks.append(await open_socket(modem, echo_server.port, profile))
            for sock in socks:
                assert await round_trip(sock, bytes(range(256)) * 8) == bytes(range(256)) * 8
        in_buffer_mode = [n for n, sock in enumerate(socks)
                          if sock.push is None or not sock.push.state.module_pushes]
        for sock in socks:
            await sock.aclose()
    assert modem.module_word.push is support
    assert in_buffer_mode == buffered
    opens = re.findall(rb'AT\+QSSLOPEN=\d+,\d+,\d+,"[^"]*",\d+,(\d)', bytes(trace.text))
    # The first push-mode open's check, and no other (a refusal needs none).
    assert (trace.count(b"AT+QSSLSTATE="), opens.count(b"1")) == (checks, mode_1_opens)
    assert len(opens) == OPENS + (open_push == "refuse")  # the refused open, again in mode 0


@pytest.mark.parametrize("state_answers", [True, False])
async def test_a_console_switch_to_buffer_is_read_in_order_or_fails_the_socket(
        echo_server, profile, state_answers):
    """A push-mode socket whose pushed bytes were handed out is switched to buffer
    mode behind the driver's back (as ``AT+QISWTMD=<id>,0`` on the AT console
    does); newer data is then announced with ``"recv",<id>``.  ``AT+QSSLSTATE``
    says buffer mode: the data is read, in order.  Firmware whose state query
    gives no answer: kept (older) data and a console switch (newer) cannot be
    told apart, so the socket fails (``PushOrderUnknown``), never a byte out of
    order."""
    absent = frozenset() if state_answers else frozenset({"+QSSLSTATE"})
    config = EmulatorConfig(resolve={"echo.test": "127.0.0.1"}, absent_commands=absent)
    first, second = bytes(range(256)) * 4, bytes(range(255, -1, -1)) * 4
    async with (Emulator.running(config) as emu,
                modem_on(emu.device, profile, access_mode=AccessMode.PUSH) as modem):
        sock = await open_socket(modem, echo_server.port, profile)
        with trio.fail_after(20):
            assert await round_trip(sock, first) == first
            assert sock.push is not None and sock.push.state.module_pushes
            emu.module.sockets[sock.client_id].set_mode(EmulatedMode.BUFFER)
            if state_answers:
                assert await round_trip(sock, second) == second
                assert not sock.push.state.module_pushes
            else:
                await sock.send_all(second)
                with pytest.raises(PushOrderUnknown):
                    await receive_exactly(sock, len(second))
        await sock.aclose()


async def test_a_socket_opened_in_buffer_mode_reads_pushes_once_switched(echo_server, profile):
    """A buffer-mode socket switched to push mode behind the driver's back (as
    ``AT+QISWTMD=<id>,1`` on the AT console does): the push frames that then
    come are its data, read in order, and the socket reads pushes from then on."""
    config = EmulatorConfig(resolve={"echo.test": "127.0.0.1"})
    payloads = [os.urandom(3000) for _ in range(3)]
    async with (Emulator.running(config) as emu,
                modem_on(emu.device, profile, access_mode=AccessMode.BUFFER) as modem):
        sock = await open_socket(modem, echo_server.port, profile)
        with trio.fail_after(20):
            assert await round_trip(sock, payloads[0]) == payloads[0]
            assert sock.push is None
            emu.module.sockets[sock.client_id].set_mode(EmulatedMode.PUSH)
            for payload in payloads[1:]:
                assert await round_trip(sock, payload) == payload
        assert sock.push is not None and sock.push.state.module_pushes
        await sock.aclose()
