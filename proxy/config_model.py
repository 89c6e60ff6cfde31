"""The proxy's settings as values: ``ProxyConfig`` and the parts it is made of.

``proxy.config`` builds these from flags and the TOML file; everything else
only reads them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from pathlib import Path

from modem.commands import URC_PORTS
from modem.limits import ALL_CIPHER_SUITES, CIPHER_SUITES, CLIENT_IDS, SSL_CONTEXTS
from modem.push_flow import AccessMode

from .errors import ConfigError

# Manual 2.1.1, <ciphersuites>: the codes AT+QSSLCFG accepts.
KNOWN_CIPHERSUITES: frozenset[int] = frozenset(CIPHER_SUITES)
TLS_VERSIONS = ("1.0", "1.1", "1.2", "all")
APN_AUTH = {"none": 0, "pap": 1, "chap": 2, "pap-or-chap": 3}
URC_PORT_CHOICES = (*URC_PORTS, "auto")  # auto: from the device (port_discovery.urc_port_for)
ACCESS_MODE_CHOICES = tuple(mode.value for mode in AccessMode)  # buffer, push (modem.push_flow)
DEFAULT_ACCESS_MODE = "push"  # faster on every benchmarked line: docs/benchmarks.md
MAX_CLIENT_IDS = CLIENT_IDS      # manual 2.1.2: <clientID> 0-11
MAX_SSL_CONTEXTS = SSL_CONTEXTS  # manual 2.1.1: <sslctxID> 0-5
LOCALHOST = "127.0.0.1"


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
    access_mode: str = DEFAULT_ACCESS_MODE



def distinct_tls(config: ProxyConfig) -> list[TlsOptions]:
    """The different TLS settings in use, in map order (each needs a module SSL context)."""
    return list(dict.fromkeys(m.effective_tls for m in config.maps))


def check_context_count(config: ProxyConfig) -> None:
    """The module has six SSL contexts (0-5): at most six different TLS settings."""
    n = len(distinct_tls(config))
    if n > MAX_SSL_CONTEXTS:
        raise ConfigError(f"the maps use {n} different TLS settings but the module has only "
                          f"{MAX_SSL_CONTEXTS} SSL contexts; share settings between maps")
