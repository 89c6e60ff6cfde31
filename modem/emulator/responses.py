"""Byte framing of the module's answers (V.25ter verbose mode, as EC2x sends them).

An information response is ``\\r\\n<line>\\r\\n`` with single CR LF between
lines, then ``\\r\\nOK\\r\\n``; ``+CME ERROR`` follows ``AT+CMEE``.
"""

from __future__ import annotations

from .manual import CME_TEXT

OK = b"\r\nOK\r\n"
ERROR = b"\r\nERROR\r\n"
CONNECT = b"\r\nCONNECT\r\n"
NO_CARRIER = b"\r\nNO CARRIER\r\n"
SEND_OK = b"\r\nSEND OK\r\n"
SEND_FAIL = b"\r\nSEND FAIL\r\n"
PROMPT = b"\r\n> "


def info(*lines: str | bytes) -> bytes:
    """Information lines followed by OK."""
    body = b"\r\n".join(x.encode("latin-1") if isinstance(x, str) else x for x in lines)
    return b"\r\n" + body + b"\r\n" + OK if lines else OK


def cme_error(cmee: int, code: int) -> bytes:
    """``+CME ERROR`` in the form ``AT+CMEE`` chose (0: plain ERROR)."""
    if cmee == 0:
        return ERROR
    if cmee == 2:
        return b"\r\n+CME ERROR: %s\r\n" % CME_TEXT.get(code, "unknown").encode()
    return b"\r\n+CME ERROR: %d\r\n" % code
