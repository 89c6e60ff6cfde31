"""Finding the module's AT port when no ``--device`` is given.

Quectel modules enumerate with USB vendor 0x2C7C and several serial
interfaces; on EC2x, EG9x and EM05 the AT command interface is USB
interface number 2 (``/dev/ttyUSB2`` when it is the only module).  The
interface number is the last field of pyserial's ``location``
(``1-1.4:1.2`` is configuration 1, interface 2).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from proxy.errors import PortNotFound

QUECTEL_VID = 0x2C7C
AT_INTERFACE = 2


@dataclass(frozen=True)
class SerialPort:
    """What discovery needs from a ``serial.tools.list_ports`` entry."""

    device: str
    vid: int | None = None
    pid: int | None = None
    location: str | None = None

    @property
    def interface(self) -> int | None:
        if not self.location or ":" not in self.location:
            return None
        tail = self.location.rsplit(":", 1)[1]
        try:
            return int(tail.rsplit(".", 1)[-1])
        except ValueError:
            return None

    @property
    def usb_path(self) -> str | None:
        """The USB device's place on the bus (``1-1.4`` of ``1-1.4:1.2``): the same for
        every interface of one module, and across its re-enumerations."""
        if not self.location or ":" not in self.location:
            return None
        return self.location.rsplit(":", 1)[0]

    def describe(self) -> str:
        if self.vid is None:
            return self.device
        usb = f"{self.vid:04x}:{self.pid or 0:04x}"
        iface = self.interface
        return f"{self.device} ({usb}" + (f" interface {iface})" if iface is not None else ")")


def choose_at_port(ports: Iterable[SerialPort]) -> str:
    """The device path of the one Quectel AT interface, or ``PortNotFound``."""
    ports = sorted(ports, key=lambda p: p.device)
    quectel = [p for p in ports if p.vid == QUECTEL_VID]
    at_ports = [p for p in quectel if p.interface == AT_INTERFACE]
    if len(at_ports) == 1:
        return at_ports[0].device
    if len(at_ports) > 1:
        listed = ", ".join(p.describe() for p in at_ports)
        raise PortNotFound(f"several Quectel modules found ({listed}); choose one with --device")
    if quectel:
        listed = ", ".join(p.describe() for p in quectel)
        raise PortNotFound(f"found Quectel ports but none is USB interface {AT_INTERFACE}: "
                           f"{listed}; give the AT port with --device")
    if ports:
        listed = ", ".join(p.describe() for p in ports)
        raise PortNotFound(f"no Quectel module (USB vendor 2c7c) found; serial ports: {listed};"
                           " give the module's AT port with --device, or try --emulate")
    raise PortNotFound("no serial ports found; is the module plugged in? Give --device PATH, "
                       "or try --emulate")


def _module_at_port(serial: list[SerialPort]) -> SerialPort | None:
    """The AT port of one module from its serial interfaces: the third in interface
    order (DM, NMEA, AT, modem).  That is interface 2 in the usual composition, and
    interface 4 when an RNDIS/ECM network function takes 0 and 1 (two EC25s on one
    host, github.com/yibaiba/hideck/pull/21); interface 2 when fewer are listed."""
    ordered = sorted(serial, key=lambda p: p.interface if p.interface is not None else -1)
    if len(ordered) >= 3 and ordered[0].interface is not None:
        return ordered[2]
    return next((p for p in ordered if p.interface == AT_INTERFACE), None)


def _at_ports_by_module(ports: Iterable[SerialPort]) -> dict[str, SerialPort]:
    modules: dict[str, list[SerialPort]] = {}
    for port in ports:
        if port.vid == QUECTEL_VID:
            modules.setdefault(port.usb_path or port.device, []).append(port)
    found = {path: _module_at_port(serial) for path, serial in modules.items()}
    return {path: port for path, port in sorted(found.items()) if port is not None}


def choose_all_at_ports(ports: Iterable[SerialPort]) -> list[SerialPort]:
    """Every Quectel module's AT port (``_module_at_port``), in USB-path order; when
    there is none, ``PortNotFound`` as ``choose_at_port`` words it."""
    ports = list(ports)
    at_ports = list(_at_ports_by_module(ports).values())
    if not at_ports:
        choose_at_port(ports)  # raises, saying what it found instead
    return at_ports


def choose_at_port_at(ports: Iterable[SerialPort], usb_path: str) -> str:
    """The AT port of the module at ``usb_path`` (it may have a new ttyUSB name
    after re-enumeration), or ``PortNotFound``."""
    port = _at_ports_by_module(ports).get(usb_path)
    if port is None:
        raise PortNotFound(f"no Quectel AT port at USB {usb_path} (module unplugged?)")
    return port.device


def system_ports() -> list[SerialPort]:
    """The host's serial ports as pyserial lists them."""
    from serial.tools import list_ports

    return [SerialPort(p.device, p.vid, p.pid, p.location) for p in list_ports.comports()]


def find_at_port() -> str:
    """``choose_at_port`` over this host's ports."""
    return choose_at_port(system_ports())


def find_all_at_ports() -> list[SerialPort]:
    """``choose_all_at_ports`` over this host's ports."""
    return choose_all_at_ports(system_ports())


def find_at_port_at(usb_path: str) -> str:
    """``choose_at_port_at`` over this host's ports."""
    return choose_at_port_at(system_ports(), usb_path)


# -- the URC port (AT+QURCCFG="urcport") of the AT port we open ------------------

#: EC2x / EG9x / EM05 USB interfaces that carry AT commands, by the name
#: ``AT+QURCCFG="urcport"`` gives them (Quectel AT Commands Manual; the
#: Linux USB driver guide numbers them: 2 AT port, 3 modem port).
USB_INTERFACE_URC_PORTS = {2: "usbat", 3: "usbmodem"}
UART_URC_PORT = "uart1"


def urc_port_for(port: SerialPort | None) -> tuple[str | None, str]:
    """The ``urcport`` name of the AT port ``port`` and why (None: cannot tell).

    ``port`` is the device as pyserial describes it (``describe_device``):
    a USB device by its interface number (the last field of ``location``),
    a serial device that is not USB is the main UART (``uart1``); None is a
    device pyserial does not know (a pty, a network serial port).
    """
    if port is None:
        return None, "not a USB or UART serial device (a pty?)"
    if port.vid is None:
        return UART_URC_PORT, "serial device that is not USB"
    interface = port.interface
    name = USB_INTERFACE_URC_PORTS.get(interface) if interface is not None else None
    if name is None:
        return None, (f"USB interface {interface} is neither 2 (usbat) nor 3 (usbmodem)"
                      if interface is not None else f"no USB interface in {port.location!r}")
    return name, f"USB interface {interface}"


def describe_device(path: str) -> SerialPort | None:
    """``path`` (symlinks such as ``/dev/serial/by-id/...`` followed) as pyserial
    describes it from sysfs; None when it has no tty device there (a pty)
    or the host is not Linux."""
    try:
        from serial.tools.list_ports_linux import SysFS
    except ImportError:  # pyserial's sysfs reader is Linux only
        return None
    info = SysFS(os.path.realpath(path))
    if info.subsystem is None:
        return None
    return SerialPort(info.device, info.vid, info.pid, info.location)
