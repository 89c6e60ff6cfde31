"""One name per module, the same on the status page, in ``/metrics``, in log lines
and in the doctor's report, and stable as modules come and go.

A module's name comes from the configuration or from the device, never from
how many modules there are:

* a ``[[modem]]`` table's ``name``; else ``modem<N>`` for the Nth table, the
  Nth ``--device`` or the Nth emulated module (configuration order: a module
  added at the end renames none), and ``modem1`` for the one module of a
  ``--device`` setup;
* a module found by discovery (no ``--device``): ``usb-<USB path>``
  (``usb-1-1.4``), its place on the USB bus, whether one module is found or
  several, so plugging in a second module renames neither.  Moved to another
  USB socket it gets another name; ``[[modem]]`` tables with a ``name`` and a
  ``/dev/serial/by-id`` (or udev) path are for names that follow the module.
  The USB serial number is no identity: Quectel modules report none
  (``SerialNumber=0`` on an EC21) or one shared by every unit (``0000`` on
  an EG810M), so two modules' by-id links can be the same name.

Log lines carry ``modem=<name>`` whenever they are about one module, with one
module as with several: a log search or an alert written for ``modem=modem1``
keeps matching the day a second module is added.  ``MODEM_NAME`` is set in
each module's tasks and each placed connection's task; Trio tasks copy the
context of the task that starts them, so everything a module's
``Modem.open`` starts (supervisor, reader, PDP keeper) and every pump of a
connection placed on it logs with its name.
"""

from __future__ import annotations

import contextvars
import logging

from modem.core.log_fields import FIELDS_ATTRIBUTE

__all__ = ["MODEM_NAME", "ModemNameFilter", "discovered_name", "numbered_name"]

MODEM_NAME: contextvars.ContextVar[str | None] = contextvars.ContextVar("modem_name",
                                                                        default=None)


def numbered_name(n: int) -> str:
    """The name of the ``n``-th configured module (1-based) that has none of its own."""
    return f"modem{n}"


def discovered_name(usb_path: str | None, n: int) -> str:
    """The name of a module discovery found at ``usb_path`` (``1-1.4``); a port
    with no USB path (never seen on a Quectel module) falls back to ``modem<n>``."""
    return f"usb-{usb_path}" if usb_path else numbered_name(n)


class ModemNameFilter(logging.Filter):
    """Adds ``modem=<name>`` to a record's fields when the context names one."""

    def filter(self, record: logging.LogRecord) -> bool:
        name = MODEM_NAME.get()
        if name is not None:
            fields = getattr(record, FIELDS_ATTRIBUTE, None) or {}
            if "modem" not in fields:
                setattr(record, FIELDS_ATTRIBUTE, {"modem": name, **fields})
        return True
