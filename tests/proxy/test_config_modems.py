"""Several modules in the configuration: repeated ``--device``, ``[[modem]]``,
``--emulate-modems``, a map's ``modems``; every mistake a one-line ``ConfigError``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from proxy.cli import main, parse_command_line
from proxy.config.build import Endpoint
from proxy.config.model import ModemSpec
from proxy.config.modems import modem_specs
from proxy.config.schema import Place
from proxy.config.settings import SETTINGS
from proxy.errors import ConfigError

MAP = ("--map", "9000=api.example.com:443")


def test_one_device_is_the_one_module_as_before():
    config = parse_command_line(["--device", "/dev/ttyUSB2", "--apn", "internet", *MAP])
    assert config.modems == () and config.device == "/dev/ttyUSB2"
    assert config.max_connections == 12
    assert modem_specs(config) == (ModemSpec("modem1", "/dev/ttyUSB2", 115200, "internet"),)


def test_repeated_device_flags_are_several_modules():
    config = parse_command_line(["--device", "/dev/a", "--device", "/dev/b", "--baud",
                                 "921600", *MAP])
    assert [(m.name, m.device, m.baud) for m in config.modems] == [
        ("modem1", "/dev/a", 921600), ("modem2", "/dev/b", 921600)]
    assert config.device == "/dev/a" and config.max_connections == 24


def test_modem_tables_and_a_pinned_map(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text("""
apn = "internet"
[[modem]]
name = "carrier-a"
device = "/dev/serial/by-id/usb-Quectel_EC25_A-if02-port0"
at-console = 2323
[[modem]]
name = "carrier-b"
device = "/dev/serial/by-id/usb-Quectel_EC25_B-if02-port0"
apn = "other.apn"
baud = 460800
urc-port = "usbat"
[[map]]
listen = 9000
connect = "api.example.com:443"
modems = ["carrier-b"]
""")
    config = parse_command_line(["--config", str(path)])
    a, b = config.modems
    assert (a.name, a.apn, a.at_console) == ("carrier-a", "internet",
                                              Endpoint("127.0.0.1", 2323))
    assert (b.name, b.apn, b.baud, b.urc_port) == ("carrier-b", "other.apn", 460800, "usbat")
    assert config.maps[0].modems == ("carrier-b",)
    assert config.max_connections == 24
    # One --device flag replaces the tables (the one-module setup): the pin has no module.
    with pytest.raises(ConfigError, match="modems names 'carrier-b', but the modules are "
                                          "modem1"):
        parse_command_line(["--config", str(path), "--device", "/dev/x"])


def test_emulate_modems():
    config = parse_command_line(["--emulate-modems", "3", *MAP])
    assert config.emulate and config.emulate_modems == 3
    assert [m.name for m in config.modems] == ["modem1", "modem2", "modem3"]
    assert config.max_connections == 36


@pytest.mark.parametrize(("argv", "toml", "message"), [
    (["--emulate-modems", "0"], "", "--emulate-modems: 0 is outside 1-16"),
    (["--emulate-modems", "2", "--device", "/dev/a"], "", "exclude each other"),
    (["--device", "/dev/a", "--device", "/dev/a"], "", "given twice"),
    (["--device", "/dev/a", "--device", "/dev/b", "--max-connections", "25"], "",
     "--max-connections: 25 is outside 1-24"),
    ([], '[[modem]]\nname = "a"\ndevice = "/dev/a"\n[[modem]]\nname = "a"\ndevice = "/dev/b"\n',
     "two [[modem]] tables are named 'a'"),
    ([], '[[modem]]\ndevice = "/dev/a"\n[[modem]]\nname = "b"\n', "give each one its device"),
    ([], '[[modem]]\nname = "a b"\n', "must be 1-32 letters"),
    ([], '[[modem]]\nname = "a"\nspeed = 1\n', "unknown key 'speed' in [[modem]] #1"),
    ([], '[[modem]]\nname = "a"\nbaud = 1\n', "[[modem]] #1: baud: 1 is outside 300-4000000"),
    ([], '[[modem]]\nname = "a"\n[[map]]\nlisten = 9000\nconnect = "h:1"\nmodems = ["b"]\n',
     "modems names 'b', but the modules are a"),
    ([], '[[map]]\nlisten = 9000\nconnect = "h:1"\nmodems = "a"\n', "must be a list"),
])
def test_mistakes(tmp_path, argv, toml, message):
    args = list(argv)
    if toml:
        path = tmp_path / "p.toml"
        path.write_text(toml)
        args += ["--config", str(path)]
    if not any(a.startswith("--map") for a in args) and "[[map]]" not in toml:
        args += list(MAP)
    with pytest.raises(ConfigError) as info:
        parse_command_line(args)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_a_mistake_exits_2(capsys):
    assert main(["--emulate-modems", "99", *MAP]) == 2
    assert "--emulate-modems" in capsys.readouterr().err


def test_the_examples_modem_block_parses_once_uncommented(tmp_path):
    example = (Path(__file__).resolve().parents[2] / "examples" / "ssl-proxy.toml").read_text()
    head, _, rest = example.partition("# -- several modules")
    block, _, tail = rest.partition("\n\n# --")
    tables = [line.removeprefix("# ") for line in block.splitlines()
              if re.match(r"# (\[\[modem\]\]$|[a-z-]+ = )", line)]
    head = "\n".join(line for line in head.splitlines() if not line.startswith("device"))
    path = tmp_path / "two.toml"
    path.write_text(head + "\n" + "\n".join(tables) + "\n\n# --" + tail)
    for key in (row.name for row in SETTINGS.where(Place.MODEM)):  # every key is shown
        assert any(line.startswith(f"{key} = ") for line in tables), key
    config = parse_command_line(["--config", str(path)])
    assert [(m.name, m.apn, m.at_console) for m in config.modems] == [
        ("carrier-a", "internet", None), ("carrier-b", "data.other.example",
                                          Endpoint("127.0.0.1", 2324))]
