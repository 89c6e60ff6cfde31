"""The module's fixed limits, as the SSL AT Commands Manual gives them (sans-I/O).

One source for the driver and the proxy: the command builders range-check
against these, ``SslSocket`` cuts and reads by them, the client-ID pool and
``--max-connections`` are sized by them, the bring-up counts SSL contexts
with them.  The emulator keeps its own transcription of the manual on
purpose (``modem/emulator``): a limit copied wrong here must not be
confirmed by the module we test against.

The 550-574 error codes and their meanings live in ``modem.core.errors`` (one
class per code); this module holds numbers and the cipher table only.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ALL_CIPHER_SUITES",
    "CIPHER_SUITES",
    "CLIENT_IDS",
    "MAX_RECV",
    "MAX_SEND",
    "SSL_CONTEXTS",
]

MAX_SEND: Final = 1460
"""Bytes one ``AT+QSSLSEND=<id>,<len>`` carries at most (manual 2.1.3)."""

MAX_RECV: Final = 1500
"""Bytes one ``AT+QSSLRECV=<id>,<len>`` returns at most (manual 2.1.4)."""

CLIENT_IDS: Final = 12
"""Sockets the module holds at once: ``<clientID>`` 0-11 (manual 2.1.2)."""

SSL_CONTEXTS: Final = 6
"""SSL contexts the module holds: ``<SSL_ctxID>`` 0-5 (manual 2.1.1)."""

ALL_CIPHER_SUITES: Final = 0xFFFF
"""The ``ciphersuite`` value that enables every suite of Table 2."""

CIPHER_SUITES: Final[dict[int, str]] = {
    0x0035: "TLS_RSA_WITH_AES_256_CBC_SHA",
    0x002F: "TLS_RSA_WITH_AES_128_CBC_SHA",
    0x0005: "TLS_RSA_WITH_RC4_128_SHA",
    0x0004: "TLS_RSA_WITH_RC4_128_MD5",
    0x000A: "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    0x003D: "TLS_RSA_WITH_AES_256_CBC_SHA256",
    0xC002: "TLS_ECDH_ECDSA_WITH_RC4_128_SHA",
    0xC003: "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA",
    0xC004: "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA",
    0xC005: "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA",
    0xC007: "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    0xC008: "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA",
    0xC009: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    0xC00A: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    0xC011: "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    0xC012: "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    0xC013: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    0xC014: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    0xC00C: "TLS_ECDH_RSA_WITH_RC4_128_SHA",
    0xC00D: "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA",
    0xC00E: "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA",
    0xC00F: "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA",
    0xC023: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    0xC024: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    0xC025: "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256",
    0xC026: "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384",
    0xC027: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    0xC028: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    0xC029: "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256",
    0xC02A: "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384",
    0xC02F: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ALL_CIPHER_SUITES: "all",
}
"""Manual Table 2 (OCR slips fixed): code -> IANA name; 0xFFFF enables all of them."""
