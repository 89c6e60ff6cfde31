"""The TOML config file: which keys exist where, and their TOML types.

``load_toml`` only shape-checks; ``proxy.config.build.build_config`` validates the
values with the same messages as for flags.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping as MappingABC
from pathlib import Path
from typing import Any

from proxy.errors import ConfigError

# Keys allowed at the top of the file (flag names without the dashes).
_TOP_KEYS = {
    "device": str, "baud": int, "rtscts": bool, "urc-port": str,
    "apn": str, "apn-user": str, "apn-password": str, "apn-auth": str, "pdp-context": int,
    "max-connections": int, "queue-timeout": (int, float), "grace": (int, float),
    "status": (str, int), "at-console": (str, int), "verbose": (bool, int), "trace-at": bool,
    "trace-payload": bool,
    "log-format": str,
    "emulate": bool, "resolve": (dict, list), "emulate-baud": int,
    "emulate-latency-ms": (int, float), "at-pty": str, "emulate-modems": int,
    "queue-max": int, "half-close-timeout": (int, float),
    "access-mode": str,
}
# TLS keys: allowed at the top (defaults) and in each [[map]].
_TLS_KEYS = {
    "cacert": str, "clientcert": str, "clientkey": str, "tls-version": str,
    "ciphers": (str, list), "insecure": bool, "sni": bool, "negotiate-timeout": int,
    "ignore-local-time": bool,
}
_MAP_KEYS = {"listen": (str, int), "connect": str, "max-connections": int, "modems": list}
# One [[modem]] table per module (several modules behind one proxy).
_MODEM_KEYS = {"name": str, "device": str, "baud": int, "apn": str, "urc-port": str,
               "at-console": (str, int)}
# Idle keys: allowed at the top (defaults, like the --idle-* flags) and in each [[map]].
_IDLE_KEYS = {"idle-reclaim": (int, float), "idle-timeout": (int, float), "idle-release": bool}
_SECRET_KEYS = {"apn-password"}


def _typename(t: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "a number", float: "a number", bool: "true or false",
             dict: "a table", list: "a list"}
    types = t if isinstance(t, tuple) else (t,)
    return " or ".join(dict.fromkeys(names[x] for x in types))


def _check_table(table: MappingABC[str, Any], allowed: dict[str, Any], where: str,
                 path: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for raw_key, value in table.items():
        key = raw_key.replace("_", "-")
        if key not in allowed:
            near = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ConfigError(f"{path}: unknown key {raw_key!r} {where}{hint}")
        expected = allowed[key]
        types = expected if isinstance(expected, tuple) else (expected,)
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        if not ok:
            shown = "" if key in _SECRET_KEYS else f" (got {value!r})"
            raise ConfigError(f"{path}: {raw_key} {where} must be {_typename(expected)}{shown}")
        out[key] = value
    return out


def _anchor_paths(table: dict[str, Any], config_path: Path) -> None:
    """Relative certificate paths in a file mean: next to that file."""
    for key in ("cacert", "clientcert", "clientkey"):
        value = table.get(key)
        if value and not Path(value).expanduser().is_absolute():
            table[key] = str(config_path.parent / value)


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read and shape-check a config file.

    Returns the top-level keys (dashes, as the flags spell them), plus
    ``"map"``: a list of per-map dicts when the file has ``[[map]]`` tables.
    Relative certificate paths are taken relative to the file's directory.
    Values are not validated here beyond their TOML type; ``build_config``
    does that with the same messages as for flags.
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    maps = data.pop("map", None)
    modems = data.pop("modem", None)
    out = _check_table(data, {**_TOP_KEYS, **_TLS_KEYS, **_IDLE_KEYS}, "at the top level", path)
    _anchor_paths(out, path)
    if maps is not None:
        if not isinstance(maps, list) or not all(isinstance(m, dict) for m in maps):
            raise ConfigError(f"{path}: write each mapping as a [[map]] table")
        out["map"] = []
        for n, table in enumerate(maps, 1):
            where = f"in [[map]] #{n}"
            entry = _check_table(table, {**_MAP_KEYS, **_TLS_KEYS, **_IDLE_KEYS}, where, path)
            _anchor_paths(entry, path)
            for needed in ("listen", "connect"):
                if needed not in entry:
                    raise ConfigError(f"{path}: [[map]] #{n} lacks {needed!r} "
                                      "(e.g. listen = 9000, connect = \"api.example.com:443\")")
            if not all(isinstance(name, str) for name in entry.get("modems", ())):
                raise ConfigError(f"{path}: modems {where} must be a list of [[modem]] names")
            out["map"].append(entry)
    if modems is not None:
        if not isinstance(modems, list) or not all(isinstance(m, dict) for m in modems):
            raise ConfigError(f"{path}: write each module as a [[modem]] table")
        out["modem"] = [_check_table(table, _MODEM_KEYS, f"in [[modem]] #{n}", path)
                        for n, table in enumerate(modems, 1)]
    return out

