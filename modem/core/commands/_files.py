"""File commands of Quectel's FILE AT Commands Manual (sans-I/O).

``AT+QFUPL`` (and the checksum it reports), ``AT+QFLST``, ``AT+QFDEL``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from modem.core.at_command import Command, Framing
from modem.core.commands._fields import (
    BLANK,
    DEFAULT_TIMEOUT,
    check_int,
    info_fields,
    int_field,
    unreadable,
)

_FILE_BASE = re.compile(r"[A-Za-z0-9_.\-]+")
_FILE_PATTERN = re.compile(r"[A-Za-z0-9_.\-*?]+")
_STORAGES = ("UFS", "RAM")
_MAX_FILE_NAME = 80


def _split_storage(name: str) -> tuple[str | None, str]:
    head, sep, tail = name.partition(":")
    if sep and head.upper() in _STORAGES:
        return head.upper(), tail
    return None, name


def check_file_name(what: str, name: object, pattern: re.Pattern[str] = _FILE_BASE) -> str:
    """``[UFS:|RAM:]name``: at most 80 bytes; the name part of letters, digits, ``_.-``."""
    if not isinstance(name, str):
        raise ValueError(f"{what} must be a str, got {name!r}")
    _storage, base = _split_storage(name)
    if len(name) > _MAX_FILE_NAME:
        raise ValueError(f"{what} must be at most {_MAX_FILE_NAME} characters, got {len(name)}")
    if not pattern.fullmatch(base):
        allowed = "letters, digits, '_', '.', '-'" + (
            ", '*', '?'" if pattern is _FILE_PATTERN else ""
        )
        raise ValueError(f"{what} {name!r} must be [UFS:|RAM:]<name> with a name of {allowed}")
    return name


def qfupl_checksum(data: bytes) -> int:
    """The 16-bit checksum ``AT+QFUPL`` reports for ``data``.

    The XOR of the data read as big-endian 16-bit words; an odd trailing
    byte is the high byte of a last word whose low byte is 0.  Sources:
    Quectel's FILE AT Commands Manuals (BG96 and UGxx editions, AT+QFUPL
    note 2: "a 16 bit checksum based on bitwise XOR. If the number of the
    characters is odd, set the last character as the high 8 bit, and the low
    8 bit as 0"), e.g. https://www.manualslib.com/manual/2349421/
    Quectel-Wcdma-Ug-File-Series.html?page=10, and the Quectel forum thread
    https://forums.quectel.com/t/qfupl-how-is-the-checksum-calculated/23599
    (Python reading 2-byte big-endian words, zero-padding the last).
    """
    buf = bytes(data)
    if len(buf) % 2:
        buf += b"\x00"
    acc = 0
    for i in range(0, len(buf), 2):
        acc ^= (buf[i] << 8) | buf[i + 1]
    return acc


def qfupl(name: str, size: int, timeout: int = 5) -> Command:
    """``AT+QFUPL="<name>",<size>,<timeout>``: upload a file (FILE manual, AT+QFUPL).

    The module answers ``CONNECT``, takes exactly ``size`` bytes, then
    ``+QFUPL: <size>,<checksum>`` and ``OK``.  ``timeout`` (1-65535 s) is
    how long the module waits for data.  The command's own timeout allows
    the module's wait, the transfer at 9600 baud (960 bytes/s) and 5 s.
    The ACK mode is not used.
    """
    check_file_name("file name", name)
    n = check_int("upload size", size, 1, 0x7FFFFFFF)
    t = check_int("upload timeout", timeout, 1, 65535)
    return Command(
        f'AT+QFUPL="{name}",{n},{t}',
        info_prefixes=("+QFUPL",),
        framing=Framing.CONNECT_PAYLOAD,
        payload_len=n,
        timeout=t + n / 960 + 5.0,
    )


#: The module's upload wait never goes below the firmware default.
UPLOAD_WAIT_FLOOR = 5
#: Slack over the pure transfer time at the line rate (the host's writes,
#: USB scheduling, the module's flash).
UPLOAD_WAIT_MARGIN = 1.5
#: The line rate assumed when none is known (the proxy's default --baud).
DEFAULT_LINE_BAUD = 115200


def upload_wait(size: int, baud: int | None) -> int:
    """The ``<timeout>`` for ``AT+QFUPL`` of ``size`` bytes on a ``baud`` line (8N1).

    ``baud`` is a lower bound on the speed: a USB port's nominal rate means
    nothing and USB is faster, so the wait is generous there and right on a
    UART.  ``UPLOAD_WAIT_MARGIN`` times the transfer time plus the floor,
    at most 65535 s.
    """
    n = check_int("upload size", size, 1, 0x7FFFFFFF)
    rate = check_int("line baud", baud or DEFAULT_LINE_BAUD, 300, 100_000_000) / 10
    return min(65535, math.ceil(UPLOAD_WAIT_FLOOR + UPLOAD_WAIT_MARGIN * n / rate))


@dataclass(frozen=True, slots=True)
class UploadResult:
    """``+QFUPL: <upload_size>,<checksum>``.

    ``checksum`` is the value read as hex (how firmware prints it, e.g.
    ``2d19``), unless that exceeds 16 bits, when it must be decimal.
    ``checksum_text`` is the field as printed; ``matches`` compares under
    both readings.
    """

    size: int
    checksum: int
    checksum_text: str = ""

    def matches(self, data: bytes) -> bool:
        """True when ``data`` has this size and checksum."""
        if len(data) != self.size:
            return False
        want = qfupl_checksum(data)
        if want == self.checksum:
            return True
        return self.checksum_text.isdigit() and int(self.checksum_text) == want


def parse_qfupl(text: str) -> UploadResult:
    """``+QFUPL: 1187,2d19`` (hex, with or without ``0x``, or decimal)."""
    fields = info_fields(text, "+QFUPL")
    size = int_field(text, fields, 0, "upload size")
    if len(fields) != 2:
        raise unreadable(text, "want <upload_size>,<checksum>")
    # split_fields reads an all-digit field as decimal; take the token as printed.
    token = text.strip("\r\n").split(",", 1)[1].strip(BLANK).strip('"')
    digits = token[2:] if token[:2] in ("0x", "0X") else token
    try:
        value = int(digits, 16)
    except ValueError:
        raise unreadable(text, f"checksum {token!r} is neither hex nor decimal") from None
    if value > 0xFFFF and token.isdigit():
        value = int(token)
    if value > 0xFFFF:
        raise unreadable(text, f"checksum {token!r} exceeds 16 bits")
    return UploadResult(size, value, token)


def qflst(pattern: str = "*") -> Command:
    """``AT+QFLST="<pattern>"``: list files (``*`` UFS, ``RAM:*`` RAM)."""
    check_file_name("file pattern", pattern, _FILE_PATTERN)
    return Command(f'AT+QFLST="{pattern}"', info_prefixes=("+QFLST",), timeout=DEFAULT_TIMEOUT)


@dataclass(frozen=True, slots=True)
class FileEntry:
    """``+QFLST: "<name>",<size>``; UFS names usually come without a prefix."""

    name: str
    size: int

    @property
    def storage(self) -> str:
        """``"UFS"`` or ``"RAM"`` (UFS when the name has no prefix)."""
        return _split_storage(self.name)[0] or "UFS"

    @property
    def bare_name(self) -> str:
        """The name without its storage prefix."""
        return _split_storage(self.name)[1]


def parse_qflst(text: str) -> FileEntry:
    """``+QFLST: "cacert.pem",1758``."""
    fields = info_fields(text, "+QFLST")
    if len(fields) < 2 or not isinstance(fields[0], str) or not fields[0]:
        raise unreadable(text, 'want "<name>",<size>')
    return FileEntry(fields[0], int_field(text, fields, 1, "file size"))


def qfdel(name: str) -> Command:
    """``AT+QFDEL="<name>"``: delete a file."""
    check_file_name("file name", name)
    return Command(f'AT+QFDEL="{name}"', timeout=DEFAULT_TIMEOUT)


