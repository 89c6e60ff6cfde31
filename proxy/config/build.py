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

from proxy.config.model import (
    ACCESS_MODE_CHOICES,
    APN_AUTH,
    DEFAULT_ACCESS_MODE,
    HALF_CLOSE_TIMEOUT,
    KNOWN_CIPHERSUITES,
    LOCALHOST,
    MAX_CLIENT_IDS,
    MAX_SSL_CONTEXTS,
    QUEUE_MAX,
    TLS_VERSIONS,
    URC_PORT_CHOICES,
    Endpoint,
    Mapping,
    ProxyConfig,
    TlsOptions,
    check_context_count,
    distinct_tls,
)
from proxy.config.modems import build_modem_specs, check_map_modems, device_list
from proxy.config.parse import (
    parse_ciphers,
    parse_endpoint,
    parse_map,
    parse_resolve,
    parse_unix_socket,
)
from proxy.config.toml_file import load_toml
from proxy.errors import ConfigError

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


def _idle_from(settings: MappingABC[str, Any], base: Mapping, what: str,
               dash: str = "") -> Mapping:
    """Lay the idle keys (and a [[map]]'s ``max-connections``) found in ``settings``
    over ``base``; errors name the key as the user wrote it."""
    changes: dict[str, Any] = {}
    for key in ("idle-reclaim", "idle-timeout"):
        if key in settings:
            value = settings[key]
            if value < 0:
                raise ConfigError(f"{what}{dash}{key}: {value} must be at least 0 seconds "
                                  "(0 turns it off)")
            changes[key.replace("-", "_")] = float(value)
    if "idle-release" in settings:
        changes["idle_release"] = bool(settings["idle-release"])
    if "max-connections" in settings:
        n = settings["max-connections"]
        if not 1 <= n <= MAX_CLIENT_IDS:
            raise ConfigError(f"{what}max-connections: {n} is outside 1-{MAX_CLIENT_IDS} "
                              "(the module's sockets this map may hold at once)")
        changes["max_connections"] = int(n)
    return replace(base, **changes)


_IDLE_SETTINGS = ("idle-reclaim", "idle-timeout", "idle-release")


