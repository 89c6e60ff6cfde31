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

import ipaddress
import re
import tomllib
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from modem.commands import URC_PORTS
from modem.limits import ALL_CIPHER_SUITES, CIPHER_SUITES, CLIENT_IDS, SSL_CONTEXTS

from .errors import ConfigError as ConfigError  # its home before proxy.errors

# Manual 2.1.1, <ciphersuites>: the codes AT+QSSLCFG accepts.
KNOWN_CIPHERSUITES: frozenset[int] = frozenset(CIPHER_SUITES)
TLS_VERSIONS = ("1.0", "1.1", "1.2", "all")
APN_AUTH = {"none": 0, "pap": 1, "chap": 2, "pap-or-chap": 3}
URC_PORT_CHOICES = (*URC_PORTS, "auto")  # auto: from the device (port_discovery.urc_port_for)
MAX_CLIENT_IDS = CLIENT_IDS      # manual 2.1.2: <clientID> 0-11
MAX_SSL_CONTEXTS = SSL_CONTEXTS  # manual 2.1.1: <sslctxID> 0-5
LOCALHOST = "127.0.0.1"


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
        return _is_ip(self.host)

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


@dataclass(frozen=True)
class TlsOptions:
    """One map's TLS settings as the user wrote them (files still paths).

    ``cacert`` None means the host's CA bundle.  ``insecure`` turns off
    server verification (the module's seclevel 0).
    """

    cacert: Path | None = None
    clientcert: Path | None = None
    clientkey: Path | None = None
    version: str = "1.2"
    ciphers: tuple[int, ...] = (ALL_CIPHER_SUITES,)
    insecure: bool = False
    sni: bool = True
    negotiate_timeout: int = 300
    ignore_local_time: bool = False  # the module skips certificate dates


@dataclass(frozen=True)
class Mapping:
    """``listen`` (a local address) forwards to ``remote`` with ``tls``."""

    listen: Endpoint
    remote: Endpoint
    tls: TlsOptions = field(default_factory=TlsOptions)

    def __str__(self) -> str:
        return f"{self.listen} -> {self.remote}"

    @property
    def effective_tls(self) -> TlsOptions:
        """``tls`` with SNI off for an IP-literal remote (SNI carries host names only)."""
        if self.tls.sni and self.remote.is_ip:
            return replace(self.tls, sni=False)
        return self.tls


@dataclass(frozen=True)
class ProxyConfig:
    """Everything the service needs, validated."""

    maps: tuple[Mapping, ...]
    device: str | None = None
    baud: int = 115200
    rtscts: bool = False
    urc_port: str = "auto"
    apn: str | None = None
    apn_user: str = ""
    apn_password: str = field(default="", repr=False)
    apn_auth: int = 0
    pdp_context: int = 1
    max_connections: int = MAX_CLIENT_IDS
    queue_timeout: float = 30.0
    grace: float = 5.0
    status: Endpoint | None = None
    at_console: Endpoint | None = None
    verbose: int = 0
    trace_at: bool = False
    emulate: bool = False
    resolve: tuple[tuple[str, str], ...] = ()
    emulate_baud: int | None = None
    emulate_latency_ms: float | None = None


# -- small parsers -----------------------------------------------------------

_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?$")
_MAP_HELP = "expected [BIND:]LPORT=HOST:RPORT, e.g. 9000=api.example.com:443"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _parse_port(text: str, what: str, *, allow_zero: bool = False) -> int:
    if not text.isdigit():
        raise ConfigError(f"{what}: port {text!r} is not a number")
    port = int(text)
    low = 0 if allow_zero else 1
    if not low <= port <= 65535:
        raise ConfigError(f"{what}: port {port} is outside {low}-65535")
    return port


def _check_host(host: str, what: str) -> str:
    if _is_ip(host) or _HOSTNAME.match(host):
        return host
    raise ConfigError(f"{what}: {host!r} is neither a host name nor an IP address")


