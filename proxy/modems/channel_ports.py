"""The module's second AT port, for ``--channels ports`` (and ``auto`` on USB).

EC2x, EG9x and EM05 take AT commands on two USB interfaces: 2 (``usbat``,
the port the proxy opens) and 3 (``usbmodem``; the Linux USB driver guide
numbers them).  ``second_at_port`` finds interface 3 of the module whose
interface 2 is ``device``:

1. by name: ``/dev/serial/by-id/...-if02-port0`` or
   ``/dev/serial/by-path/...:1.2-port0`` becomes the same name with
   ``if03`` or ``:1.3``, when that exists (stable across re-plugging, like
   the first);
2. from sysfs: the port pyserial lists with the same USB path and
   interface 3;
3. under ``--emulate``: the emulator's ``usbmodem`` pty.

Nothing is looked up with ``--channels single``.  Not found: no extra port,
and ``auto`` runs on one channel, saying why (``modem.core.channel_plan``).
"""

from __future__ import annotations

import os
import re
from functools import partial
from typing import Any

from modem.channels import ExtraPort
from modem.core.channel_plan import ChannelMode
from modem.link.serial_stream import open_serial_stream
from proxy.modems.port_discovery import (
    USB_INTERFACE_URC_PORTS,
    describe_device,
    system_ports,
)

__all__ = ["SECOND_PORT", "extra_at_ports", "second_at_port"]

SECOND_INTERFACE = 3
SECOND_PORT = USB_INTERFACE_URC_PORTS[SECOND_INTERFACE]
_BY_NAME = (re.compile(r"-if02(-port\d+)$"), re.compile(r":1\.2(-port\d+)$"))
_SIBLING = ("-if03", ":1.3")


def second_at_port(device: str) -> str | None:
    """The module's interface-3 port beside ``device`` (see the module docstring)."""
    for pattern, sibling in zip(_BY_NAME, _SIBLING, strict=True):
        found = pattern.search(device)
        if found is not None:
            path = device[:found.start()] + sibling + found[1]
            if os.path.exists(path):
                return path
    port = describe_device(device)
    if port is None or port.usb_path is None:
        return None
    return next((p.device for p in system_ports()
                 if p.usb_path == port.usb_path and p.interface == SECOND_INTERFACE), None)


def extra_at_ports(mode: ChannelMode, device: str, emulator: Any, baudrate: int,
                   rtscts: bool) -> tuple[ExtraPort, ...]:
    """``ModemOptions.extra_ports`` for ``mode`` on ``device`` (``emulator``: the
    ``Emulator`` under ``--emulate``, else None)."""
    if mode is ChannelMode.SINGLE or mode is ChannelMode.CMUX:
        return ()
    path = emulator.devices.get(SECOND_PORT) if emulator is not None else second_at_port(device)
    if path is None:
        return ()
    return (ExtraPort(SECOND_PORT, partial(open_serial_stream, path, baudrate=baudrate,
                                           rtscts=rtscts)),)
