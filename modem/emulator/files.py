"""The module's file system: ``UFS:`` (flash, survives restart) and ``RAM:``.

Error codes follow the Quectel FILE AT Commands Manual ("Summary of Error
Codes"): 405 file not found, 406 invalid file name, 407 file already
existed, 421 time out.
"""

from __future__ import annotations

import fnmatch

from modem.commands import qfupl_checksum

__all__ = ["FileStore", "qfupl_checksum"]

FILE_NOT_FOUND = 405
INVALID_FILE_NAME = 406
FILE_EXISTS = 407
FILE_TIMEOUT = 421

FILE_ERROR_TEXT = {
    400: "Invalid input value",
    405: "File not found",
    406: "Invalid file name",
    407: "File already existed",
    421: "Time out",
    425: "Invalid parameter",
}


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
