"""The module's file system: ``UFS:`` (flash, survives restart) and ``RAM:``.

Its error codes and their texts are in ``manual.py``.
"""

from __future__ import annotations

import fnmatch
from functools import reduce
from operator import xor

__all__ = ["FileStore", "qfupl_checksum"]


def qfupl_checksum(data: bytes) -> int:
    """The 16-bit checksum ``+QFUPL: <size>,<checksum>`` reports for ``data``.

    FILE AT Commands Manual, AT+QFUPL: "a 16 bit checksum based on bitwise
    XOR. If the number of the characters is odd, set the last character as
    the high 8 bit, and the low 8 bit as 0".  Pairing the bytes into words
    and XOR-ing the words is the same as XOR-ing the bytes at even offsets
    (the high byte of every word) and, apart, the bytes at odd offsets (the
    low byte); a missing last low byte is a 0, which changes no XOR.  The
    emulator computes it this way on purpose, independently of the driver.
    """
    high = reduce(xor, data[0::2], 0)
    low = reduce(xor, data[1::2], 0)
    return high << 8 | low


class FileStore:
    """Files by area; ``UFS`` outlives a module restart, ``RAM`` does not."""

    def __init__(self) -> None:
        self.areas: dict[str, dict[str, bytes]] = {"UFS": {}, "RAM": {}}

    @staticmethod
    def split(name: str) -> tuple[str, str]:
        """``"RAM:x"`` -> ``("RAM", "x")``; no prefix means UFS.  ValueError if invalid."""
        area, sep, base = name.partition(":")
        if not sep:
            area, base = "UFS", name
        area = area.upper()
        if area not in ("UFS", "RAM") or not base or "/" in base or len(base) > 80:
            raise ValueError(name)
        return area, base

    def get(self, name: str) -> bytes | None:
        try:
            area, base = self.split(name)
        except ValueError:
            return None
        return self.areas[area].get(base)

    def exists(self, name: str) -> bool:
        return self.get(name) is not None

    def put(self, name: str, data: bytes) -> None:
        area, base = self.split(name)
        self.areas[area][base] = bytes(data)

    def listing(self, pattern: str) -> list[tuple[str, int]]:
        """``[(full name, size)]`` for a pattern like ``"*"`` or ``"RAM:*.pem"``."""
        area, base = self.split(pattern)
        return [
            (f"{area}:{name}", len(data))
            for name, data in sorted(self.areas[area].items())
            if fnmatch.fnmatchcase(name, base)
        ]

    def delete(self, pattern: str) -> int:
        """Delete matching files; returns how many went."""
        area, base = self.split(pattern)
        doomed = [n for n in self.areas[area] if fnmatch.fnmatchcase(n, base)]
        for name in doomed:
            del self.areas[area][name]
        return len(doomed)

    def lose_ram(self) -> None:
        self.areas["RAM"].clear()
