"""Secrets at rest: a config file that holds an APN password or names a client
key, and the SIM's PIN file, should be readable by their owner only, as ssh
insists for private keys.

``exposure_warning`` returns the one line to log (or None); the proxy still
starts, since the file may be shared on purpose (a group of operators).
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_GROUP_OR_OTHERS = stat.S_IRGRP | stat.S_IROTH


def secrets_named(file: Mapping[str, Any]) -> list[str]:
    """What ``file`` (``load_toml``'s result) holds that others must not read."""
    held = []
    if file.get("apn-password"):
        held.append("an APN password")
    tables = [file, *(file.get("map") or [])]
    if any(table.get("clientkey") for table in tables):
        held.append("the path of a client key")
    return held


def exposure_warning(path: str | Path, file: Mapping[str, Any]) -> str | None:
    """The warning for ``path`` when it holds a secret and group or others may
    read it; None when it is private, holds none, or cannot be inspected."""
    held = secrets_named(file)
    if not held:
        return None
    return readable_warning(f"config file {path} holds {' and '.join(held)}", path)


def readable_warning(what: str, path: str | Path) -> str | None:
    """``what`` "is readable by ...: run chmod 600", when group or others may
    read ``path``; None when it is private or cannot be inspected."""
    try:
        mode = stat.S_IMODE(Path(path).stat().st_mode)
    except OSError:
        return None
    if not mode & _GROUP_OR_OTHERS:
        return None
    who = " and ".join(name for bit, name in ((stat.S_IRGRP, "its group"),
                                               (stat.S_IROTH, "other users")) if mode & bit)
    return f"{what} and is readable by {who} (mode {mode:04o}): run chmod 600 {path}"
