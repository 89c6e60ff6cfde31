"""Boot, echo, framing and the 27.007 basics, byte for byte over the pty."""

from __future__ import annotations

import datetime as dt
import re

from modem.emulator import Emulator, EmulatorConfig

from .conftest import Host, emulator_host


async def test_boot_sequence_exact_bytes() -> None:
    async with Emulator.running(EmulatorConfig()) as emu:
        host = Host.open(emu.device)
        try:
            await host.expect(
                b"\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n\r\n+QIND: SMS DONE\r\n"
            )
        finally:
            await host.aclose()


async def test_echo_is_on_after_power_up_and_ate0_is_echoed(emu_host) -> None:
    _, host = emu_host
    await host.send("AT\r")
    await host.expect(b"AT\r\r\nOK\r\n")
    await host.send("ATE0\r")
    await host.expect(b"ATE0\r\r\nOK\r\n")
    await host.send("AT\r")
    await host.expect(b"\r\nOK\r\n")
    await host.send("ATE1\r")
    await host.expect(b"\r\nOK\r\n")
    await host.send("at+csq\r")
    await host.expect(b"at+csq\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n")


async def test_cr_lf_line_ends_are_accepted(host: Host) -> None:
    await host.send("AT\r\nAT\r\n")
    await host.expect(b"\r\nOK\r\n\r\nOK\r\n")


async def test_identification_and_status_queries(host: Host) -> None:
    assert await host.command("ATI") == (
        b"\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n"
    )
    assert await host.command("AT+CPIN?") == b"\r\n+CPIN: READY\r\n\r\nOK\r\n"
    assert await host.command("AT+CEREG?") == b"\r\n+CEREG: 0,1\r\n\r\nOK\r\n"
    assert await host.command("AT+CREG?") == b"\r\n+CREG: 0,1\r\n\r\nOK\r\n"
    assert await host.command("AT+CSQ") == b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"
    assert await host.command("AT+CMEE?") == b"\r\n+CMEE: 1\r\n\r\nOK\r\n"
    assert await host.command("AT+CMEE=2") == b"\r\nOK\r\n"
    assert await host.command("AT+CMEE?") == b"\r\n+CMEE: 2\r\n\r\nOK\r\n"


async def test_unknown_command_and_bad_parameters_answer_error(host: Host) -> None:
    assert await host.command("AT+NOSUCH") == b"\r\nERROR\r\n"
    assert await host.command("AT+CMEE=3") == b"\r\nERROR\r\n"
    assert await host.command("ATE2") == b"\r\nERROR\r\n"


async def test_lines_without_at_are_ignored(host: Host) -> None:
    await host.send("hello\rAT\r")
    await host.expect(b"\r\nOK\r\n")


def _cclk(answer: bytes) -> dt.datetime:
    m = re.fullmatch(rb'\r\n\+CCLK: "(\d\d/\d\d/\d\d,\d\d:\d\d:\d\d)\+00"\r\n\r\nOK\r\n', answer)
    assert m, answer
    return dt.datetime.strptime(m[1].decode(), "%y/%m/%d,%H:%M:%S")


async def test_clock_is_wrong_at_boot_and_can_be_set(emu: Emulator, host: Host) -> None:
    assert _cclk(await host.command("AT+CCLK?")).date() == dt.date(1980, 1, 6)
    assert await host.command('AT+CCLK="24/05/01,12:00:00+00"') == b"\r\nOK\r\n"
    assert _cclk(await host.command("AT+CCLK?")).date() == dt.date(2024, 5, 1)
    # the module keeps UTC internally; +08 is eight quarter hours (two hours) ahead
    assert await host.command('AT+CCLK="24/05/01,12:00:00+08"') == b"\r\nOK\r\n"
    assert emu.module.clock.now().hour in (10, 11)
    assert await host.command('AT+CCLK="garbage"') == b"\r\nERROR\r\n"


async def test_clock_offset_and_set_clock_from_the_api(emu: Emulator, host: Host) -> None:
    assert emu.clock_offset < -dt.timedelta(days=365 * 40)
    emu.set_clock(dt.datetime.now(dt.UTC))
    assert abs(emu.clock_offset) < dt.timedelta(minutes=1)
    assert _cclk(await host.command("AT+CCLK?")).year == dt.datetime.now(dt.UTC).year


async def test_configured_clock_start() -> None:
    start = dt.datetime(2030, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
    async with emulator_host(EmulatorConfig(clock_start=start)) as (_, host):
        await host.send("AT+CCLK?\r")
        answer = await host.read_until(b"OK\r\n")
        assert b'+CCLK: "30/02/03,' in answer


async def test_network_time_modes_and_none() -> None:
    """``AT+QLTS``: mode 0 the last sync (boot), 1 current UTC; ``""`` without network time."""
    async with emulator_host(EmulatorConfig(network_time_offset=-3600.0)) as (_, host):
        await host.send("ATE0\r")
        await host.read_until(b"OK\r\n")
        answer = await host.command("AT+QLTS=1")
        m = re.fullmatch(rb'\r\n\+QLTS: "(\d{4}/\d\d/\d\d,\d\d:\d\d:\d\d)\+00,0"\r\n\r\nOK\r\n',
                         answer)
        assert m, answer
        shown = dt.datetime.strptime(m[1].decode(), "%Y/%m/%d,%H:%M:%S").replace(tzinfo=dt.UTC)
        assert abs(shown - (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))) < dt.timedelta(
            minutes=1)
    async with emulator_host(EmulatorConfig(network_time_offset=None)) as (_, host):
        await host.send("ATE0\r")
        await host.read_until(b"OK\r\n")
        for mode in ("", "=0", "=1", "=2"):
            assert await host.command(f"AT+QLTS{mode}") == b'\r\n+QLTS: ""\r\n\r\nOK\r\n'


async def test_ctzu_3_sets_the_clock_from_the_network(emu: Emulator, host: Host) -> None:
    assert await host.command("AT+CTZU=?") == b"\r\n+CTZU: (0,1,3)\r\n\r\nOK\r\n"
    assert await host.command("AT+CTZU?") == b"\r\n+CTZU: 0\r\n\r\nOK\r\n"
    assert await host.command("AT+CTZU=2") == b"\r\nERROR\r\n"
    assert emu.clock_offset < -dt.timedelta(days=365 * 40)
    assert await host.command("AT+CTZU=3") == b"\r\nOK\r\n"
    assert abs(emu.clock_offset) < dt.timedelta(minutes=1)
    assert await host.command("AT+CTZU?") == b"\r\n+CTZU: 3\r\n\r\nOK\r\n"


async def test_restart_by_cfun_brings_echo_back_and_rdy(host: Host, emu: Emulator) -> None:
    assert await host.command("AT+CFUN=1,1") == b"\r\nOK\r\n"
    await host.expect(b"\r\nRDY\r\n")
    await host.read_until(b"\r\n+QIND: SMS DONE\r\n")
    await host.send("AT\r")
    await host.expect(b"AT\r\r\nOK\r\n")
    assert emu.restarts == 1
