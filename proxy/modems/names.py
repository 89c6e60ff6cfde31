"""Logs name the modem: a context variable set in each modem's tasks and each
placed connection's task, and a logging filter that adds it as ``modem=``.

Trio tasks copy the context of the task that starts them, so everything a
modem's ``Modem.open`` starts (supervisor, reader, PDP keeper) and every
pump of a connection placed on it logs with its name.  ``shown_name`` is
the one rule for whether a modem is named at all: only when there are
several to tell apart, so a single module's lines read without a name.
"""

from __future__ import annotations

import contextvars
import logging

__all__ = ["MODEM_NAME", "ModemNameFilter", "shown_name"]

MODEM_NAME: contextvars.ContextVar[str | None] = contextvars.ContextVar("modem_name",
                                                                        default=None)
_FIELDS = "kv_fields"  # logging_setup.kv's attribute


def shown_name(name: str, modems: int) -> str | None:
    """How log lines and connection records name modem ``name`` of ``modems``:
    by its name, or not at all (None) when it is the only one."""
    return name if modems > 1 else None


class ModemNameFilter(logging.Filter):
    """Adds ``modem=<name>`` to a record's key=value fields when the context names one."""

    def filter(self, record: logging.LogRecord) -> bool:
        name = MODEM_NAME.get()
        if name is not None:
            fields = getattr(record, _FIELDS, None) or {}
            if "modem" not in fields:
                setattr(record, _FIELDS, {"modem": name, **fields})
        return True
