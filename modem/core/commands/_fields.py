"""The field syntax of AT command lines and answers, and the common timeouts.

What every builder and parser of ``modem.core.commands`` shares: splitting an
argument list (``split_fields``), quoting a string (``quote``), the range
checks whose ``ValueError`` names the parameter, the value and the allowed
range, and reading the fields of one information line.

Timeouts: where a manual gives a maximum response time of 300 ms we allow
``QUICK_TIMEOUT`` (1 s) for the serial line and a busy module; where it
gives none we use ``DEFAULT_TIMEOUT`` (5 s).  The long ones are the
manuals' own and sit with their commands.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

QUICK_TIMEOUT = 1.0
"""For commands whose manual maximum response time is 300 ms."""

DEFAULT_TIMEOUT = 5.0
"""For commands whose manual gives no maximum response time."""


DECIMAL = re.compile(r"-?[0-9]+")
HEX = re.compile(r"0[xX][0-9A-Fa-f]+")
BLANK = " \t"


def split_fields(text: str) -> list[str | int]:
    """Split a comma-separated AT argument list, honouring double quotes.

    A quoted field becomes the ``str`` between the quotes (commas and
    spaces inside are kept; AT has no escapes, so the next ``"`` ends it).
    A bare field is stripped of blanks and becomes an ``int`` when it is
    decimal (``-5``, ``8010``) or ``0x``/``0X`` hex (``0xC02F``), else a
    ``str``.  A parenthesised group (``(0-5)``, ``(0X0035,0X002F)``,
    ``("off","on")``) is one bare ``str`` field, commas and all.  An
    empty field (``1,,2``) is ``""``; an empty text is no fields.

    ``ValueError`` for an unterminated quote, a quote inside a bare field,
    text after a closing quote, or unbalanced parentheses.
    """
    n = len(text)
    fields: list[str | int] = []
    if not text.strip(BLANK):
        return fields
    i = 0
    while True:
        while i < n and text[i] in BLANK:
            i += 1
        if i < n and text[i] == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise ValueError(f"unterminated quoted string at column {i} in {text!r}")
            fields.append(text[i + 1 : end])
            i = end + 1
            while i < n and text[i] in BLANK:
                i += 1
            if i < n and text[i] != ",":
                raise ValueError(
                    f"unexpected {text[i]!r} after a quoted string at column {i} in {text!r}"
                )
        else:
            start = i
            depth = 0
            while i < n:
                c = text[i]
                if c == '"':
                    if depth == 0:
                        raise ValueError(
                            f"quote inside an unquoted field at column {i} in {text!r}"
                        )
                    end = text.find('"', i + 1)
                    if end < 0:
                        raise ValueError(f"unterminated quoted string at column {i} in {text!r}")
                    i = end + 1
                    continue
                if c == "(":
                    depth += 1
                elif c == ")":
                    depth -= 1
                    if depth < 0:
                        raise ValueError(f"unbalanced ')' at column {i} in {text!r}")
                elif c == "," and depth == 0:
                    break
                i += 1
            if depth:
                raise ValueError(f"unbalanced '(' in {text!r}")
            fields.append(_bare(text[start:i].strip(BLANK)))
        if i >= n:
            return fields
        i += 1  # the comma


def _bare(token: str) -> str | int:
    if DECIMAL.fullmatch(token):
        return int(token)
    if HEX.fullmatch(token):
        return int(token, 16)
    return token


def quote(value: str, name: str = "string") -> str:
    """``value`` in double quotes; ``ValueError`` unless it is printable ASCII without ``"``."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a str, got {value!r}")
    for ch in value:
        if ch == '"':
            raise ValueError(f"{name} {value!r} holds a double quote, which AT cannot carry")
        if not " " <= ch <= "~":
            raise ValueError(
                f"{name} {value!r} holds {ch!r}; only printable ASCII (0x20-0x7E) is allowed"
            )
    return f'"{value}"'


def hex4(value: int) -> str:
    """``0x`` and four upper-case hex digits, unquoted, as firmware wants (``0xC02F``)."""
    return f"0x{value:04X}"


def check_int(name: str, value: object, lo: int, hi: int) -> int:
    """``value`` if it is an int (not a bool) in ``lo``-``hi``, else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int in {lo}-{hi}, got {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be in {lo}-{hi}, got {value}")
    return value


def check_choice(name: str, value: object, allowed: Sequence[int]) -> int:
    """``value`` if it is one of the ints ``allowed``, else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
        shown = ", ".join(str(a) for a in allowed)
        raise ValueError(f"{name} must be one of {shown}, got {value!r}")
    return value


def check_flag(name: str, value: object) -> int:
    """0 or 1 for a bool (or an int 0/1), else ``ValueError``."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and value in (0, 1):
        return value
    raise ValueError(f"{name} must be a bool (or 0/1), got {value!r}")


def check_text(name: str, value: object, max_len: int, *, empty_ok: bool = True) -> str:
    """``value`` if ``quote`` can carry it and it is at most ``max_len`` long."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a str, got {value!r}")
    if not value and not empty_ok:
        raise ValueError(f"{name} must not be empty")
    if len(value) > max_len:
        raise ValueError(f"{name} must be at most {max_len} characters, got {len(value)}")
    quote(value, name)
    return value


def info_fields(text: str, prefix: str) -> list[str | int]:
    """The fields of information line ``text``, which must start with ``prefix:``."""
    if not isinstance(text, str):
        raise ValueError(f"expected a {prefix} line, got {text!r}")
    line = text.strip("\r\n")
    head = prefix + ":"
    if not line.startswith(head):
        raise ValueError(f"expected a {prefix} line, got {text!r}")
    try:
        return split_fields(line[len(head) :])
    except ValueError as exc:
        raise ValueError(f"cannot read {text!r}: {exc}") from None


def unreadable(text: str, why: str) -> ValueError:
    """The error a parser raises for line ``text``."""
    return ValueError(f"cannot read {text!r}: {why}")


def int_field(text: str, fields: Sequence[str | int], index: int, what: str) -> int:
    """Field ``index`` of line ``text`` as an int; ``ValueError`` naming ``what`` if it is none."""
    if index >= len(fields) or not isinstance(fields[index], int):
        raise unreadable(text, f"{what} (field {index + 1}) is not a number")
    return int(fields[index])

