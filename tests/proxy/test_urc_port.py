"""``--urc-port`` / ``urc-port``: which AT port the proxy owns, so bring-up can
route the module's URCs there (``AT+QURCCFG="urcport"``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import trio

from modem.emulator import Emulator, EmulatorConfig
from proxy.cli import main, parse_command_line
from proxy.config.build import ConfigError, build_config, load_toml
from proxy.config.profiles import build_profiles, load_all_material
from proxy.modems.port_discovery import SerialPort, describe_device, urc_port_for
from proxy.service import ProxyService
from tests.helpers import TlsServer

MAP = ("--map", "0=echo.test:1")


# -- configuration -----------------------------------------------------------------

def test_default_is_auto_and_the_flag_sets_it():
    assert parse_command_line([*MAP]).urc_port == "auto"
    for port in ("usbat", "usbmodem", "uart1", "auto"):
        assert parse_command_line([*MAP, "--urc-port", port]).urc_port == port


def test_toml_key_and_the_flag_over_it(tmp_path: Path):
    path = tmp_path / "proxy.toml"
    path.write_text('urc-port = "uart1"\n[[map]]\nlisten = 0\nconnect = "h:1"\n')
    assert parse_command_line(["--config", str(path)]).urc_port == "uart1"
    assert parse_command_line(["--config", str(path), "--urc-port", "usbat"]).urc_port == "usbat"


@pytest.mark.parametrize(("text", "words"), [
    ('urc-port = "ttyUSB3"\n', "--urc-port: 'ttyUSB3' is not one of usbat, usbmodem, uart1, auto"),
    ("urc-port = 3\n", "urc-port at the top level must be a string"),
])
def test_bad_toml_values(tmp_path: Path, text: str, words: str):
    path = tmp_path / "proxy.toml"
    path.write_text(text + '[[map]]\nlisten = 0\nconnect = "h:1"\n')
    with pytest.raises(ConfigError) as info:
        build_config({}, load_toml(path))
    assert words in str(info.value)


def test_a_bad_flag_is_one_usage_line(capsys: pytest.CaptureFixture[str]):
    assert main([*MAP, "--urc-port", "usb2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("ssl-proxy: error: --urc-port: 'usb2' is not one of "
                          "usbat, usbmodem, uart1, auto")


# -- auto: the device's USB interface ----------------------------------------------

def quectel(interface: int, n: int = 2) -> SerialPort:
    """An EC25 interface as pyserial lists it (``location`` bus-port:config.interface)."""
    return SerialPort(f"/dev/ttyUSB{n}", 0x2C7C, 0x0125, f"1-1.2:1.{interface}")


@pytest.mark.parametrize(("port", "name"), [
    (quectel(2), "usbat"),
    (quectel(3, n=3), "usbmodem"),
    (SerialPort("/dev/ttyUSB7", 0x2C7C, 0x0125, "3-1.4.2:1.3"), "usbmodem"),
    (SerialPort("/dev/ttyAMA0"), "uart1"),  # pyserial: no vid for a non-USB port
    (SerialPort("/dev/ttyS0"), "uart1"),
])
def test_auto_names_the_port(port: SerialPort, name: str):
    assert urc_port_for(port)[0] == name


@pytest.mark.parametrize(("port", "why"), [
    (quectel(0, n=0), "USB interface 0 is neither 2 (usbat) nor 3 (usbmodem)"),
    (SerialPort("/dev/ttyUSB0", 0x2C7C, 0x0125, "1-1.2"), "no USB interface in '1-1.2'"),
    (None, "not a USB or UART serial device (a pty?)"),
])
def test_auto_leaves_what_it_cannot_name(port: SerialPort | None, why: str):
    assert urc_port_for(port) == (None, why)


def test_a_pty_and_a_link_to_it_are_no_serial_device(tmp_path: Path):
    master, slave = os.openpty()
    try:
        path = os.ttyname(slave)
        link = tmp_path / "ttyLINK"
        link.symlink_to(path)
        assert describe_device(path) is None
        assert describe_device(str(link)) is None
    finally:
        os.close(master)
        os.close(slave)


# -- the service routes URCs to the port it resolved --------------------------------

async def run_one_exchange(config_argv: list[str], server_cert, ca_file, nursery,
                           emulator_options: dict[str, object]) -> ProxyService:
    echo = await nursery.start(TlsServer(server_cert, "echo").serve)
    config = parse_command_line([*config_argv, "--cacert", str(ca_file),
                                 "--map", f"0=echo.test:{echo.port}"])
    service = ProxyService(config, build_profiles(config, load_all_material(config)),
                           config.device, linger=0.3, emulator_options=emulator_options)
    async with trio.open_nursery() as inner:
        await inner.start(service.run)
        where = list(service.listen_addresses.values())[0]
        with trio.fail_after(20):  # a URC that never came would take 150 s
            async with await trio.open_tcp_stream(where.host, where.port) as stream:
                await stream.send_all(b"routed")
                got = b""
                while len(got) < 6:
                    got += await stream.receive_some(100)
                assert got == b"routed"
        service.request_shutdown()
    return service


async def test_emulate_auto_routes_to_the_emulators_port(server_cert, ca_file, nursery):
    service = await run_one_exchange(
        ["--emulate", "--resolve", "echo.test=127.0.0.1"], server_cert, ca_file, nursery,
        {"real_dns": False, "port_name": "uart1"})
    assert service.emulator.urc_port == "uart1"  # factory usbat: bring-up moved it


async def test_the_flag_routes_a_device_auto_cannot_name(server_cert, ca_file, nursery):
    config = EmulatorConfig(resolve={"echo.test": "127.0.0.1"}, real_dns=False,
                            port_name="usbmodem")
    async with Emulator.running(config) as emu:
        await run_one_exchange(["--device", emu.device, "--urc-port", "usbmodem"],
                               server_cert, ca_file, nursery, {})
        assert emu.urc_port == "usbmodem"
