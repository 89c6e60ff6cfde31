"""``AT+CMUX``: the emulated module's 27.010 multiplexer, raw frames over its pty."""

from __future__ import annotations

import pytest
import trio

from modem.core.mux import V24, Frame, FrameType, MessageType, ModemStatus, Parameters
from modem.emulator import Emulator, EmulatorConfig
from tests.unit.mux.vectors import BG96, ZEPHYR

from .conftest import Host, emulator_host
from .mux_host import MuxHost

UA, DM = FrameType.UA, FrameType.DM


@pytest.fixture
async def mux(host: Host) -> MuxHost:
    m = MuxHost(host)
    await m.enter()
    return m


async def test_the_test_and_read_forms(host: Host) -> None:
    assert await host.command("AT+CMUX=?") == (
        b"\r\n+CMUX: (0),(0),(1-7),(1-32768),(1-255),(0-100),(2-255),(1-255),(1-7)\r\n"
        b"\r\nOK\r\n")
    assert await host.command("AT+CMUX?") == b"\r\n+CMUX: 0,0,5,127,10,3,30,10,2\r\n\r\nOK\r\n"


@pytest.mark.parametrize("command", ["AT+CMUX=1", "AT+CMUX=0,1", "AT+CMUX=0,0,5,0", "AT+CMUX"])
async def test_what_the_module_does_not_take(host: Host, command: str) -> None:
    assert await host.command(command) == b"\r\nERROR\r\n"


async def test_firmware_without_cmux() -> None:
    async with emulator_host(EmulatorConfig(absent_commands=frozenset({"+CMUX"}))) as (_, host):
        await host.send("ATE0\r")
        await host.read_until(b"OK\r\n")
        assert await host.command("AT+CMUX=0,0,5,127") == b"\r\nERROR\r\n"


async def test_other_implementations_frames_get_a_bg96s_answers(host: Host) -> None:
    # Zephyr's SABMs in, a BG96's UA out (espressif/esp-protocols#103), byte for byte.
    assert await host.command("AT+CMUX=0,0,5,127,10,3,30,10,2") == b"\r\nOK\r\n"
    await trio.sleep(0.15)
    await host.send(ZEPHYR["sabm dlc 0"][0])
    await host.expect(ZEPHYR["ua dlc 0"][0])
    await host.send(ZEPHYR["sabm dlc 1"][0])
    await host.expect(BG96["ua dlc 1"][0])
    mux = MuxHost(host)
    status = await mux.message(MessageType.MSC, command=True)  # the module's signals follow
    assert ModemStatus.decode(status.value) == ModemStatus(1, V24.RTC | V24.RTR)
    await host.send(ZEPHYR["AT on dlc 1"][0] + ZEPHYR["CRLF on dlc 1"][0])
    assert await mux.read_until(1, b"OK\r\n") == b"AT\r\r\nOK\r\n"  # echo is on per DLC


async def test_each_dlc_is_an_at_port_of_the_one_module(mux: MuxHost) -> None:
    assert await mux.open(1) == Frame(1, UA, cr=True, pf=True)
    assert await mux.open(2) == Frame(2, UA, cr=True, pf=True)
    assert await mux.command(1, "ATE0") == b"ATE0\r\r\nOK\r\n"
    assert await mux.command(2, "AT+QIACT=1") == b"AT+QIACT=1\r\r\nOK\r\n"
    assert b'+QIACT: 1,1,1,"10.7.157.1"' in await mux.command(1, "AT+QIACT?")  # shared state
    assert await mux.command(1, "AT") == b"\r\nOK\r\n"  # DLC 2 still echoes, DLC 1 not


async def test_dlcs_beyond_the_offered_ones_are_refused(mux: MuxHost) -> None:
    assert await mux.open(5) == Frame(5, DM, cr=True, pf=True)
    await mux.send_frame(3, FrameType.DISC, pf=True)
    assert await mux.next_other() == Frame(3, DM, cr=True, pf=True)


async def test_control_channel_test_and_pn(mux: MuxHost) -> None:
    await mux.send_message(MessageType.TEST, b"ping")
    assert (await mux.message(MessageType.TEST, command=False)).value == b"ping"
    await mux.send_message(MessageType.PN, Parameters(2, n1=1500).encode())
    answer = Parameters.decode((await mux.message(MessageType.PN, command=False)).value)
    assert answer is not None and answer.n1 == 127  # the smaller of the two
    await mux.send_message(MessageType.RPN, b"\x0b")
    assert (await mux.message(MessageType.NSC, command=False)).value == b"\x93"


async def test_pn_not_offered() -> None:
    async with emulator_host(EmulatorConfig(cmux_pn=False)) as (_, host):
        await host.send("ATE0\r")
        await host.read_until(b"OK\r\n")
        mux = MuxHost(host)
        await mux.enter()
        await mux.send_message(MessageType.PN, Parameters(1, n1=64).encode())
        assert (await mux.message(MessageType.NSC, command=False)).value == b"\x83"


async def test_frames_are_cut_at_n1(host: Host) -> None:
    mux = MuxHost(host)
    await mux.enter("AT+CMUX=0,0,5,31")
    await mux.open(1)
    await mux.send(1, b"ATI\r")
    answer = await mux.read_until(1, b"OK\r\n")
    sizes = [len(f.info) for f in mux.data_frames if f.dlci == 1]
    assert sum(sizes) == len(answer) > 31
    assert max(sizes) == 31


