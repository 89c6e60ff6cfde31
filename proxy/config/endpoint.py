"""Addresses in the settings: ``Endpoint`` (host and TCP port), ``UnixAddress`` (a
socket file), ``ListenAddress`` (where a map listens: either), ``is_ip``, ``LOCALHOST``."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

LOCALHOST = "127.0.0.1"
"""Where a bare port listens (``--map 9000=...``, ``--status 8080``)."""


def is_ip(host: str) -> bool:
    """True for an IPv4 or IPv6 literal."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Endpoint:
    """A host (name or IP literal, IPv6 without brackets) and a TCP port."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def is_ip(self) -> bool:
        return is_ip(self.host)

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


@dataclass(frozen=True)
class UnixAddress:
    """A Unix socket file a map listens on (``--map unix:PATH=HOST:PORT``).

    Only this host reaches it, and only the users its permissions let in:
    the file is mode 0660, the proxy's user and group
    (``proxy.ops.unix_listener``), so it takes no allow list.
    """

    path: Path

    def __str__(self) -> str:
        return f"unix:{self.path}"

    @property
    def is_loopback(self) -> bool:
        """Always true: no other host can connect to a socket file."""
        return True


ListenAddress = Endpoint | UnixAddress
"""Where a map listens: a TCP address (IPv4 or IPv6) or a Unix socket file."""
