"""The proxy's settings: what ``ssl-proxy`` flags and its TOML file say.

``ProxyConfig`` is the validated result; ``build_config`` makes it from the
parsed command line (only the flags the user gave) laid over the TOML file
(``load_toml``) laid over the defaults.  Every mistake raises ``ConfigError``
with a one-line message that names the flag or key and says what to write
instead; it never quotes a password or key material.

Merging rules (docs/configuration.md says the same for users):

* a flag overrides the file's key of the same name;
* ``--map`` flags replace the file's ``[[map]]`` tables;
* TLS keys at the top of the file are defaults for every map, a ``[[map]]``
  table may set its own, and a TLS flag overrides both.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from dataclasses import replace
from pathlib import Path
from typing import Any

from .config_file import load_toml
from .config_model import (
    ACCESS_MODE_CHOICES,
    APN_AUTH,
    DEFAULT_ACCESS_MODE,
    KNOWN_CIPHERSUITES,
    LOCALHOST,
    MAX_CLIENT_IDS,
    MAX_SSL_CONTEXTS,
    TLS_VERSIONS,
    URC_PORT_CHOICES,
    Endpoint,
    Mapping,
    ProxyConfig,
    TlsOptions,
    check_context_count,
    distinct_tls,
)
from .config_parse import parse_ciphers, parse_endpoint, parse_map, parse_resolve
from .errors import ConfigError

# The names other modules import from here (the model and parsers live beside it).
__all__ = [
    "APN_AUTH", "KNOWN_CIPHERSUITES", "LOCALHOST", "MAX_CLIENT_IDS", "MAX_SSL_CONTEXTS",
    "TLS_VERSIONS", "URC_PORT_CHOICES", "ConfigError", "Endpoint", "Mapping", "ProxyConfig",
    "TlsOptions", "build_config", "check_context_count", "distinct_tls", "load_toml",
    "parse_ciphers", "parse_endpoint", "parse_map", "parse_resolve",
]


# -- putting it together -----------------------------------------------------

def _tls_from(settings: MappingABC[str, Any], base: TlsOptions, what: str,
              dash: str = "") -> TlsOptions:
    """Lay the TLS keys found in ``settings`` over ``base``; errors name the key
    as the user wrote it (``dash="--"`` for flags, nothing for file keys)."""
    changes: dict[str, Any] = {}
    for key in ("cacert", "clientcert", "clientkey"):
        if key in settings:
            changes[key] = Path(settings[key]).expanduser() if settings[key] else None
    if "tls-version" in settings:
        version = str(settings["tls-version"])
        if version not in TLS_VERSIONS:
            raise ConfigError(f"{what}{dash}tls-version: {version!r} is not one of "
                              f"{', '.join(TLS_VERSIONS)}")
        changes["version"] = version
    if "ciphers" in settings:
        changes["ciphers"] = parse_ciphers(settings["ciphers"], f"{what}{dash}ciphers")
    if "insecure" in settings:
        changes["insecure"] = bool(settings["insecure"])
    for key in ("sni", "ignore-local-time"):
        if key in settings:
            changes[key.replace("-", "_")] = bool(settings[key])
    if "negotiate-timeout" in settings:
        t = settings["negotiate-timeout"]
        if not 10 <= t <= 300:
            raise ConfigError(f"{what}{dash}negotiate-timeout: {t} is outside 10-300 seconds "
                              "(manual 2.1.1)")
        changes["negotiate_timeout"] = int(t)
    return replace(base, **changes)


def _check_tls(tls: TlsOptions, what: str) -> None:
    if (tls.clientcert is None) != (tls.clientkey is None):
        raise ConfigError(f"{what}give --clientcert and --clientkey together")
    if tls.insecure and tls.clientcert is not None:
        raise ConfigError(f"{what}--insecure cannot be combined with a client certificate "
                          "(the module verifies the server whenever it sends one)")


def _number(settings: MappingABC[str, Any], key: str, low: float, high: float | None,
            default: Any) -> Any:
    if key not in settings:
        return default
    value = settings[key]
    if high is None and value < low:
        raise ConfigError(f"--{key}: {value} must be at least {low}")
    if high is not None and not low <= value <= high:
        raise ConfigError(f"--{key}: {value} is outside {low}-{high}")
    return value


def build_config(flags: MappingABC[str, Any], file: MappingABC[str, Any] | None = None
                 ) -> ProxyConfig:
    """Validate ``flags`` (given flags only, keys spelt like ``load_toml``'s) over ``file``.

    ``flags["map"]`` is a list of ``--map`` specs; ``flags["resolve"]`` a list of
    ``NAME=IP``.  Raises ``ConfigError``.
    """
    file = dict(file or {})
    file_maps = file.pop("map", None)
    merged: dict[str, Any] = {**file, **{k: v for k, v in flags.items() if k != "map"}}

    file_tls = _tls_from(file, TlsOptions(), "")
    maps: list[Mapping] = []
    if flags.get("map"):
        for spec in flags["map"]:
            listen, remote = parse_map(spec)
            maps.append(Mapping(listen, remote, file_tls))
    elif file_maps:
        for n, entry in enumerate(file_maps, 1):
            listen = entry["listen"]
            listen_text = str(listen)
            what = f"[[map]] #{n}: "
            listen_ep = parse_endpoint(listen_text, f"[[map]] #{n} listen",
                                       default_host=LOCALHOST, allow_zero=True)
            remote_ep = parse_endpoint(entry["connect"], f"[[map]] #{n} connect")
            tls = _tls_from(entry, file_tls, what)
            maps.append(Mapping(listen_ep, remote_ep, tls))
    if not maps:
        raise ConfigError("give at least one --map [BIND:]LPORT=HOST:RPORT "
                          "(or [[map]] tables in the --config file)")
    # TLS flags override the file, for every map.
    maps = [replace(m, tls=_tls_from(flags, m.tls, "", "--")) for m in maps]
    for m in maps:
        _check_tls(m.tls, "" if len(maps) == 1 else f"map {m}: ")
    seen: dict[tuple[str, int], Mapping] = {}
    for m in maps:
        address = (m.listen.host, m.listen.port)
        if m.listen.port and address in seen:
            raise ConfigError(f"two maps listen on {m.listen}; give each its own local port")
        seen[address] = m

    emulate = bool(merged.get("emulate", False))
    if emulate and merged.get("device"):
        raise ConfigError("--device and --emulate exclude each other; drop one")
    for key in ("resolve", "emulate-baud", "emulate-latency-ms"):
        if merged.get(key) and not emulate:
            raise ConfigError(f"--{key} only works with --emulate "
                              "(a real module uses its own network)")

    resolve_raw = merged.get("resolve") or []
    if isinstance(resolve_raw, dict):
        resolve_raw = [f"{k}={v}" for k, v in resolve_raw.items()]
    resolve = tuple(parse_resolve(str(s)) for s in resolve_raw)

    urc_port = merged.get("urc-port", "auto")
    if urc_port not in URC_PORT_CHOICES:
        raise ConfigError(f"--urc-port: {urc_port!r} is not one of {', '.join(URC_PORT_CHOICES)}"
                          " (the AT port this proxy opens; auto finds it from the device)")

    auth_name = merged.get("apn-auth")
    if auth_name is None:
        apn_auth = APN_AUTH["pap-or-chap"] if merged.get("apn-user") else 0
    elif auth_name in APN_AUTH:
        apn_auth = APN_AUTH[auth_name]
    else:
        raise ConfigError(f"--apn-auth: {auth_name!r} is not one of {', '.join(APN_AUTH)}")
    apn = merged.get("apn")
    if apn is not None and (not apn or '"' in apn or not apn.isprintable()):
        raise ConfigError("--apn: give the operator's APN, e.g. internet "
                          "(or leave it out to use the module's own context)")
    for key in ("apn-user", "apn-password"):
        if '"' in merged.get(key, ""):
            raise ConfigError(f"--{key} cannot contain a double quote (the module's "
                              "AT+QICSGP has no escape for it)")
    if (merged.get("apn-user") or merged.get("apn-password")) and apn is None:
        raise ConfigError("--apn-user/--apn-password need --apn too")

    def endpoint(key: str) -> Endpoint | None:
        value = merged.get(key)
        if value is None or value == "":
            return None
        return parse_endpoint(str(value), f"--{key}", default_host=LOCALHOST, allow_zero=True)

    verbose = merged.get("verbose", 0)
    config = ProxyConfig(
        maps=tuple(maps),
        device=merged.get("device") or None,
        baud=_number(merged, "baud", 300, 4_000_000, 115200),
        rtscts=bool(merged.get("rtscts", False)),
        urc_port=urc_port,
        apn=apn,
        apn_user=merged.get("apn-user", ""),
        apn_password=merged.get("apn-password", ""),
        apn_auth=apn_auth,
        pdp_context=_number(merged, "pdp-context", 1, 16, 1),
        max_connections=_number(merged, "max-connections", 1, MAX_CLIENT_IDS, MAX_CLIENT_IDS),
        queue_timeout=float(_number(merged, "queue-timeout", 0, None, 30.0)),
        grace=float(_number(merged, "grace", 0, None, 5.0)),
        status=endpoint("status"),
        at_console=endpoint("at-console"),
        verbose=int(verbose) if not isinstance(verbose, bool) else int(verbose),
        trace_at=bool(merged.get("trace-at", False)),
        emulate=emulate,
        resolve=resolve,
        emulate_baud=_number(merged, "emulate-baud", 300, 100_000_000, None),
        emulate_latency_ms=_number(merged, "emulate-latency-ms", 0, None, None),
        access_mode=_access_mode(merged),
    )
    check_context_count(config)
    return config


def _access_mode(merged: dict[str, Any]) -> str:
    """``--access-mode``: buffer or push (manual 1.3; ``modem.push_flow``)."""
    mode = merged.get("access-mode", DEFAULT_ACCESS_MODE)
    if mode not in ACCESS_MODE_CHOICES:
        raise ConfigError(f"--access-mode: {mode!r} is not one of "
                          f"{', '.join(ACCESS_MODE_CHOICES)} (how the module hands over "
                          "received data)")
    return str(mode)

