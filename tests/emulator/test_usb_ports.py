"""One module behind several ptys (``extra_ports``): the USB AT and modem ports."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio
import trustme

from modem.emulator import Emulator, EmulatorConfig

from .conftest import BOOT_DONE, Host, emulator_host

GUARD = 0.2


@pytest.fixture
async def ports(ca: trustme.CA) -> AsyncIterator[tuple[Emulator, Host, Host]]:
    """The usbat pty (booted, echo off, PDP up, CA uploaded) and the usbmodem pty (echo off)."""
    config = EmulatorConfig(extra_ports=("usbmodem",), escape_guard=GUARD, real_dns=False)
    async with emulator_host(config) as (emu, at):
        modem = Host.open(emu.devices["usbmodem"])
        try:
            for host in (at, modem):
                await host.send("ATE0\r")
                await host.read_until(b"OK\r\n")
            assert await at.command("AT+QIACT=1") == b"\r\nOK\r\n"
            emu.files.put("UFS:cacert.pem", ca.cert_pem.bytes())
            yield emu, at, modem
        finally:
            await modem.aclose()


async def test_each_port_has_its_pty_and_answers(ports: tuple[Emulator, Host, Host]) -> None:
    emu, at, modem = ports
    assert set(emu.devices) == {"usbat", "usbmodem"}
    assert emu.devices["usbat"] == emu.device
    assert await modem.command("AT+QIACT?") == (
        b'\r\n+QIACT: 1,1,1,"10.7.157.1"\r\n\r\nOK\r\n')  # the one module's state


async def test_urcs_follow_qurccfg_between_the_ports(
        ports: tuple[Emulator, Host, Host]) -> None:
    emu, at, modem = ports
    emu.module.post_urc(b"\r\n+QIND: one\r\n")
    assert await at.line() == b"+QIND: one"
    assert await modem.command('AT+QURCCFG="urcport","usbmodem"') == b"\r\nOK\r\n"
    emu.module.post_urc(b"\r\n+QIND: two\r\n")
    assert await modem.line() == b"+QIND: two"
    assert await at.command("AT") == b"\r\nOK\r\n"  # nothing came before it


async def test_data_on_the_modem_port_commands_on_the_at_port(
        ports: tuple[Emulator, Host, Host], echo_server) -> None:
    emu, at, modem = ports
    await modem.send(f'AT+QSSLOPEN=1,1,2,"127.0.0.1",{echo_server.port},2\r')
    await modem.expect(b"\r\nCONNECT\r\n")
    await modem.send(b"through the modem port")
    await modem.expect(b"through the modem port")
    state = await at.command("AT+QSSLSTATE=2")
    assert b',2,1,2,2,"usbat",1' in state  # the asking port's name (a guess)
    assert await at.command("AT+CSQ") == b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"
    await trio.sleep(GUARD * 1.5)
    await modem.send(b"+++")
    await trio.sleep(GUARD * 1.5)
    await modem.expect(b"\r\nOK\r\n")
    assert b',"usbmodem",1' in await modem.command("AT+QSSLSTATE=2")


async def test_a_restart_serves_every_port_again(ports: tuple[Emulator, Host, Host]) -> None:
    emu, at, modem = ports
    emu.restart()
    await at.read_until(BOOT_DONE)  # RDY and the SIM URCs: the URC port only
    await modem.send("AT\r")
    assert await modem.read_until(b"OK\r\n") == b"AT\r\r\nOK\r\n"  # echo on again
