"""Addresses in the settings: ``Endpoint`` (host and TCP port), ``is_ip``, ``LOCALHOST``."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

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
