"""Resident memory and open file descriptors of this process (Linux ``/proc``)."""

from __future__ import annotations

import os


def _status_kib(field: str, pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


def rss_mb(pid: int | str = "self") -> float:
    """Current resident set size in MiB."""
    return round(_status_kib("VmRSS", pid) / 1024, 1)


def peak_rss_mb(pid: int | str = "self") -> float:
    """Peak resident set size (high-water mark) in MiB."""
    return round(_status_kib("VmHWM", pid) / 1024, 1)


def open_fds(pid: int | str = "self") -> int:
    """Number of open file descriptors."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def fd_kinds(pid: int | str = "self") -> dict[str, int]:
    """Open descriptors by kind (socket, pipe, anon_inode, /dev/pts, file...)."""
    kinds: dict[str, int] = {}
    base = f"/proc/{pid}/fd"
    for name in os.listdir(base):
        try:
            target = os.readlink(f"{base}/{name}")
        except OSError:
            continue
        kind = target.split(":", 1)[0] if ":" in target else (
            "/dev/pts" if target.startswith("/dev/pts") else "file")
        kinds[kind] = kinds.get(kind, 0) + 1
    return dict(sorted(kinds.items()))
