"""Finding the Quectel AT port among the host's serial ports."""

from __future__ import annotations

import pytest

from proxy.errors import PortNotFound
from proxy.modems.port_discovery import SerialPort, choose_at_port
from tests.proxy_helpers import ec25


def test_one_module():
    ports = [SerialPort("/dev/ttyS0"), *ec25(0)]
    assert choose_at_port(ports) == "/dev/ttyUSB2"


def test_module_after_another_usb_serial():
    ports = [SerialPort("/dev/ttyUSB0", 0x0403, 0x6001, "1-2:1.0"), *ec25(1)]
    assert choose_at_port(ports) == "/dev/ttyUSB3"


def test_two_modules_are_ambiguous():
    with pytest.raises(PortNotFound) as info:
        choose_at_port([*ec25(0), *ec25(4, bus="1-1.3")])
    message = str(info.value)
    assert "several Quectel modules" in message
    assert "/dev/ttyUSB2" in message and "/dev/ttyUSB6" in message
    assert "--device" in message


def test_no_at_interface():
    ports = [SerialPort("/dev/ttyUSB0", 0x2C7C, 0x0125, "1-1.4:1.0")]
    with pytest.raises(PortNotFound, match=r"/dev/ttyUSB0 \(2c7c:0125 interface 0\)"):
        choose_at_port(ports)


def test_no_quectel_lists_what_there_is():
    with pytest.raises(PortNotFound, match=r"no Quectel module .*serial ports: /dev/ttyS0"):
        choose_at_port([SerialPort("/dev/ttyS0")])


def test_no_ports_at_all():
    with pytest.raises(PortNotFound, match="no serial ports found"):
        choose_at_port([])

