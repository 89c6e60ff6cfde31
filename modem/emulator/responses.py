"""Byte framing of the module's answers (V.25ter verbose mode, as EC2x sends them).

An information response is ``\\r\\n<line>\\r\\n`` with single CR LF between
lines, then ``\\r\\nOK\\r\\n``; ``+CME ERROR`` follows ``AT+CMEE``.
"""

from __future__ import annotations

from .files import FILE_ERROR_TEXT

OK = b"\r\nOK\r\n"
ERROR = b"\r\nERROR\r\n"
CONNECT = b"\r\nCONNECT\r\n"
NO_CARRIER = b"\r\nNO CARRIER\r\n"
SEND_OK = b"\r\nSEND OK\r\n"
SEND_FAIL = b"\r\nSEND FAIL\r\n"
PROMPT = b"\r\n> "

CME_TEXT = {
    3: "operation not allowed",
    4: "operation not supported",
    10: "SIM not inserted",
    50: "incorrect parameters",
    **FILE_ERROR_TEXT,
}

#: AT+QIGETERROR texts (manual chapter 5, "Summary of Error Codes").
IP_ERROR_TEXT = {
    0: "Operation successful",
    550: "Unknown error",
    551: "Operation blocked",
    552: "Invalid parameter",
    553: "Memory not enough",
    554: "Create socket failed",
    555: "Operation not supported",
    556: "Socket bind failed",
    557: "Socket listen failed",
    558: "Socket write failed",
    559: "Socket read failed",
    560: "Socket accept failed",
    561: "Open PDP context failed",
    562: "Close PDP context failed",
    563: "Socket identity has been used",
    564: "DNS busy",
    565: "DNS parse failed",
    566: "Socket connection failed",
    567: "Socket has been closed",
    568: "Operation busy",
    569: "Operation timeout",
    570: "PDP context break down",
    571: "Cancel send",
    572: "Operation not allowed",
    573: "APN not configured",
    574: "Port busy",
}


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
