"""A map's allow list: the client addresses and networks its listener serves.

``allow = ["10.0.0.0/8", "192.168.1.7", "fd00::/8"]`` in a ``[[map]]`` table
(or ``--allow`` for every TCP map): a client whose address is in none of
them is reset at once (``proxy.ops.listeners.refuse``) and counted; it never
takes a module socket or a place in the queue.  Entries are IPv4 or IPv6
addresses and CIDR networks; host names are not resolved.  A client that
reaches an IPv6 listener with an IPv4-mapped address (``::ffff:10.1.2.3``)
matches the IPv4 rules.  A Unix-socket map takes no allow list: the socket
file's permissions decide who connects.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from proxy.errors import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_EXAMPLE = 'e.g. allow = ["10.0.0.0/8", "192.168.1.7"]'


@dataclass(frozen=True)
class AllowList:
    """The networks a map serves (a single address is a /32 or /128 network)."""

    networks: tuple[Network, ...]

    def admits(self, address: Address) -> bool:
        """True when ``address`` is in one of the networks."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    @property
    def entries(self) -> list[str]:
        """The networks as a user writes them (a lone address without its prefix)."""
        return [str(n.network_address) if n.prefixlen == n.max_prefixlen else str(n)
                for n in self.networks]

    def __str__(self) -> str:
        return ", ".join(self.entries)


def parse_network(text: str, what: str) -> Network:
    """One entry: an address or a network in CIDR form."""
    entry = text.strip()
    try:
        return ipaddress.ip_network(entry)
    except ValueError:
        pass
    try:
        wide = ipaddress.ip_network(entry, strict=False)
    except ValueError:
        raise ConfigError(f"{what}: {entry!r} is neither an IP address nor a network; "
                          f"write addresses or CIDR networks (names are not resolved), "
                          f"{_EXAMPLE}") from None
    raise ConfigError(f"{what}: {entry!r} has bits set past its /{wide.prefixlen}; "
                      f"write {wide} for the whole network, or the address alone")


def parse_allow(items: Iterable[str], what: str) -> AllowList:
    """An allow list from its entries (a flag's comma-separated values are split first)."""
    entries = [part for item in items for part in str(item).split(",") if part.strip()]
    if not entries:
        raise ConfigError(f"{what}: an empty allow list would refuse every client; give "
                          f"addresses or networks ({_EXAMPLE}), or leave it out to serve "
                          "every client")
    return AllowList(tuple(dict.fromkeys(parse_network(entry, what) for entry in entries)))
