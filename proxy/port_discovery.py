"""Finding the module's AT port when no ``--device`` is given.

Quectel modules enumerate with USB vendor 0x2C7C and several serial
interfaces; on EC2x, EG9x and EM05 the AT command interface is USB
interface number 2 (``/dev/ttyUSB2`` when it is the only module).  The
interface number is the last field of pyserial's ``location``
(``1-1.4:1.2`` is configuration 1, interface 2).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .errors import PortNotFound as PortNotFound  # its home before proxy.errors

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


def system_ports() -> list[SerialPort]:
    """The host's serial ports as pyserial lists them."""
    from serial.tools import list_ports

    return [SerialPort(p.device, p.vid, p.pid, p.location) for p in list_ports.comports()]


def find_at_port() -> str:
    """``choose_at_port`` over this host's ports."""
    return choose_at_port(system_ports())
