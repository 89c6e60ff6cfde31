"""Keeping secrets out of logs and shared answers.

Two secrets travel as AT text: the APN password (``AT+QICSGP`` set form and
the ``+QICSGP:`` query answer, TCP/IP manual) and the SIM's PIN and PUK
(``AT+CPIN="<pin>"`` and ``AT+CPIN="<puk>","<new pin>"``, 27.007 8.3, also
when the module echoes the command).  Key material only travels as
``AT+QFUPL`` payload, which is never shown.
"""

from __future__ import annotations

import re

_QICSGP_SECRET = re.compile(
    r'((?:AT)?\+QICSGP(?:=\s*\d+\s*,\s*\d+|:\s*\d+)'
    r'\s*,\s*"[^"]*"\s*,\s*"[^"]*"\s*,\s*)"[^"]*"',
    re.IGNORECASE)


_CPIN_SECRET = re.compile(r'((?:AT)?\+CPIN\s*=\s*)[^\r\n]*', re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with every APN password (``AT+QICSGP`` set or answer) as ``***``
    and whatever follows ``AT+CPIN=`` (a PIN, a PUK and a new PIN) as ``"****"``."""
    return _CPIN_SECRET.sub(r'\1"****"', _QICSGP_SECRET.sub(r'\1"***"', text))


def module_line(text: str, show: bool = False) -> str:
    """A line from the module as the logs show it (redacted); one that is not
    printable ASCII (a server's data read as lines after bytes were lost on the
    line) only as its length, unless ``show`` (``--trace-payload``)."""
    if show or (text.isascii() and text.isprintable()):
        return redact(text)
    return f"[{len(text)} characters, not text]"