def _split_host_port(text: str, what: str) -> tuple[str, str]:
    """``host:port`` or ``[v6]:port`` -> (host, port text)."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or text[end + 1 : end + 2] != ":":
            raise ConfigError(f"{what}: write an IPv6 address as [ADDR]:PORT")
        return text[1:end], text[end + 2 :]
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise ConfigError(f"{what}: {text!r} lacks HOST:PORT")
    if ":" in host:
        raise ConfigError(f"{what}: write an IPv6 address as [ADDR]:PORT")
    return host, port


def parse_endpoint(text: str, what: str, *, default_host: str | None = None,
                   allow_zero: bool = False) -> Endpoint:
    """``HOST:PORT`` (``[v6]:PORT``), or a bare ``PORT`` when ``default_host`` is given."""
    text = text.strip()
    if default_host is not None and text.isdigit():
        return Endpoint(default_host, _parse_port(text, what, allow_zero=allow_zero))
    host, port = _split_host_port(text, what)
    return Endpoint(_check_host(host, what), _parse_port(port, what, allow_zero=allow_zero))


def parse_map(spec: str) -> tuple[Endpoint, Endpoint]:
    """``[BIND:]LPORT=HOST:RPORT`` -> (listen, remote).  BIND defaults to 127.0.0.1.

    LPORT 0 asks the system for a free port (the log line shows which).
    """
    what = f"--map {spec!r}"
    left, sep, right = spec.partition("=")
    if not sep or "=" in right or not left or not right:
        raise ConfigError(f"{what}: {_MAP_HELP}")
    listen = parse_endpoint(left, what, default_host=LOCALHOST, allow_zero=True)
    try:
        remote = parse_endpoint(right, what)
    except ConfigError as exc:
        raise ConfigError(f"{exc}; {_MAP_HELP}") from None
    return listen, remote


def parse_ciphers(value: str | list[Any], what: str = "--ciphers") -> tuple[int, ...]:
    """``0xC02F,0x0035`` (or a TOML list of such strings / ints) -> codes."""
    items = value.split(",") if isinstance(value, str) else list(value)
    codes: list[int] = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            code = item
        elif isinstance(item, str) and re.fullmatch(r"\s*0[xX][0-9a-fA-F]{1,4}\s*", item):
            code = int(item, 16)
        else:
            raise ConfigError(f"{what}: {item!r} is not a cipher suite code like 0xC02F")
        if code not in KNOWN_CIPHERSUITES:
            raise ConfigError(f"{what}: 0x{code:04X} is not a cipher suite the module knows "
                              "(manual 2.1.1; 0xFFFF means all)")
        codes.append(code)
    if not codes:
        raise ConfigError(f"{what}: give at least one cipher suite code")
    return tuple(dict.fromkeys(codes))


def parse_resolve(spec: str) -> tuple[str, str]:
    """``NAME=IP`` for the emulator's DNS."""
    name, sep, ip = spec.partition("=")
    what = f"--resolve {spec!r}"
    if not sep or not name or not _is_ip(ip.strip()):
        raise ConfigError(f"{what}: expected NAME=IP, e.g. api.example.com=127.0.0.1")
    return _check_host(name.strip(), what), ip.strip()


# -- the TOML file -----------------------------------------------------------

# Keys allowed at the top of the file (flag names without the dashes).
_TOP_KEYS = {
    "device": str, "baud": int, "rtscts": bool, "urc-port": str,
    "apn": str, "apn-user": str, "apn-password": str, "apn-auth": str, "pdp-context": int,
    "max-connections": int, "queue-timeout": (int, float), "grace": (int, float),
    "status": (str, int), "at-console": (str, int), "verbose": (bool, int), "trace-at": bool,
    "emulate": bool, "resolve": (dict, list), "emulate-baud": int,
    "emulate-latency-ms": (int, float),
}
# TLS keys: allowed at the top (defaults) and in each [[map]].
_TLS_KEYS = {
    "cacert": str, "clientcert": str, "clientkey": str, "tls-version": str,
    "ciphers": (str, list), "insecure": bool, "sni": bool, "negotiate-timeout": int,
    "ignore-local-time": bool,
}
_MAP_KEYS = {"listen": (str, int), "connect": str}
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
            raise ConfigError(f"{path}: unknown key {raw_key!r} {where}")
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
    out = _check_table(data, {**_TOP_KEYS, **_TLS_KEYS}, "at the top level", path)
    _anchor_paths(out, path)
    if maps is not None:
        if not isinstance(maps, list) or not all(isinstance(m, dict) for m in maps):
            raise ConfigError(f"{path}: write each mapping as a [[map]] table")
        out["map"] = []
        for n, table in enumerate(maps, 1):
            where = f"in [[map]] #{n}"
            entry = _check_table(table, {**_MAP_KEYS, **_TLS_KEYS}, where, path)
            _anchor_paths(entry, path)
            for needed in ("listen", "connect"):
                if needed not in entry:
                    raise ConfigError(f"{path}: [[map]] #{n} lacks {needed!r} "
                                      "(e.g. listen = 9000, connect = \"api.example.com:443\")")
            out["map"].append(entry)
    return out


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
    )
    check_context_count(config)
    return config


def distinct_tls(config: ProxyConfig) -> list[TlsOptions]:
    """The different TLS settings in use, in map order (each needs a module SSL context)."""
    return list(dict.fromkeys(m.effective_tls for m in config.maps))


def check_context_count(config: ProxyConfig) -> None:
    """The module has six SSL contexts (0-5): at most six different TLS settings."""
    n = len(distinct_tls(config))
    if n > MAX_SSL_CONTEXTS:
        raise ConfigError(f"the maps use {n} different TLS settings but the module has only "
                          f"{MAX_SSL_CONTEXTS} SSL contexts; share settings between maps")
