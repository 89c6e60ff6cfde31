"""No ``--device`` and several modules plugged in: discovery finds every AT port, the
proxy runs one modem per module, and each is found again by its USB path."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import pytest
import trio

from proxy.cli import parse_command_line
from proxy.config.modems import with_discovered_modems
from proxy.errors import ConfigError
from proxy.modems.port_discovery import (
    PortNotFound,
    SerialPort,
    choose_all_at_ports,
    choose_at_port_at,
)
from tests.proxy_helpers import (
    build_service,
    ec25,
    echo_on_new_connection,
    held_connection,
    run_cli,
    start_killable,
)


def test_every_quectel_at_port_in_usb_order():
    ports = [SerialPort("/dev/ttyS0"), *ec25(4, bus="1-1.4"), *ec25(0, bus="1-1.3")]
    assert [p.device for p in choose_all_at_ports(ports)] == ["/dev/ttyUSB2", "/dev/ttyUSB6"]
    with pytest.raises(PortNotFound, match="no Quectel module"):
        choose_all_at_ports([SerialPort("/dev/ttyS0")])


def test_the_at_port_is_the_third_serial_interface():
    """An EC25 in RNDIS composition: interfaces 0-1 are the network function, 2-5 are
    DM, NMEA, AT and modem (github.com/yibaiba/hideck/pull/21), so AT is interface 4."""
    rndis = [SerialPort(f"/dev/ttyUSB{4 + i}", 0x2C7C, 0x0125, f"1-1.2:1.{2 + i}")
             for i in range(4)]
    ports = [*ec25(0, bus="1-1.3"), *rndis]
    assert [p.device for p in choose_all_at_ports(ports)] == ["/dev/ttyUSB6", "/dev/ttyUSB2"]
    assert choose_at_port_at(ports, "1-1.2") == "/dev/ttyUSB6"


def test_a_module_is_found_again_by_its_usb_path():
    # After re-enumeration the module on 1-1.4 is ttyUSB10..13, the other ttyUSB0..3.
    ports = [*ec25(0, bus="1-1.3"), *ec25(10, bus="1-1.4")]
    assert choose_at_port_at(ports, "1-1.4") == "/dev/ttyUSB12"
    with pytest.raises(PortNotFound, match="USB 1-1.5"):
        choose_at_port_at(ports, "1-1.5")


def test_discovered_modules_become_modems(tmp_path):
    config = parse_command_line(["--map", "9000=api.example.com:443"])
    ports = choose_all_at_ports([*ec25(0, bus="1-1.3"), *ec25(4, bus="1-1.4")])
    config, rediscover = with_discovered_modems(config, ports)
    assert [(m.name, m.device) for m in config.modems] == [("usb-1-1.3", "/dev/ttyUSB2"),
                                                          ("usb-1-1.4", "/dev/ttyUSB6")]
    assert config.max_connections == 24 and set(rediscover) == {"usb-1-1.3", "usb-1-1.4"}


def test_a_module_keeps_its_name_when_another_is_plugged_in():
    """Names come from the USB path, not from the order or the count: the module on
    1-1.4 is usb-1-1.4 alone and beside a new one on 1-1.3 (which sorts first)."""
    config = parse_command_line(["--map", "9000=api.example.com:443"])
    alone, _ = with_discovered_modems(config, choose_all_at_ports(ec25(0, bus="1-1.4")))
    both, _ = with_discovered_modems(config, choose_all_at_ports(
        [*ec25(0, bus="1-1.4"), *ec25(4, bus="1-1.3")]))
    assert [m.name for m in alone.modems] == ["usb-1-1.4"]
    assert [m.name for m in both.modems] == ["usb-1-1.3", "usb-1-1.4"]
    assert alone.max_connections == 12 and alone.device is None


def test_a_map_must_name_a_discovered_module():
    config = parse_command_line(["--map", "9000=api.example.com:443"])
    config = replace(config, maps=(replace(config.maps[0], modems=("modem1",)),))
    with pytest.raises(ConfigError, match="modems names 'modem1', but the modules are "
                                          "usb-1-1.4"):
        with_discovered_modems(config, choose_all_at_ports(ec25(0, bus="1-1.4")))


async def test_the_proxy_serves_through_every_discovered_module(echo_server, ca_file,
                                                                tmp_path, nursery):
    modules = await start_killable(nursery, tmp_path, 2)
    seen = [SerialPort(str(m.link) if i == 2 else f"/dev/nonexistent{n}{i}", 0x2C7C, 0x0125,
                       f"1-1.{n}:1.{i}") for n, m in enumerate(modules) for i in range(4)]
    config = parse_command_line(["--cacert", str(ca_file),
                                 "--map", f"0=echo.test:{echo_server.port}"])
    config, _ = with_discovered_modems(config, choose_all_at_ports(seen))
    rediscover = {f"usb-1-1.{n}": partial(choose_at_port_at, seen, f"1-1.{n}")
                  for n in range(2)}
    service = build_service(config, config.device, linger=0.3, rediscover_by_modem=rediscover,
                            modem_options={"reopen_backoff_max": 0.2})
    await nursery.start(service.run)
    held, first = await held_connection(service)
    assert (first, await echo_on_new_connection(service)) == ("usb-1-1.0", "usb-1-1.1")
    await held.aclose()
    # usb-1-1.1 comes back under another device name: its discovery finds it by USB path.
    modules[1].kill()
    victim = service.pool.members[1]
    with trio.fail_after(10):
        await victim.modem.state.wait_value(lambda s: s.value != "ready")
    modules[1].link = tmp_path / "ttyUSB9"
    seen[6] = SerialPort(str(modules[1].link), 0x2C7C, 0x0125, "1-1.1:1.2")
    await modules[1].start(nursery)
    with trio.fail_after(20):
        await victim.modem.state.wait_value(lambda s: s.value == "ready")
    assert victim.modem.state.value == "ready"


def test_one_modem_table_without_a_device_is_found_like_no_device(tmp_path):
    """One ``[[modem]]`` table naming no device: discovery looks for the module as it
    does without ``--device`` (this host has none: one line that says what to do)."""
    config = tmp_path / "one.toml"
    config.write_text('[[modem]]\nname = "roof"\n\n[[map]]\nlisten = 0\n'
                      'connect = "api.example.com:443"\n')
    result = run_cli("--config", str(config), timeout=30)
    assert result.returncode != 0
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("ssl-proxy: error: no Quectel module") and "--device" in line
