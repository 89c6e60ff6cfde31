"""The multiplexer's faults: a burst of frames with a broken FCS, the host's MSCs
lost on the way, a DLC that stops answering (``mux_fcs_errors``,
``mux_status_loss``, ``dlc_silent``)."""

from __future__ import annotations

import pytest
import trio

from modem.core.mux import V24, MessageType
from modem.emulator import Emulator, Fault
from modem.emulator.fault_spec import parse_fault_spec
from modem.emulator.line_faults import DlcSilent, MuxFcsErrors, MuxStatusLoss

from .conftest import Host
from .mux_host import MuxHost


@pytest.fixture
async def mux(host: Host) -> MuxHost:
    m = MuxHost(host)
    await m.enter()
    await m.open(1)
    await m.open(2)
    await m.command(1, "ATE0")
    await m.command(2, "ATE0")
    return m


async def test_an_fcs_burst_breaks_that_many_frames_then_the_line_is_clean(
        emu: Emulator, mux: MuxHost) -> None:
    await emu.inject(MuxFcsErrors(2))
    await mux.send(1, b"AT\r")
    await mux.send(2, b"AT\r")
    with trio.fail_after(5):
        while mux.decoder.counters.bad_fcs < 2:
            await mux.pump()
    assert mux.decoder.counters.bad_fcs == 2
    assert not mux.inbox.get(1) and not mux.inbox.get(2)  # both answers were lost
    assert await mux.command(1, "AT") == b"\r\nOK\r\n"
    assert mux.decoder.counters.bad_fcs == 2


async def test_a_lost_status_is_neither_taken_nor_answered(emu: Emulator, mux: MuxHost) -> None:
    await emu.inject(MuxStatusLoss(1))
    await mux.set_status(1, V24.FC | V24.RTC | V24.RTR)  # lost: the module sends on
    await mux.send(1, b"AT\r")
    assert await mux.read_until(1, b"OK\r\n") == b"\r\nOK\r\n"
    await mux.set_status(1, V24.FC | V24.RTC | V24.RTR)  # this one arrives
    assert (await mux.message(MessageType.MSC, command=False)).value[0] >> 2 == 1
    await mux.send(1, b"AT\r")
    assert await mux.command(2, "AT") == b"\r\nOK\r\n"
    assert not mux.inbox.get(1)


async def test_a_silent_module_keeps_what_it_owes_the_host_under_cmux_too(
        emu: Emulator, mux: MuxHost) -> None:
    """A hung module says nothing on any DLC and loses none of what its sockets
    gave it (pushes, URCs, transparent bytes), as on one line: under CMUX the
    emulator dropped them as frames once (a hole no host can see: a soak's
    echo lost a 1460-byte push)."""
    await emu.inject(Fault.silence(0.5))
    emu.module.post_urc(b'\r\n+QIND: "csq",20,99\r\n')
    with trio.move_on_after(0.3):
        while True:
            await mux.pump()
    assert not mux.inbox.get(1)
    assert await mux.read_until(1, b"99\r\n") == b'\r\n+QIND: "csq",20,99\r\n'


async def test_a_silent_dlc_hears_and_answers_nothing_while_the_others_serve(
        emu: Emulator, mux: MuxHost) -> None:
    await emu.inject(DlcSilent(2))
    await mux.send(2, b"AT\r")
    assert await mux.command(1, "AT") == b"\r\nOK\r\n"
    with trio.move_on_after(0.5):
        while True:
            await mux.pump()
    assert not mux.inbox.get(2)
    assert emu.module.pending_faults.silent_dlcs == {2}


def test_the_specs_parse() -> None:
    assert parse_fault_spec("mux_fcs_errors:20").fault == MuxFcsErrors(20)
    assert parse_fault_spec("dlc_silent:2@30s").fault == DlcSilent(2)
    assert parse_fault_spec("mux_status_loss:2").fault == MuxStatusLoss(2)
    with pytest.raises(ValueError, match="DLC 1-63"):
        parse_fault_spec("dlc_silent:0")
