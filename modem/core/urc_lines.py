"""The URC lines other than ``+QSSLURC`` (sans-I/O): what each means, or None.

``+QSSLOPEN: <id>,<err>`` (manual 2.1.2), ``+QIURC: "pdpdeact",<ctx>``
(the TCP/IP manual), ``RDY`` and ``POWERED DOWN``.  ``+QSSLURC`` lines are
the protocol's own business (``modem.core.protocol``): a push header among
them announces raw bytes.
"""

from __future__ import annotations

import re

from modem.core import events as ev

__all__ = ["known_urc"]

# ASCII digits only and short (``str.isdigit`` accepts "²", which ``int`` rejects).
_NUM = r"([0-9]{1,12})"
_SSLOPEN = re.compile(rf"^\+QSSLOPEN:\s*{_NUM}\s*,\s*(-?[0-9]{{1,12}})\s*$")
_QIURC = re.compile(rf'^\+QIURC:\s*"(\w+)"\s*(?:,\s*{_NUM})?')


def known_urc(text: str) -> ev.Event | None:
    """The event of a URC other than ``+QSSLURC``, or None when it is no known URC."""
    if text.startswith("+QSSLOPEN:"):
        m = _SSLOPEN.match(text)
        return ev.SslOpened(int(m.group(1)), int(m.group(2))) if m else None
    if text.startswith("+QIURC:"):
        m = _QIURC.match(text)
        if m and m.group(1) == "pdpdeact" and m.group(2) is not None:
            return ev.PdpDeactivated(int(m.group(2)))
        return ev.UnknownUrc(text)
    if text == "RDY":
        return ev.ModuleReady()
    if text == "POWERED DOWN":
        return ev.ModulePoweredDown()
    return None
