"""Unlocking the SIM: ``AT+CPIN="<pin>"`` (3GPP TS 27.007 8.3) and Quectel's
``AT+QPINC`` (the tries left; Quectel AT Commands Manual) (sans-I/O).

``AT+QPINC="SC"`` answers ``+QPINC: "SC",<pincounter>,<pukcounter>``: the
tries left to enter the (U)SIM PIN and its PUK (seen as ``+QPINC: "SC",3,10``
on a fresh SIM; MuditaOS reads it before every ``AT+CPIN`` on its EG25-G,
github.com/mudita/MuditaOS ``module-services/service-cellular/SimCard.cpp``).
The PIN is a secret: the command's ``log_text`` never carries it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modem.core.at_command import Command
from modem.core.commands._fields import DEFAULT_TIMEOUT, info_fields, int_field, unreadable

SIM_PIN_FACILITY = "SC"
"""``AT+QPINC``'s and ``AT+CLCK``'s name for the (U)SIM PIN."""

_PIN = re.compile(r"[0-9]{4,8}")


def check_pin(pin: str) -> str:
    """``pin`` if it is 4 to 8 digits (27.007: a SIM PIN); the ``ValueError``
    never quotes it."""
    if not isinstance(pin, str) or not _PIN.fullmatch(pin):
        raise ValueError("a SIM PIN is 4 to 8 digits")
    return pin


def cpin_enter(pin: str) -> Command:
    """``AT+CPIN="<pin>"``: answers ``OK``, or ``+CME ERROR: 16`` (incorrect
    password) and one try less.  Logs show ``AT+CPIN="****"``."""
    return Command(f'AT+CPIN="{check_pin(pin)}"', timeout=DEFAULT_TIMEOUT,
                   log_text='AT+CPIN="****"')


def qpinc() -> Command:
    """``AT+QPINC="SC"``: the tries left for the SIM's PIN and PUK."""
    return Command(f'AT+QPINC="{SIM_PIN_FACILITY}"', info_prefixes=("+QPINC",),
                   timeout=DEFAULT_TIMEOUT)


@dataclass(frozen=True, slots=True)
class PinCounters:
    """Tries left: ``pin`` (3 on a SIM with no failed try) and ``puk`` (10)."""

    pin: int
    puk: int


def parse_qpinc(text: str) -> PinCounters:
    """``+QPINC: "SC",3,10`` -> ``PinCounters(3, 10)``; another facility's line
    (``"P2"``) raises ``ValueError``."""
    fields = info_fields(text, "+QPINC")
    if not fields or str(fields[0]).upper() != SIM_PIN_FACILITY:
        raise unreadable(text, f'want the "{SIM_PIN_FACILITY}" counters')
    return PinCounters(int_field(text, fields, 1, "PIN tries"),
                       int_field(text, fields, 2, "PUK tries"))
