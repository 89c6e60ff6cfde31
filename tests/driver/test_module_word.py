"""What the push check costs and teaches (``modem.core.module_word``), counted on the
commands the emulated module was sent: one ``AT+QSSLSTATE`` per module life on
firmware that behaves, none after a refusal."""

from __future__ import annotations

import re

import pytest
import trio

from modem.core.module_word import PushSupport
from modem.driver import AccessMode
from modem.emulator import Emulator, EmulatorConfig
from tests.driver.conftest import modem_on, open_socket
from tests.helpers import CommandCount, round_trip

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