def _idle_keys(settings: MappingABC[str, Any]) -> dict[str, Any]:
    """The idle keys of the top level or the flags (defaults for every map)."""
    return {k: v for k, v in settings.items() if k in _IDLE_SETTINGS}


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
    file_modems = file.pop("modem", None)
    merged: dict[str, Any] = {**file, **{k: v for k, v in flags.items() if k != "map"}}

    file_tls = _tls_from(file, TlsOptions(), "")
    maps: list[Mapping] = []
    if flags.get("map"):
        for spec in flags["map"]:
            listen, remote = parse_map(spec)
            maps.append(_idle_from(_idle_keys(file), Mapping(listen, remote, file_tls), ""))
    elif file_maps:
        for n, entry in enumerate(file_maps, 1):
            listen = entry["listen"]
            listen_text = str(listen)
            what = f"[[map]] #{n}: "
            listen_ep = parse_endpoint(listen_text, f"[[map]] #{n} listen",
                                       default_host=LOCALHOST, allow_zero=True)
            remote_ep = parse_endpoint(entry["connect"], f"[[map]] #{n} connect")
            tls = _tls_from(entry, file_tls, what)
            pinned = tuple(entry.get("modems", ()))
            base = _idle_from(_idle_keys(file), Mapping(listen_ep, remote_ep, tls, pinned), "")
            maps.append(_idle_from(entry, base, what))
    if not maps:
        raise ConfigError("give at least one --map [BIND:]LPORT=HOST:RPORT "
                          "(or [[map]] tables in the --config file)")
    # TLS and idle flags override the file, for every map.
    maps = [_idle_from(_idle_keys(flags), replace(m, tls=_tls_from(flags, m.tls, "", "--")),
                       "", "--")
            for m in maps]
    for m in maps:
        _check_tls(m.tls, "" if len(maps) == 1 else f"map {m}: ")
    seen: dict[tuple[str, int], Mapping] = {}
    for m in maps:
        address = (m.listen.host, m.listen.port)
        if m.listen.port and address in seen:
            raise ConfigError(f"two maps listen on {m.listen}; give each its own local port")
        seen[address] = m

    notices: list[str] = []
    # A flag beats the file's opposite choice: trying a real config with --emulate.
    if flags.get("emulate") and file.get("device") and not flags.get("device"):
        notices.append(f"--emulate given: the config file's device = {file['device']!r} "
                       "is not used")
        merged.pop("device")
    elif flags.get("device") and file.get("emulate") and not flags.get("emulate"):
        notices.append("--device given: the config file's emulate = true is not used")
        merged.pop("emulate")
    emulate = bool(merged.get("emulate", False)) or merged.get("emulate-modems", 1) != 1
    modems, emulate_modems = build_modem_specs(flags, file_modems, merged, emulate)
    check_map_modems(maps, modems)
    devices = device_list(merged.get("device"))
    if emulate and devices:
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

    if merged.get("trace-payload") and not merged.get("trace-at"):
        raise ConfigError("--trace-payload only adds payload bytes to --trace-at; "
                          "give --trace-at too")
    console_unix = parse_unix_socket(merged.get("at-console"), "--at-console")
    verbose = merged.get("verbose", 0)
    log_format = merged.get("log-format", "text")
    if log_format not in ("text", "json"):
        raise ConfigError(f"--log-format: {log_format!r} is not one of text, json")
    config = ProxyConfig(
        maps=tuple(maps),
        device=devices[0] if devices else next((m.device for m in modems), None),
        baud=_number(merged, "baud", 300, 4_000_000, 115200),
        rtscts=bool(merged.get("rtscts", False)),
        urc_port=urc_port,
        apn=apn,
        apn_user=merged.get("apn-user", ""),
        apn_password=merged.get("apn-password", ""),
        apn_auth=apn_auth,
        pdp_context=_number(merged, "pdp-context", 1, 16, 1),
        max_connections=_number(merged, "max-connections", 1, MAX_CLIENT_IDS * max(1, len(modems)),
                                MAX_CLIENT_IDS * max(1, len(modems))),
        queue_timeout=float(_number(merged, "queue-timeout", 0, None, 30.0)),
        queue_max=int(_number(merged, "queue-max", 0, 100_000, QUEUE_MAX)),
        half_close_timeout=float(_number(merged, "half-close-timeout", 0, None,
                                         HALF_CLOSE_TIMEOUT)),
        grace=float(_number(merged, "grace", 0, None, 5.0)),
        status=endpoint("status"),
        at_console=None if console_unix is not None else endpoint("at-console"),
        at_console_unix=console_unix,
        at_pty=str(Path(merged["at-pty"]).expanduser()) if merged.get("at-pty") else None,
        verbose=int(verbose) if not isinstance(verbose, bool) else int(verbose),
        trace_at=bool(merged.get("trace-at", False)),
        trace_payload=bool(merged.get("trace-payload", False)),
        log_format=log_format,
        emulate=emulate,
        resolve=resolve,
        emulate_baud=_number(merged, "emulate-baud", 300, 100_000_000, None),
        emulate_latency_ms=_number(merged, "emulate-latency-ms", 0, None, None),
        notices=tuple(notices),
        modems=modems,
        emulate_modems=emulate_modems,
        access_mode=_access_mode(merged),
    )
    check_context_count(config)
    return config


def _access_mode(merged: dict[str, Any]) -> str:
    """``--access-mode``: buffer or push (manual 1.3; ``modem.core.push_flow``)."""
    mode = merged.get("access-mode", DEFAULT_ACCESS_MODE)
    if mode not in ACCESS_MODE_CHOICES:
        raise ConfigError(f"--access-mode: {mode!r} is not one of "
                          f"{', '.join(ACCESS_MODE_CHOICES)} (how the module hands over "
                          "received data)")
    return str(mode)

