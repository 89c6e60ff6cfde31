"""Parameters of an AT command line, as firmware reads them.

``split_fields('"sslversion",1,0xC02F')`` -> ``["sslversion", 1, 0xC02F]``.
Quoted fields are strings (no escapes, as on Quectel firmware), bare
decimals and ``0x``/``0X`` hex are ints, an empty field is ``None``.  A bare
word that is no number is a syntax error.  A quoted hex value stays a string,
so commands that want a number reject it, as real modules do.

(``modem.core.commands.split_fields`` serves the host side and keeps bare words
as strings; the module must tell a quoted string from a bare word, hence
this stricter parser.)
"""

from __future__ import annotations

import re

#: Parsed parameters: quoted strings, numbers, None for an empty field.
Fields = list[str | int | None]

_NUMBER = re.compile(r"^(?:0[xX][0-9a-fA-F]+|[0-9]+)$")


class ParamError(ValueError):
    """The parameters do not fit the command: the module answers ERROR."""


def split_fields(text: str) -> Fields:
    fields: Fields = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] == " ":
            i += 1
        if i < n and text[i] == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise ParamError("unterminated string")
            fields.append(text[i + 1 : end])
            i = end + 1
            while i < n and text[i] == " ":
                i += 1
            if i < n and text[i] != ",":
                raise ParamError("text after string")
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            word = text[i:end].strip()
            if not word:
                fields.append(None)
            elif _NUMBER.match(word):
                fields.append(int(word, 16) if word[:2] in ("0x", "0X") else int(word))
            else:
                raise ParamError(f"bad field {word!r}")
            i = end
        if i >= n:
            return fields
        i += 1  # the comma


def int_field(fields: Fields, index: int, lo: int, hi: int, default: int | None = None) -> int:
    """The int at ``index`` within ``lo..hi``; ``default`` when omitted."""
    value = fields[index] if index < len(fields) else None
    if value is None:
        if default is None:
            raise ParamError(f"field {index} missing")
        return default
    if not isinstance(value, int) or not lo <= value <= hi:
        raise ParamError(f"field {index} out of range")
    return value


def str_field(fields: Fields, index: int, default: str | None = None) -> str:
    """The quoted string at ``index``; ``default`` when omitted."""
    value = fields[index] if index < len(fields) else None
    if value is None:
        if default is None:
            raise ParamError(f"field {index} missing")
        return default
    if not isinstance(value, str):
        raise ParamError(f"field {index} not a string")
    return value
