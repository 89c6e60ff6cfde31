"""Several modules behind one proxy: the ``ModemSpec`` list from flags and file.

Sources, first match wins (docs/configuration.md says the same for users):

* ``--device`` given more than once: one module per device, named
  ``modem1``, ``modem2``... in the order given (``proxy.modems.names``);
* ``[[modem]]`` tables in the file (their keys: ``SETTINGS.where(Place.MODEM)``):
  one module each; a single ``--device`` flag replaces them (the one-module
  setup);
* ``--emulate-modems N``: N emulated modules (implies ``--emulate``);
* otherwise one module from the top-level settings (``ProxyConfig.modems``
  stays empty and ``modem_specs`` derives it); without ``--device`` the
  runner gives each discovered module a spec named for its USB path
  (``with_discovered_modems``).

A ``[[map]]``'s ``modems = ["a"]`` must name modules that exist.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import replace
from functools import partial
from typing import Any

from proxy.config.model import MAX_CLIENT_IDS, Mapping, ModemSpec, ProxyConfig
from proxy.config.schema import Place, Where, read
from proxy.config.settings import SETTINGS
from proxy.errors import ConfigError
from proxy.modems.names import discovered_name, numbered_name
from proxy.modems.port_discovery import SerialPort, find_at_port_at

__all__ = ["build_modem_specs", "check_map_modems", "device_list", "modem_specs",
           "table_specs", "with_discovered_modems"]

_KEYS = SETTINGS.where(Place.MODEM)
_INHERITED = tuple(row.field for row in _KEYS if row.inherits)
"""``ModemSpec`` fields that default to the top-level setting of the same name."""


def device_list(value: Any) -> list[str]:
    """``--device`` as a list (argparse appends; a file or a caller gives one string)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value if v]


def _spec_from_table(n: int, table: MappingABC[str, Any], inherited: dict[str, Any],
                     emulate: bool) -> ModemSpec:
    where = Where(f"[[modem]] #{n}: ")
    spec = replace(ModemSpec(numbered_name(n), **inherited), **read(_KEYS, table, where))
    if emulate and spec.device:
        raise ConfigError(f"{where.prefix}device and --emulate exclude each other; drop one")
    return replace(spec, device=spec.device or None)


def table_specs(tables: Sequence[MappingABC[str, Any]], values: MappingABC[str, Any],
                emulate: bool) -> list[ModemSpec]:
    """One module per ``[[modem]]`` table, named ``modem<N>`` unless it has a ``name``;
    ``values``: the top level's read values (what each table inherits)."""
    inherited = {name: values[name] for name in _INHERITED}
    return [_spec_from_table(n, t, inherited, emulate) for n, t in enumerate(tables, 1)]


def build_modem_specs(flags: MappingABC[str, Any], file_modems: Sequence[MappingABC[str, Any]]
                      | None, given: MappingABC[str, Any], values: MappingABC[str, Any],
                      emulate: bool) -> tuple[tuple[ModemSpec, ...], int]:
    """The modules (empty: the one top-level module) and how many are emulated.

    ``given``: the settings as written (flags over the file), ``values``: the
    top level's read values (the defaults of each module's ``baud``, ``apn``,
    ``urc-port``).
    """
    devices = device_list(flags.get("device"))
    count: int = values["emulate_modems"]
    inherited = {name: values[name] for name in _INHERITED}
    specs: list[ModemSpec] = []
    if len(devices) > 1:
        specs = [ModemSpec(numbered_name(n), device, **inherited)
                 for n, device in enumerate(devices, 1)]
    elif file_modems and not devices:
        if device_list(given.get("device")):
            raise ConfigError("with [[modem]] tables give each its device inside the table "
                              "(drop the top-level device key)")
        specs = table_specs(file_modems, values, emulate)
        if emulate and "emulate-modems" in given and count != len(specs):
            raise ConfigError(f"--emulate-modems {count} but the file has {len(specs)} "
                              "[[modem]] tables; drop one of them")
        if len(specs) > 1 and not emulate and not all(s.device for s in specs):
            raise ConfigError("with several [[modem]] tables give each one its device "
                              "(e.g. device = \"/dev/serial/by-id/...-if02-port0\")")
        count = len(specs) if emulate else 1
    elif count > 1:
        specs = [ModemSpec(numbered_name(n), None, **inherited) for n in range(1, count + 1)]
    if len(devices) > 1 and emulate:
        raise ConfigError("--device and --emulate exclude each other; drop one")
    _check_distinct(specs)
    return tuple(specs), count if emulate else 1


def _check_distinct(specs: Sequence[ModemSpec]) -> None:
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ConfigError(f"two [[modem]] tables are named {_first_repeat(names)!r}; "
                          "give each its own name")
    paths = [s.device for s in specs if s.device]
    if len(set(paths)) != len(paths):
        raise ConfigError(f"device {_first_repeat(paths)!r} is given twice; each module "
                          "has its own AT port")


def _first_repeat(items: list[str]) -> str:
    seen: set[str] = set()
    for item in items:
        if item in seen:
            return item
        seen.add(item)
    return ""


def check_map_modems(maps: Sequence[Mapping], specs: Sequence[ModemSpec]) -> None:
    """Every ``modems = [...]`` of a map names a module that exists."""
    known = [s.name for s in specs] or [numbered_name(1)]
    for m in maps:
        for name in m.modems:
            if name not in known:
                raise ConfigError(f"map {m}: modems names {name!r}, but the modules are "
                                  f"{', '.join(known)}")


def modem_specs(config: ProxyConfig) -> tuple[ModemSpec, ...]:
    """The modules to run: ``config.modems``, else the one the top-level settings
    describe (named ``modem1``)."""
    if config.modems:
        return config.modems
    return (ModemSpec(numbered_name(1), config.device, config.baud, config.apn, config.urc_port,
                      config.at_console),)


def with_discovered_modems(config: ProxyConfig, ports: Sequence[SerialPort]
                           ) -> tuple[ProxyConfig, dict[str, Callable[[], str]]]:
    """``config`` with one module per discovered AT port, each named for its USB
    path (``names.discovered_name``: ``usb-1-1.4``), one port or several, and
    for several a discovery per module that finds it again by that path after
    re-enumeration (one module is found again wherever it is plugged in:
    ``find_at_port``, the runner's).  A ``--max-connections`` left at one
    module's default grows to 12 per module.  A map's ``modems`` must name
    discovered modules (``ConfigError`` otherwise)."""
    specs = tuple(ModemSpec(discovered_name(port.usb_path, n), port.device, config.baud,
                            config.apn, config.urc_port) for n, port in enumerate(ports, 1))
    check_map_modems(config.maps, specs)
    if len(ports) == 1:
        return replace(config, modems=specs), {}
    limit = config.max_connections
    if limit == MAX_CLIENT_IDS:
        limit = MAX_CLIENT_IDS * len(specs)
    rediscover: dict[str, Callable[[], str]] = {
        spec.name: partial(find_at_port_at, port.usb_path)
        for spec, port in zip(specs, ports, strict=True) if port.usb_path is not None}
    return replace(config, modems=specs, max_connections=limit), rediscover
