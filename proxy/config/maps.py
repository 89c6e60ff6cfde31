"""The maps: ``--map`` flags or ``[[map]]`` tables, with their TLS and idle settings.

Rules (docs/configuration.md says the same for users):

* ``--map`` flags replace the file's ``[[map]]`` tables;
* TLS and idle keys at the top of the file are defaults for every map, a
  ``[[map]]`` table may set its own, and a TLS or idle flag overrides both.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from proxy.config.endpoint import LOCALHOST
from proxy.config.model import Mapping, TlsOptions
from proxy.config.parse import parse_endpoint, parse_map
from proxy.config.schema import Group, Place, Setting, Where, read
from proxy.config.settings import SETTINGS
from proxy.errors import ConfigError


def _plain(rows: Sequence[Setting]) -> tuple[Setting, ...]:
    return tuple(row for row in rows if not row.structured)


_TLS = _plain(SETTINGS.where(Place.MAP, Group.TLS))
_IDLE = _plain(SETTINGS.where(Place.TOP, Group.IDLE))
_MAP_OWN = _plain(SETTINGS.where(Place.MAP, Group.IDLE, Group.MAP))
"""A ``[[map]]``'s keys other than TLS: idle keys, ``max-connections``, ``modems``."""


def build_maps(flags: MappingABC[str, Any], file: MappingABC[str, Any],
               file_maps: Sequence[MappingABC[str, Any]] | None) -> tuple[Mapping, ...]:
    """The maps, checked; ``file`` is the file's top level (its TLS and idle defaults)."""
    tls = replace(TlsOptions(), **read(_TLS, file))
    idle = read(_IDLE, file)
    if flags.get("map"):
        maps = [Mapping(*parse_map(spec), tls, **idle) for spec in flags["map"]]
    else:
        maps = [_from_table(n, entry, tls, idle) for n, entry in enumerate(file_maps or (), 1)]
    if not maps:
        raise ConfigError("give at least one --map [BIND:]LPORT=HOST:RPORT "
                          "(or [[map]] tables in the --config file)")
    tls_flags, idle_flags = read(_TLS, flags), read(_IDLE, flags)
    maps = [replace(m, tls=replace(m.tls, **tls_flags), **idle_flags) for m in maps]
    check_client_certificates(maps)
    check_listen_addresses(maps)
    return tuple(maps)


def _from_table(n: int, entry: MappingABC[str, Any], tls: TlsOptions,
                idle: dict[str, Any]) -> Mapping:
    where = Where(f"[[map]] #{n}: ")
    listen = parse_endpoint(str(entry["listen"]), f"[[map]] #{n} listen",
                            default_host=LOCALHOST, allow_zero=True)
    remote = parse_endpoint(entry["connect"], f"[[map]] #{n} connect")
    return Mapping(listen, remote, replace(tls, **read(_TLS, entry, where)),
                   **{**idle, **read(_MAP_OWN, entry, where)})


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
    """Two maps cannot listen on the same address (port 0: a free port each)."""
    seen: set[tuple[str, int]] = set()
    for m in maps:
        address = (m.listen.host, m.listen.port)
        if m.listen.port and address in seen:
            raise ConfigError(f"two maps listen on {m.listen}; give each its own local port")
        seen.add(address)


def first_map_server(file_maps: Sequence[MappingABC[str, Any]] | None
                     ) -> tuple[str, dict[str, Any]] | None:
    """The first ``[[map]]``'s ``connect`` and its own TLS values (for the doctor's
    ``--host``); None without maps."""
    if not file_maps:
        return None
    first = file_maps[0]
    return str(first["connect"]), read(_TLS, first, Where("[[map]] #1: "))
