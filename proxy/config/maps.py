"""The maps: ``--map`` flags or ``[[map]]`` tables, with their TLS and idle settings.

Rules (docs/configuration.md says the same for users):

* ``--map`` flags replace the file's ``[[map]]`` tables;
* TLS, idle and access keys at the top of the file are defaults for every
  map, a ``[[map]]`` table may set its own, and a flag overrides both;
* an allow list is for TCP maps: a default (top of the file, ``--allow``)
  leaves the Unix-socket maps alone, whose socket file's permissions decide
  who connects, and a Unix-socket ``[[map]]`` with its own is refused.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from proxy.config.endpoint import Endpoint, ListenAddress, UnixAddress
from proxy.config.model import Mapping, TlsOptions
from proxy.config.parse import parse_endpoint, parse_listen, parse_map
from proxy.config.schema import Group, Place, Setting, Where, read
from proxy.config.settings import SETTINGS
from proxy.errors import ConfigError


def _plain(rows: Sequence[Setting]) -> tuple[Setting, ...]:
    return tuple(row for row in rows if not row.structured)


_TLS = _plain(SETTINGS.where(Place.MAP, Group.TLS))
_DEFAULTS = _plain(SETTINGS.where(Place.TOP, Group.IDLE, Group.ACCESS))
"""The per-map keys other than TLS that the top of the file and flags give every map."""
_MAP_OWN = _plain(SETTINGS.where(Place.MAP, Group.IDLE, Group.ACCESS, Group.MAP))
"""A ``[[map]]``'s keys other than TLS: idle and access keys, ``max-connections``,
``modems``."""
_UNIX_NO_ALLOW = ("a Unix-socket map takes no allow list: its socket file's permissions "
                  "decide who connects (mode 0660: the proxy's user and group)")


def build_maps(flags: MappingABC[str, Any], file: MappingABC[str, Any],
               file_maps: Sequence[MappingABC[str, Any]] | None) -> tuple[Mapping, ...]:
    """The maps, checked; ``file`` is the file's top level (its per-map defaults)."""
    tls = replace(TlsOptions(), **read(_TLS, file))
    defaults = read(_DEFAULTS, file)
    if flags.get("map"):
        maps = [Mapping(*parse_map(spec), tls, **defaults) for spec in flags["map"]]
    else:
        maps = [_from_table(n, entry, tls, defaults)
                for n, entry in enumerate(file_maps or (), 1)]
    if not maps:
        raise ConfigError("give at least one --map [BIND:]LPORT=HOST:RPORT "
                          "(or [[map]] tables in the --config file)")
    tls_flags, own_flags = read(_TLS, flags), read(_DEFAULTS, flags)
    maps = [replace(m, tls=replace(m.tls, **tls_flags), **own_flags) for m in maps]
    maps = _unix_maps_without_allow(maps, "allow" in defaults or "allow" in own_flags)
    check_client_certificates(maps)
    check_listen_addresses(maps)
    return tuple(maps)


def _from_table(n: int, entry: MappingABC[str, Any], tls: TlsOptions,
                defaults: dict[str, Any]) -> Mapping:
    where = Where(f"[[map]] #{n}: ")
    listen = parse_listen(str(entry["listen"]), f"[[map]] #{n} listen")
    if isinstance(listen, UnixAddress) and "allow" in entry:
        raise ConfigError(f"[[map]] #{n}: allow: {_UNIX_NO_ALLOW}; remove allow here")
    remote = parse_endpoint(entry["connect"], f"[[map]] #{n} connect")
    return Mapping(listen, remote, replace(tls, **read(_TLS, entry, where)),
                   **{**defaults, **read(_MAP_OWN, entry, where)})


def _unix_maps_without_allow(maps: list[Mapping], default_allow: bool) -> list[Mapping]:
    """The maps with a default allow list taken off the Unix-socket ones; refused when
    every map is one (the allow list would do nothing)."""
    unix = [isinstance(m.listen, UnixAddress) for m in maps]
    if default_allow and all(unix):
        raise ConfigError(f"--allow: every map listens on a Unix socket file, and {_UNIX_NO_ALLOW}"
                          "; remove allow")
    return [replace(m, allow=None) if is_unix else m for m, is_unix in zip(maps, unix,
                                                                            strict=True)]


def check_client_certificates(maps: Sequence[Mapping]) -> None:
    """A client certificate comes with its key, and not with ``--insecure``."""
    for m in maps:
        what = "" if len(maps) == 1 else f"map {m}: "
        if (m.tls.clientcert is None) != (m.tls.clientkey is None):
            raise ConfigError(f"{what}give --clientcert and --clientkey together")
        if m.tls.insecure and m.tls.clientcert is not None:
            raise ConfigError(f"{what}--insecure cannot be combined with a client certificate "
                              "(the module verifies the server whenever it sends one)")


def check_listen_addresses(maps: Sequence[Mapping]) -> None:
    """Two maps cannot listen on the same address or socket file (port 0: a free
    port each)."""
    seen: set[ListenAddress] = set()
    for m in maps:
        if isinstance(m.listen, Endpoint) and not m.listen.port:
            continue
        if m.listen in seen:
            own = "socket file" if isinstance(m.listen, UnixAddress) else "local port"
            raise ConfigError(f"two maps listen on {m.listen}; give each its own {own}")
        seen.add(m.listen)


def first_map_server(file_maps: Sequence[MappingABC[str, Any]] | None
                     ) -> tuple[str, dict[str, Any]] | None:
    """The first ``[[map]]``'s ``connect`` and its own TLS values (for the doctor's
    ``--host``); None without maps."""
    if not file_maps:
        return None
    first = file_maps[0]
    return str(first["connect"]), read(_TLS, first, Where("[[map]] #1: "))
