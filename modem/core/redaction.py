"""Keeping secrets out of logs and shared answers.

The APN password is the one secret that travels as AT text (``AT+QICSGP``
set form and the ``+QICSGP:`` query answer, TCP/IP manual); key material
only travels as ``AT+QFUPL`` payload, which is never shown.
"""

from __future__ import annotations

import re

_QICSGP_SECRET = re.compile(
    r'((?:AT)?\+QICSGP(?:=\s*\d+\s*,\s*\d+|:\s*\d+)'
    r'\s*,\s*"[^"]*"\s*,\s*"[^"]*"\s*,\s*)"[^"]*"',
    re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with every APN password (``AT+QICSGP`` set or answer) as ``***``."""
    return _QICSGP_SECRET.sub(r'\1"***"', text)
