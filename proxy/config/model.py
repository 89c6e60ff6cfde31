"""The proxy's settings as values: ``ProxyConfig`` and the parts it is made of.

``proxy.config.build`` builds these from flags and the TOML file; everything else
only reads them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from pathlib import Path

from modem.core.commands import URC_PORTS
from modem.core.limits import ALL_CIPHER_SUITES, CIPHER_SUITES, CLIENT_IDS, SSL_CONTEXTS
from modem.core.push_flow import AccessMode
from proxy.errors import ConfigError

# Manual 2.1.1, <ciphersuites>: the codes AT+QSSLCFG accepts.
KNOWN_CIPHERSUITES: frozenset[int] = frozenset(CIPHER_SUITES)
TLS_VERSIONS = ("1.0", "1.1", "1.2", "all")
APN_AUTH = {"none": 0, "pap": 1, "chap": 2, "pap-or-chap": 3}
URC_PORT_CHOICES = (*URC_PORTS, "auto")  # auto: from the device (port_discovery.urc_port_for)
ACCESS_MODE_CHOICES = tuple(mode.value for mode in AccessMode)  # buffer, push
DEFAULT_ACCESS_MODE = "push"  # faster on every benchmarked line: docs/benchmarks.md
MAX_CLIENT_IDS = CLIENT_IDS      # manual 2.1.2: <clientID> 0-11
MAX_SSL_CONTEXTS = SSL_CONTEXTS  # manual 2.1.1: <sslctxID> 0-5
LOCALHOST = "127.0.0.1"
QUEUE_MAX = 64              # connections waiting for a module socket at most
HALF_CLOSE_TIMEOUT = 30.0   # seconds a half-closed connection waits for the remote
IDLE_RECLAIM = 5.0  # seconds idle before a waiting connection may take the socket; 0 = never
IDLE_TIMEOUT = 0.0  # seconds idle before the connection is closed anyway; 0 = never


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
    # Not a user setting: the module checks the server's name where its firmware
    # can (modem.core.commands.HOST_CHECK_SETTINGS); off for IP literals (effective_tls).
    check_host: bool = True


@dataclass(frozen=True)
class Mapping:
    """``listen`` (a local address) forwards to ``remote`` with ``tls``."""

    listen: Endpoint
    remote: Endpoint
    tls: TlsOptions = field(default_factory=TlsOptions)
    modems: tuple[str, ...] = ()  # the modems it may use (names); empty: any
    max_connections: int | None = None  # module sockets for this map at most (None: no own limit)
    idle_reclaim: float = IDLE_RECLAIM
    idle_timeout: float = IDLE_TIMEOUT
    # Reclaim releases only the module socket and keeps the client's connection;
    # its next bytes go to a new remote connection (request/response protocols).
    idle_release: bool = False

    def __str__(self) -> str:
        return f"{self.listen} -> {self.remote}"

    @property
    def effective_tls(self) -> TlsOptions:
        """``tls`` with SNI and the host-name check off for an IP-literal remote
        (SNI carries host names only; certificates rarely name addresses)."""
        if self.remote.is_ip and (self.tls.sni or self.tls.check_host):
            return replace(self.tls, sni=False, check_host=False)
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
    queue_max: int = QUEUE_MAX
    half_close_timeout: float = HALF_CLOSE_TIMEOUT
    grace: float = 5.0
    status: Endpoint | None = None
    at_console: Endpoint | None = None
    at_console_unix: Path | None = None  # --at-console unix:PATH (instead of at_console)
    at_pty: str | None = None  # a link to a pty serving the AT console (proxy.ops.at_pty)
    verbose: int = 0
    trace_at: bool = False
    trace_payload: bool = False  # the AT trace shows payloads' first bytes, not lengths only
    log_format: str = "text"  # or "json" (proxy.logging_setup)
    emulate: bool = False
    resolve: tuple[tuple[str, str], ...] = ()
    emulate_baud: int | None = None
    emulate_latency_ms: float | None = None
    # Found while reading the files (e.g. a readable secret); logged at start.
    file_warnings: tuple[str, ...] = ()
    notices: tuple[str, ...] = field(default=(), compare=False)
    """One-line notices about the settings, logged once logging is set up."""
    modems: tuple[ModemSpec, ...] = ()  # [[modem]] / repeated --device; empty: one, from above
    emulate_modems: int = 1
    access_mode: str = DEFAULT_ACCESS_MODE


@dataclass(frozen=True)
class ModemSpec:
    """One module of several (``[[modem]]``, a repeated ``--device``, ``--emulate-modems``).

    ``device`` None: discovered, or emulated.  ``baud``, ``apn``, ``urc_port``
    default to the top-level settings; ``at_console`` serves this module's
    own AT console.
    """

    name: str
    device: str | None = None
    baud: int = 115200
    apn: str | None = None
    urc_port: str = "auto"
    at_console: Endpoint | None = None


def distinct_tls(config: ProxyConfig) -> list[TlsOptions]:
    """The different TLS settings in use, in map order (each needs a module SSL context)."""
    return list(dict.fromkeys(m.effective_tls for m in config.maps))


def check_context_count(config: ProxyConfig) -> None:
    """The module has six SSL contexts (0-5): at most six different TLS settings."""
    n = len(distinct_tls(config))
    if n > MAX_SSL_CONTEXTS:
        raise ConfigError(f"the maps use {n} different TLS settings but the module has only "
                          f"{MAX_SSL_CONTEXTS} SSL contexts; share settings between maps")
