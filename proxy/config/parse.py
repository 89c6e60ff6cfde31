"""Parsers for the small values flags and config keys carry: endpoints, maps,
cipher lists, ``--resolve`` entries.  Each raises ``ConfigError`` naming what
the user wrote and what to write instead."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from modem.core.limits import CIPHER_SUITES
from proxy.config.endpoint import LOCALHOST, Endpoint, ListenAddress, UnixAddress, is_ip
from proxy.errors import ConfigError

KNOWN_CIPHERSUITES: frozenset[int] = frozenset(CIPHER_SUITES)
"""Manual 2.1.1, ``<ciphersuites>``: the codes ``AT+QSSLCFG`` accepts."""

_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?$")
_MAP_HELP = ("expected [BIND:]LPORT=HOST:RPORT or unix:PATH=HOST:RPORT, "
             "e.g. 9000=api.example.com:443")


def _parse_port(text: str, what: str, *, allow_zero: bool = False) -> int:
    if not text.isdigit():
        raise ConfigError(f"{what}: port {text!r} is not a number")
    port = int(text)
    low = 0 if allow_zero else 1
    if not low <= port <= 65535:
        raise ConfigError(f"{what}: port {port} is outside {low}-65535")
    return port


def _check_host(host: str, what: str) -> str:
    if is_ip(host) or _HOSTNAME.match(host):
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


def parse_listen(text: str, what: str) -> ListenAddress:
    """Where a map listens: ``unix:PATH``, ``[BIND:]LPORT`` (BIND defaults to
    127.0.0.1; ``[::1]:LPORT`` for IPv6).  LPORT 0 asks the system for a free port."""
    path = parse_unix_socket(text, what, "unix:/run/ssl-proxy/api.sock")
    if path is not None:
        return UnixAddress(path)
    return parse_endpoint(text, what, default_host=LOCALHOST, allow_zero=True)


def parse_map(spec: str) -> tuple[ListenAddress, Endpoint]:
    """``[BIND:]LPORT=HOST:RPORT`` or ``unix:PATH=HOST:RPORT`` -> (listen, remote).

    LPORT 0 asks the system for a free port (the log line shows which).
    """
    what = f"--map {spec!r}"
    left, sep, right = spec.partition("=")
    if not sep or "=" in right or not left or not right:
        raise ConfigError(f"{what}: {_MAP_HELP}")
    if ":" not in left and not left.strip().isdigit():
        # Without a BIND the left side is the local port, whatever it looks like.
        raise ConfigError(f"{what}: the local port {left!r} is not a number; {_MAP_HELP}")
    listen = parse_listen(left, what)
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
    if not sep or not name or not is_ip(ip.strip()):
        raise ConfigError(f"{what}: expected NAME=IP, e.g. api.example.com=127.0.0.1")
    return _check_host(name.strip(), what), ip.strip()


UNIX_PREFIX = "unix:"


def parse_unix_socket(value: Any, what: str, example: str = "unix:/run/ssl-proxy/at.sock"
                      ) -> Path | None:
    """``unix:PATH`` -> PATH (a Unix socket); None for anything else (a TCP endpoint)."""
    if not isinstance(value, str) or not value.startswith(UNIX_PREFIX):
        return None
    path = value[len(UNIX_PREFIX):]
    if not path or path.endswith("/") or "\0" in path:
        raise ConfigError(f"{what}: {value!r} names no socket file; write {example}")
    return Path(path).expanduser()