async def test_broken_frames_are_dropped_and_the_next_answered(mux: MuxHost) -> None:
    await mux.open(1)
    await mux.host.send(b"\xf9\x07\xef\x09AT\xff\xf9")  # a bad FCS
    await mux.host.send(b"garbage\xf9\xf9")
    assert await mux.command(1, "AT") == b"AT\r\r\nOK\r\n"


async def test_cld_gives_the_line_back_to_at_commands(mux: MuxHost) -> None:
    await mux.open(1)
    await mux.message(MessageType.MSC, command=True)  # answered before the close-down
    await mux.send_message(MessageType.CLD)
    await mux.message(MessageType.CLD, command=False)
    assert await mux.host.command("AT") == b"\r\nOK\r\n"


async def test_disc_on_dlc_0_closes_down_too(mux: MuxHost) -> None:
    await mux.send_frame(0, FrameType.DISC, pf=True)
    assert await mux.next_other() == Frame(0, UA, cr=True, pf=True)
    assert await mux.host.command("AT") == b"\r\nOK\r\n"


async def test_the_hosts_fc_holds_the_modules_frames_on_that_dlc(mux: MuxHost) -> None:
    await mux.open(1)
    await mux.open(2)
    await mux.set_status(1, V24.FC | V24.RTC | V24.RTR)
    await mux.message(MessageType.MSC, command=False)
    await mux.send(1, b"ATI\r")
    assert await mux.command(2, "AT") == b"AT\r\r\nOK\r\n"
    assert b"Quectel" not in mux.inbox.get(1, b"")
    await mux.set_status(1, V24.RTC | V24.RTR)
    assert b"Revision" in await mux.read_until(1, b"OK\r\n")


async def test_a_dlc_whose_port_is_busy_asks_the_host_to_stop() -> None:
    # The port takes a second over its command (latency); meanwhile the host
    # sends on, past the DLC's buffer: the module sets FC, and clears it
    # once its port has read the backlog.
    async with emulator_host(EmulatorConfig(latency_ms=1000)) as (_, host):
        await host.send("ATE0\r")
        await host.read_until(b"OK\r\n")
        mux = MuxHost(host)
        await mux.enter()
        await mux.open(1)
        await mux.message(MessageType.MSC, command=True)  # the module's signals at the open
        await mux.send(1, b"AT\r")
        await trio.sleep(0.3)
        await mux.send(1, b"x" * 6000)
        status = await mux.message(MessageType.MSC, command=True)
        assert ModemStatus.decode(status.value) == ModemStatus(1, V24.FC | V24.RTC | V24.RTR)
        status = await mux.message(MessageType.MSC, command=True)
        assert ModemStatus.decode(status.value) == ModemStatus(1, V24.RTC | V24.RTR)


@pytest.mark.parametrize("retries", [3, 0])
async def test_an_unanswered_status_is_sent_again_every_t2(retries: int) -> None:
    """27.010 5.7: a command whose response does not come within T2 is sent again,
    up to N2 times; so a status (an FC-off) lost on the line is not lost for good.
    ``cmux_msc_retries=0`` plays a module that sends it once."""
    async with emulator_host(EmulatorConfig(cmux_msc_retries=retries)) as (_, host):
        await host.send("ATE0\r")
        await host.read_until(b"OK\r\n")
        mux = MuxHost(host)
        mux.answer_status = False
        await mux.enter()
        await mux.open(1)
        await trio.sleep(0.3 * retries + 0.5)
        with trio.move_on_after(0.2):
            while True:
                await mux.pump()
        sent = [m for m in mux.control if m.kind is MessageType.MSC and m.command]
        assert len(sent) == 1 + retries
        assert {ModemStatus.decode(m.value) for m in sent} == {
            ModemStatus(1, V24.RTC | V24.RTR)}


async def test_an_answered_status_is_not_sent_again(mux: MuxHost) -> None:
    await mux.open(1)
    await mux.message(MessageType.MSC, command=True)  # answered by the host as it came
    await trio.sleep(1.2)
    with trio.move_on_after(0.2):
        while True:
            await mux.pump()
    assert not [m for m in mux.control if m.kind is MessageType.MSC and m.command]


async def test_urcs_go_to_the_first_dlc_by_default(emu: Emulator, mux: MuxHost) -> None:
    await mux.open(1)
    await mux.open(2)
    await mux.command(1, "ATE0")
    emu.module.post_urc(b"\r\n+QIND: test\r\n")
    assert await mux.read_until(1, b"+QIND: test\r\n") == b"\r\n+QIND: test\r\n"
    assert await mux.command(2, "AT") == b"AT\r\r\nOK\r\n"
    assert b"QIND" not in mux.inbox.get(2, b"")


@pytest.mark.parametrize("choice, gets", [("all", {1, 2, 3}), ("3", {3})])
async def test_urcs_on_every_dlc_or_on_a_chosen_one(choice: str, gets: set[int]) -> None:
    async with emulator_host(EmulatorConfig(cmux_urcs=choice)) as (emu, host):
        await host.send("ATE0\r")
        await host.read_until(b"OK\r\n")
        mux = MuxHost(host)
        await mux.enter()
        for dlci in (1, 2, 3):
            await mux.open(dlci)
        emu.module.post_urc(b"\r\n+QIND: test\r\n")
        for dlci in sorted(gets):
            await mux.read_until(dlci, b"+QIND: test\r\n")
        for dlci in {1, 2, 3} - gets:
            assert await mux.command(dlci, "AT") == b"AT\r\r\nOK\r\n"
            assert b"QIND" not in mux.inbox.get(dlci, b"")
