"""The named AT port and ``AT+QURCCFG="urcport"`` (see ``modem/emulator/urc_port.py``):
URCs reach the line only while the URC port is the port the pty plays; the
setting survives a restart; ``+QSSLSTATE`` names the resolved address and
this port."""

from __future__ import annotations

import pytest
import trio

from modem.emulator import Emulator, EmulatorConfig
from modem.emulator.__main__ import build_parser

from .conftest import BOOT_DONE, Host, emulator_host

QUIET = 0.3  # seconds: far longer than the emulator takes to write a due URC


async def _nothing_arrives(host: Host, seconds: float = QUIET) -> bool:
    """True when no byte arrives within ``seconds``."""
    with trio.move_on_after(seconds):
        await host.read_exact(len(host.buf) + 1)
        return False
    return True


async def test_qurccfg_reads_and_sets_the_urc_port(emu: Emulator, host: Host) -> None:
    assert await host.command('AT+QURCCFG="urcport"') == (
        b'\r\n+QURCCFG: "urcport","usbat"\r\n\r\nOK\r\n')
    assert await host.command('AT+QURCCFG="urcport","usbmodem"') == b"\r\nOK\r\n"
    assert await host.command('AT+QURCCFG="URCPORT"') == (
        b'\r\n+QURCCFG: "urcport","usbmodem"\r\n\r\nOK\r\n')
    assert emu.urc_port == "usbmodem"
    for bad in ('"urcport","usb3"', '"other","usbat"', '"urcport","usbat",1', '"urcport",1'):
        assert await host.command(f"AT+QURCCFG={bad}") == b"\r\nERROR\r\n"
    assert emu.urc_port == "usbmodem"


async def test_urcs_go_only_to_the_urc_port(emu: Emulator, online: Host, echo_server) -> None:
    host = online
    assert await host.command('AT+QURCCFG="urcport","uart1"') == b"\r\nOK\r\n"
    assert await host.command(
        f'AT+QSSLOPEN=1,1,3,"api.example.com",{echo_server.port},0') == b"\r\nOK\r\n"
    with trio.fail_after(10):
        await emu.module.sockets[3].opened.wait()
    assert await host.send_data(3, b"ping") == b"SEND OK"
    assert await _nothing_arrives(host)  # +QSSLOPEN and "recv" went to the UART
    assert host.urcs == []
    assert await host.command('AT+QURCCFG="urcport","usbat"') == b"\r\nOK\r\n"
    assert await host.recv_data(3) == b"ping"
    assert await host.send_data(3, b"pong") == b"SEND OK"
    assert await host.urc(b'+QSSLURC: "recv"') == b'+QSSLURC: "recv",3'
    assert await host.recv_data(3) == b"pong"


async def test_the_urc_port_survives_a_restart_and_routes_the_boot_urcs() -> None:
    async with Emulator.running(EmulatorConfig(port_name="usbmodem")) as emu:
        host = Host.open(emu.device)
        try:
            await emu.wait_booted()
            assert await _nothing_arrives(host)  # RDY and the SIM URCs went to usbat
            await host.send("ATE0\r")
            await host.read_until(b"OK\r\n")
            assert await host.command('AT+QURCCFG="urcport","usbmodem"') == b"\r\nOK\r\n"
            await host.send("AT+CFUN=1,1\r")
            await host.read_until(b"\r\nRDY\r\n")
            await host.read_until(BOOT_DONE)
            assert (emu.restarts, emu.urc_port) == (1, "usbmodem")
        finally:
            await host.aclose()


async def test_qsslstate_shows_the_address_and_the_port_of_the_line(echo_server) -> None:
    config = EmulatorConfig(resolve={"api.example.com": "127.0.0.1"}, real_dns=False,
                            port_name="uart1")
    async with Emulator.running(config) as emu:
        host = Host.open(emu.device)
        try:
            await emu.wait_booted()
            await host.send("ATE0\r")
            await host.read_until(b"OK\r\n")
            assert await host.command('AT+QURCCFG="urcport","uart1"') == b"\r\nOK\r\n"
            assert await host.command("AT+QIACT=1") == b"\r\nOK\r\n"
            assert await host.open_ssl(5, "api.example.com", echo_server.port, ctx=2) == 0
            local_port = emu.module.sockets[5].local_port
            assert await host.command("AT+QSSLSTATE=5") == (
                b'\r\n+QSSLSTATE: 5,"SSLClient","127.0.0.1",%d,%d,2,1,5,0,"uart1",2\r\n'
                b"\r\nOK\r\n" % (echo_server.port, local_port))
        finally:
            await host.aclose()


def test_an_unknown_port_name_is_refused() -> None:
    with pytest.raises(ValueError, match="usbat, usbmodem, uart1"):
        EmulatorConfig(port_name="usb2")


def test_the_port_name_flag(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    assert parser.parse_args([]).port_name == "usbat"
    assert parser.parse_args(["--port-name", "uart1"]).port_name == "uart1"
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["--port-name", "ttyUSB3"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'ttyUSB3'" in capsys.readouterr().err


async def test_firmware_without_qurccfg_answers_error_in_every_form() -> None:
    config = EmulatorConfig(absent_commands=frozenset({"+QURCCFG"}))
    async with emulator_host(config) as (_, host):
        await host.send("ATE0\r")
        await host.read_until(b"OK\r\n")
        for form in ("=?", '="urcport"', '="urcport","usbat"'):
            assert await host.command(f"AT+QURCCFG{form}") == b"\r\nERROR\r\n"
        assert await host.command("AT+CSQ") == b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"


def test_the_absent_command_flag() -> None:
    args = build_parser().parse_args(["--absent-command", "AT+qurccfg", "--absent-command", "QLTS"])
    assert args.absent_command == ["+QURCCFG", "+QLTS"]
