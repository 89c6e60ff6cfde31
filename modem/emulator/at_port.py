"""``AtPort``: one AT command interpreter's way into the module.

A real module has several: the USB AT port (``usbat``), the USB modem port
(``usbmodem``), the main UART (``uart1``), and under ``AT+CMUX`` each DLC
of the multiplexer is one more.  They share the module (sockets, PDP and
SSL contexts, files, the clock), and each keeps what V.25ter makes per
port: echo, the ``AT&D`` setting, the socket ``ATO`` returns to, whether it
is in data mode.  ``name`` is what ``AT+QURCCFG="urcport"`` and
``+QSSLSTATE``'s ``<AT_port>`` call it; the DLCs of a multiplexer carry
the name of the port they run on (a guess: no log shows ``+QSSLSTATE``
under CMUX).

DTR: a pty carries none, so a port of its own always sees DTR on; a DLC's
DTR is the RTC bit of the host's MSC for it (27.010 5.4.6.3.7).
"""

from __future__ import annotations

import trio

from .line import HostLine

#: ``AT&D`` values (V.25ter 6.2.9): what a DTR drop does in data mode.
DTR_IGNORED, DTR_TO_COMMAND_MODE, DTR_HANG_UP = 0, 1, 2


class AtPort:
    """One AT port: its line and its per-port settings."""

    def __init__(self, name: str, line: HostLine, *, dlci: int | None = None) -> None:
        self.name = name
        self.line = line
        self.dlci = dlci
        self.echo = True
        self.dtr_mode = DTR_HANG_UP  # V.25ter's factory default; the SSL manual asks for &D1
        self.last_transparent: int | None = None
        self.data_mode = False
        self.muxed = False  # its line carries the multiplexer (AT+CMUX ran on it)
        self._dtr = True
        self._dtr_lot = trio.lowlevel.ParkingLot()

    def __repr__(self) -> str:
        where = f" DLC {self.dlci}" if self.dlci is not None else ""
        return f"<AtPort {self.name}{where}>"

    @property
    def dtr(self) -> bool:
        return self._dtr

    def set_dtr(self, on: bool) -> None:
        """The host's DTR for this port changed (an MSC on a DLC)."""
        self._dtr = on
        self._dtr_lot.unpark_all()

    async def wait_dtr_drop(self) -> None:
        """Until DTR goes from on to off (returns at once while it is off)."""
        while self._dtr:
            await self._dtr_lot.park()
