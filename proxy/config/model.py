"""The proxy's settings as values: ``ProxyConfig`` and the parts it is made of.

``proxy.config.build`` builds these from flags and the TOML file; everything else
only reads them.  Every default is the one ``proxy.config.settings.SETTINGS``
declares.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from modem.core.channel_plan import ChannelMode
from modem.core.families import Family
from modem.core.limits import SSL_CONTEXTS
from modem.core.push_flow import AccessMode
from modem.core.sim_pin import SimPin
from proxy.config.allow import AllowList
from proxy.config.endpoint import LOCALHOST, Endpoint, ListenAddress, is_ip
from proxy.config.schema import Place
from proxy.config.settings import APN_AUTH, MAX_CLIENT_IDS, SETTINGS, UrcPortChoice
from proxy.connections.transparent_policy import TransparentUse
from proxy.errors import ConfigError
from proxy.logging_setup import LogFormat

__all__ = [
    "DEFAULT_ACCESS_MODE", "HALF_CLOSE_TIMEOUT", "IDLE_RECLAIM", "IDLE_TIMEOUT", "LOCALHOST",
    "MAX_CLIENT_IDS", "MAX_SSL_CONTEXTS", "QUEUE_MAX", "URC_PORT_CHOICES", "AllowList",
    "Endpoint", "ListenAddress", "Mapping", "ModemSpec", "ProxyConfig", "TlsOptions",
    "check_context_count", "distinct_tls", "is_ip",
]


def _top(name: str) -> Any:
    return SETTINGS.default(name)


def _per_map(name: str) -> Any:
    return SETTINGS.default(name, Place.MAP)


MAX_SSL_CONTEXTS = SSL_CONTEXTS  # manual 2.1.1: <sslctxID> 0-5
URC_PORT_CHOICES = tuple(UrcPortChoice)
DEFAULT_ACCESS_MODE: AccessMode = _top("access-mode")
QUEUE_MAX: int = _top("queue-max")
HALF_CLOSE_TIMEOUT: float = _top("half-close-timeout")
IDLE_RECLAIM: float = _per_map("idle-reclaim")  # seconds; 0 = never
IDLE_TIMEOUT: float = _per_map("idle-timeout")  # seconds; 0 = never


@dataclass(frozen=True)
class TlsOptions:
    """One map's TLS settings as the user wrote them (files still paths).

    ``cacert`` None means the host's CA bundle.  ``insecure`` turns off
    server verification (the module's seclevel 0).
    """

    cacert: Path | None = _per_map("cacert")
    clientcert: Path | None = _per_map("clientcert")
    clientkey: Path | None = _per_map("clientkey")
    version: str = _per_map("tls-version")
    ciphers: tuple[int, ...] = _per_map("ciphers")
    insecure: bool = _per_map("insecure")
    sni: bool = _per_map("sni")
    negotiate_timeout: int = _per_map("negotiate-timeout")
    ignore_local_time: bool = _per_map("ignore-local-time")  # the module skips certificate dates
    # Not a user setting: the module checks the server's name where its firmware
    # can (modem.core.commands.HOST_CHECK_SETTINGS); off for IP literals (effective_tls).
    check_host: bool = True


@dataclass(frozen=True)
class Mapping:
    """``listen`` (a local address or socket file) forwards to ``remote`` with ``tls``;
    ``allow`` (None: every client) the clients a TCP listener serves."""

    listen: ListenAddress
    remote: Endpoint
    tls: TlsOptions = field(default_factory=TlsOptions)
    modems: tuple[str, ...] = _per_map("modems")  # the modems it may use (names); empty: any
    # Module sockets for this map at most (None: no own limit).
    max_connections: int | None = _per_map("max-connections")
    idle_reclaim: float = IDLE_RECLAIM
    idle_timeout: float = IDLE_TIMEOUT
    # Reclaim releases only the module socket and keeps the client's connection;
    # its next bytes go to a new remote connection (request/response protocols).
    idle_release: bool = _per_map("idle-release")
    allow: AllowList | None = _per_map("allow")
    transparent: TransparentUse = _per_map("transparent")

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
    device: str | None = _top("device")
    baud: int | None = _top("baud")  # None: auto
    rtscts: bool = _top("rtscts")
    urc_port: UrcPortChoice = _top("urc-port")
    module_family: Family | None = _top("module-family")  # None: from ATI
    channels: ChannelMode = _top("channels")
    mux_n1: int = _top("mux-n1")
    sim_pin_file: Path | None = _top("sim-pin-file")
    sim_pin: SimPin | None = None  # from sim_pin_file or the environment (sim_pin.py)
    apn: str | None = _top("apn")
    apn_user: str = _top("apn-user")
    apn_password: str = field(default=_top("apn-password"), repr=False)
    apn_auth: int = APN_AUTH["none"]  # the apn-auth setting's code; without one: by apn-user
    pdp_context: int = _top("pdp-context")
    max_connections: int = _top("max-connections")  # one module's
    queue_timeout: float = _top("queue-timeout")
    queue_max: int = QUEUE_MAX
    half_close_timeout: float = HALF_CLOSE_TIMEOUT
    grace: float = _top("grace")
    status: Endpoint | None = _top("status")
    at_console: Endpoint | None = _top("at-console")
    at_console_unix: Path | None = None  # --at-console unix:PATH (instead of at_console)
    at_pty: str | None = _top("at-pty")  # a link to a pty serving the AT console
    verbose: int = _top("verbose")
    trace_at: bool = _top("trace-at")
    trace_payload: bool = _top("trace-payload")  # payloads' first bytes, not lengths only
    log_format: LogFormat = _top("log-format")
    emulate: bool = _top("emulate")
    resolve: tuple[tuple[str, str], ...] = _top("resolve")
    emulate_baud: int | None = _top("emulate-baud")
    emulate_latency_ms: float | None = _top("emulate-latency-ms")
    # Found while reading the files (e.g. a readable secret); logged at start.
    file_warnings: tuple[str, ...] = ()
    notices: tuple[str, ...] = field(default=(), compare=False)
    """One-line notices about the settings, logged once logging is set up."""
    modems: tuple[ModemSpec, ...] = ()  # [[modem]] / repeated --device; empty: one, from above
    emulate_modems: int = _top("emulate-modems")
    access_mode: AccessMode = DEFAULT_ACCESS_MODE


@dataclass(frozen=True)
class ModemSpec:
    """One module of several (``[[modem]]``, a repeated ``--device``, ``--emulate-modems``).

    ``device`` None: discovered, or emulated.  ``baud``, ``apn``, ``urc_port``
    default to the top-level settings; ``at_console`` serves this module's
    own AT console.
    """

    name: str
    device: str | None = None
    baud: int | None = _top("baud")  # None: auto
    apn: str | None = _top("apn")
    urc_port: UrcPortChoice = _top("urc-port")
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
