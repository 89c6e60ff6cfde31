"""Which AT port the emulated line plays, and where the module sends its URCs.

A real EC2x has three AT ports: the USB AT port (``usbat``, USB interface
2), the USB modem port (``usbmodem``, interface 3) and the main UART
(``uart1``).  ``AT+QURCCFG="urcport",<port>`` chooses the one that carries
every unsolicited line; the others see none.  Formats and behaviour, from
Quectel's AT manuals as published in
CursedHardware/at-manual (content/docs/quectel/general-commands.md) and a
Quectel LTE Standard AT manual (markdown copy, section "AT+QURCCFG"):

* test form: ``+QURCCFG: "urcport",("usbat","usbmodem","uart1")`` (newer
  firmware adds ``"all"``; the emulator plays an EC25, without it);
* ``AT+QURCCFG="urcport"`` answers ``+QURCCFG: "urcport","usbat"``; the
  write form answers ``OK`` or ``ERROR``; factory default ``usbat``;
* "Executing AT+QURCCFG="urcport",<URC_port_value> writes data to NVM" and
  "takes effect immediately, saved automatically" (Chinese edition): the
  setting survives a restart, so it lives here, beside the line, not in the
  ``Module`` of one power-on;
* boot URCs follow it too: ``AT+QAPRDYIND``'s note says its power-up URC is
  reported "via the port configured by AT+QURCCFG="urcport" (default USB
  AT port)".  The emulator routes ``RDY`` and the SIM URCs the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

URC_PORTS = ("usbat", "usbmodem", "uart1")
FACTORY_URC_PORT = "usbat"


def check_port_name(name: str) -> str:
    """``name`` if it is an AT port of the module, else ``ValueError``."""
    if name not in URC_PORTS:
        raise ValueError(f"unknown AT port {name!r}: want one of {', '.join(URC_PORTS)}")
    return name


@dataclass
class UrcRouting:
    """``urc_port``: the NVM setting of ``AT+QURCCFG="urcport"``: URCs go to the
    AT ports of that name (``Module.urc_ports``), none elsewhere.
    ``urc_filter`` keeps a URC when it returns True (None keeps all): the line
    losing some (``faults.UrcLoss``)."""

    urc_port: str = FACTORY_URC_PORT
    urc_filter: Callable[[bytes], bool] | None = None

    def keeps(self, urc: bytes) -> bool:
        return self.urc_filter is None or self.urc_filter(urc)
