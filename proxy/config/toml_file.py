"""The TOML config file: which keys exist where, and their TOML types.

The keys and their types are the settings of ``SETTINGS`` that may appear
at the top level, in a ``[[map]]`` or in a ``[[modem]]`` table.
``load_toml`` only shape-checks; ``proxy.config.build.build_config``
validates the values with the same messages as for flags.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping as MappingABC
from pathlib import Path
from typing import Any

from proxy.config.kinds import InputFile, Structured
from proxy.config.schema import Place, Setting
from proxy.config.settings import SETTINGS
from proxy.errors import ConfigError


def _keys(place: Place) -> dict[str, Setting]:
    """The plain keys at ``place`` (``[[...]]`` tables are read on their own)."""
    return {row.name: row for row in SETTINGS.where(place)
            if not (isinstance(row.kind, Structured) and row.kind.tables)}


def _typename(types: tuple[type, ...]) -> str:
    names = {str: "a string", int: "a number", float: "a number", bool: "true or false",
             dict: "a table", list: "a list"}
    return " or ".join(dict.fromkeys(names[x] for x in types))


def _check_table(table: MappingABC[str, Any], allowed: dict[str, Setting], where: str,
                 path: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for raw_key, value in table.items():
        key = raw_key.replace("_", "-")
        if key not in allowed:
            near = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ConfigError(f"{path}: unknown key {raw_key!r} {where}{hint}")
        row = allowed[key]
        types = row.kind.toml_types()
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        if not ok:
            shown = "" if row.secret else f" (got {value!r})"
            raise ConfigError(f"{path}: {raw_key} {where} must be {_typename(types)}{shown}")
        if isinstance(row.kind, InputFile) and value and not Path(value).expanduser().is_absolute():
            value = str(path.parent / value)  # a relative path means: next to the file
        out[key] = value
    return out


def _tables(data: dict[str, Any], name: str, place: Place, noun: str, example: str,
            path: Path) -> list[dict[str, Any]] | None:
    """The ``[[name]]`` tables of ``data`` (popped), each shape-checked with the
    keys of ``place``; None if there are none."""
    tables = data.pop(name, None)
    if tables is None:
        return None
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(f"{path}: write each {noun} as a [[{name}]] table")
    allowed = _keys(place)
    out = []
    for n, table in enumerate(tables, 1):
        entry = _check_table(table, allowed, f"in [[{name}]] #{n}", path)
        for row in allowed.values():
            if row.required and row.name not in entry:
                raise ConfigError(f"{path}: [[{name}]] #{n} lacks {row.name!r} (e.g. {example})")
        out.append(entry)
    return out


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read and shape-check a config file.

    Returns the top-level keys (dashes, as the flags spell them), plus
    ``"map"`` and ``"modem"``: lists of per-table dicts when the file has
    ``[[map]]`` or ``[[modem]]`` tables.  Relative certificate paths are taken
    relative to the file's directory.  Values are not validated here beyond
    their TOML type; ``build_config`` does that with the same messages as for
    flags.
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    maps = _tables(data, "map", Place.MAP, "mapping",
                   'listen = 9000, connect = "api.example.com:443"', path)
    modems = _tables(data, "modem", Place.MODEM, "module", 'device = "/dev/ttyUSB2"', path)
    out = _check_table(data, _keys(Place.TOP), "at the top level", path)
    if maps is not None:
        out["map"] = maps
    if modems is not None:
        out["modem"] = modems
    return out
