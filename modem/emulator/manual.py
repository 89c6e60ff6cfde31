"""The module's fixed numbers and texts, transcribed from the manuals for the emulator.

This deliberately does NOT import ``modem.core.limits`` or ``modem.core.errors``: the
emulator plays the module the driver is tested against, so it keeps its own
reading of the manuals.  A wrong number on the driver's side then shows up as
a failing test instead of being agreed to by both sides.  Keep it in this one
place: the handlers, the sockets and the TLS settings all read it from here.

Sources: the SSL AT Commands Manual (chapter 2 commands, Table 2 cipher
suites, chapter 5 "Summary of Error Codes"), the TCP/IP AT Commands Manual
(PDP contexts 1-16), the FILE AT Commands Manual ("Summary of Error Codes")
and 3GPP TS 27.007 (``+CME ERROR`` texts).
"""

from __future__ import annotations

from typing import Final

# -- SSL sockets (SSL manual 2.1.1-2.1.4, 2.2.1) ----------------------------

#: ``AT+QSSLSEND=<id>,<sendlen>``: 1-1460 bytes (also the ctrl-z form's cap).
MAX_SEND: Final = 1460
#: ``AT+QSSLRECV=<id>,<readlen>``: 1-1500 bytes.
MAX_RECV: Final = 1500
#: Largest payload of one push-mode ``+QSSLURC: "recv",<id>,<len>``.
MAX_PUSH: Final = 1500
#: ``<clientID>`` 0-11.
CLIENT_IDS: Final = range(12)
#: ``<sslctxID>`` 0-5.
SSL_CONTEXT_IDS: Final = range(6)
#: ``<contextID>`` of a PDP context, 1-16 (TCP/IP manual).
PDP_CONTEXT_IDS: Final = range(1, 17)
#: ``<access_mode>``: 0 buffer, 1 push, 2 transparent (SSL manual 1.3).
ACCESS_MODES: Final = range(3)

# -- Table 2: supported cipher suites, code -> OpenSSL name -----------------

CIPHER_SUITES: Final[dict[int, str]] = {
    0x0035: "AES256-SHA",
    0x002F: "AES128-SHA",
    0x0005: "RC4-SHA",
    0x0004: "RC4-MD5",
    0x000A: "DES-CBC3-SHA",
    0x003D: "AES256-SHA256",
    0xC002: "ECDH-ECDSA-RC4-SHA",
    0xC003: "ECDH-ECDSA-DES-CBC3-SHA",
    0xC004: "ECDH-ECDSA-AES128-SHA",
    0xC005: "ECDH-ECDSA-AES256-SHA",
    0xC007: "ECDHE-ECDSA-RC4-SHA",
    0xC008: "ECDHE-ECDSA-DES-CBC3-SHA",
    0xC009: "ECDHE-ECDSA-AES128-SHA",
    0xC00A: "ECDHE-ECDSA-AES256-SHA",
    0xC011: "ECDHE-RSA-RC4-SHA",
    0xC012: "ECDHE-RSA-DES-CBC3-SHA",
    0xC013: "ECDHE-RSA-AES128-SHA",
    0xC014: "ECDHE-RSA-AES256-SHA",
    0xC00C: "ECDH-RSA-RC4-SHA",
    0xC00D: "ECDH-RSA-DES-CBC3-SHA",
    0xC00E: "ECDH-RSA-AES128-SHA",
    0xC00F: "ECDH-RSA-AES256-SHA",
    0xC023: "ECDHE-ECDSA-AES128-SHA256",
    0xC024: "ECDHE-ECDSA-AES256-SHA384",
    0xC025: "ECDH-ECDSA-AES128-SHA256",
    0xC026: "ECDH-ECDSA-AES256-SHA384",
    0xC027: "ECDHE-RSA-AES128-SHA256",
    0xC028: "ECDHE-RSA-AES256-SHA384",
    0xC029: "ECDH-RSA-AES128-SHA256",
    0xC02A: "ECDH-RSA-AES256-SHA384",
    0xC02F: "ECDHE-RSA-AES128-GCM-SHA256",
}
#: ``ciphersuite`` 0xFFFF: every suite of Table 2.
ALL_SUITES: Final = 0xFFFF

# -- AT+QIGETERROR codes (SSL manual chapter 5) ------------------------------

INVALID_PARAMETER: Final = 552
NOT_SUPPORTED: Final = 555
OPEN_PDP_FAILED: Final = 561
SOCKET_ID_USED: Final = 563
DNS_PARSE_FAILED: Final = 565
CONNECTION_FAILED: Final = 566
OPERATION_NOT_ALLOWED: Final = 572

IP_ERROR_TEXT: Final[dict[int, str]] = {
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

# -- Files (FILE manual: AT+QFUPL and "Summary of Error Codes") --------------

#: ``AT+QFUPL`` ``<upload_size>``: 1-10485760 bytes.
MAX_FILE: Final = 10 * 1024 * 1024
FILE_NOT_FOUND: Final = 405
INVALID_FILE_NAME: Final = 406
FILE_EXISTS: Final = 407
FILE_TIMEOUT: Final = 421

FILE_ERROR_TEXT: Final[dict[int, str]] = {
    400: "Invalid input value",
    405: "File not found",
    406: "Invalid file name",
    407: "File already existed",
    421: "Time out",
    425: "Invalid parameter",
}

# -- +CME ERROR texts (3GPP TS 27.007 9.2, plus the FILE codes) -------------

SIM_NOT_INSERTED: Final = 10

CME_TEXT: Final[dict[int, str]] = {
    3: "operation not allowed",
    4: "operation not supported",
    10: "SIM not inserted",
    50: "incorrect parameters",
    **FILE_ERROR_TEXT,
}
