"""Opening the module's AT port: the first time, and again on every reopen.

``Modem.open`` calls its ``open_stream`` again each time the driver reopens
the device (after the module vanished, restarted or was re-enumerated), so
what is opened is decided here, every time:

* ``--device PATH``: that path, as given.  A ``/dev/serial/by-id/...`` path
  is a symlink the kernel points at whichever ``ttyUSBn`` the module's AT
  interface got this time; the path is handed to the OS unresolved at each
  open, so the module is found again after USB re-enumeration.  (A bare
  ``/dev/ttyUSB2`` is not: after re-enumeration it may be another
  interface, or nothing.)
* no ``--device``: the first open uses the port discovery found at start;
  every reopen runs discovery again (``proxy.modems.port_discovery``), so a module
  that comes back as ``/dev/ttyUSB6`` is found.  When discovery finds
  nothing (yet) the open fails with ``PortLost``, a ``DeviceError``, and the
  driver retries with backoff.

Evidence that this happens to real modules (public issue threads): a
Quectel EP06-E that reboots comes back with its ttyUSB ports remapped
(github.com/Kodo-kakaku/luci-app-gpoint/issues/27); after a USB reset the
``...-if02-port0`` by-id link of a modem pointed at ttyUSB3 instead of
ttyUSB2, and a program opening the by-id path recovered
(github.com/gammu/gammu/issues/198); with two EC25s plugged in, one's AT
port (interface 2 of its own) was ttyUSB6 (github.com/yibaiba/hideck/pull/21).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import trio

from modem.core.commands import DEFAULT_LINE_BAUD
from modem.link.serial_stream import SerialStream, open_serial_stream
from proxy.errors import PortLost, PortNotFound
from proxy.logging_setup import NOTICE, kv

__all__ = ["PortOpener"]

log = logging.getLogger("proxy.device")


class PortOpener:
    """The ``open_stream`` callable for ``Modem.open``.

    ``path`` is the device to open first (``--device``, or what discovery
    found at start).  ``discover`` (``port_discovery.find_at_port`` when
    there was no ``--device``; tests feed their own candidates) is called
    before every later open and returns the path to open, or raises
    ``PortNotFound``.  ``path`` is always the path last opened or found.
    """

    def __init__(self, path: str, *, discover: Callable[[], str] | None = None,
                 baudrate: int = DEFAULT_LINE_BAUD, rtscts: bool = False) -> None:
        self.path = path
        self._discover = discover
        self._baudrate = baudrate
        self._rtscts = rtscts
        self.opens = 0

    async def __call__(self) -> SerialStream:
        if self.opens and self._discover is not None:
            try:
                found = await trio.to_thread.run_sync(self._discover)
            except PortNotFound as exc:
                raise PortLost(self.path, str(exc)) from exc
            if found != self.path:
                log.log(NOTICE, "module's AT port found at a new path",
                        extra=kv(was=self.path, now=found))
                self.path = found
        self.opens += 1
        return await open_serial_stream(self.path, baudrate=self._baudrate,
                                        rtscts=self._rtscts)
