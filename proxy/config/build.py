"""The proxy's settings: what ``ssl-proxy`` flags and its TOML file say.

``ProxyConfig`` is the validated result; ``build_config`` makes it from the
parsed command line (only the flags the user gave) laid over the TOML file
(``load_toml``) laid over the defaults of ``SETTINGS``; the SIM's PIN comes
from ``--sim-pin-file`` or the environment (``proxy.config.sim_pin``).  Every mistake
raises ``ConfigError`` with a one-line message that names the flag or key
and says what to write instead; it never quotes a password or key material.

A flag overrides the file's key of the same name; the maps' own rules are
in ``proxy.config.maps``, the modules' in ``proxy.config.modems``, the rules
between settings in ``proxy.config.rules``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping as MappingABC
from typing import Any

from proxy.config.maps import build_maps
from proxy.config.model import (
    LOCALHOST,
    MAX_CLIENT_IDS,
    MAX_SSL_CONTEXTS,
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
    KNOWN_CIPHERSUITES,
    parse_ciphers,
    parse_endpoint,
    parse_map,
    parse_resolve,
)
from proxy.config.rules import (
    check_device_or_emulate,
    check_emulator_only,
    check_trace_payload,
    complete_apn_auth,
    emulating,
    merge,
    split_at_console,
)
from proxy.config.schema import PER_MAP_GROUPS, Place, Where, read
from proxy.config.settings import APN_AUTH, SETTINGS, TLS_VERSIONS
from proxy.config.sim_pin import sim_pin_from
from proxy.config.toml_file import load_toml
from proxy.errors import ConfigError

# The names other modules import from here (the model and parsers live beside it).
__all__ = [
    "APN_AUTH", "KNOWN_CIPHERSUITES", "LOCALHOST", "MAX_CLIENT_IDS", "MAX_SSL_CONTEXTS",
    "TLS_VERSIONS", "URC_PORT_CHOICES", "ConfigError", "Endpoint", "Mapping", "ProxyConfig",
    "TlsOptions", "build_config", "check_context_count", "distinct_tls", "load_toml",
    "parse_ciphers", "parse_endpoint", "parse_map", "parse_resolve",
]

_TOP = tuple(row for row in SETTINGS.where(Place.TOP | Place.FLAG)
             if not row.structured and row.group not in PER_MAP_GROUPS)
"""The settings that are ``ProxyConfig`` fields of their own."""
_PER_MODULE = tuple(row for row in _TOP if row.per_module)


def build_config(flags: MappingABC[str, Any], file: MappingABC[str, Any] | None = None
                 ) -> ProxyConfig:
    """Validate ``flags`` (given flags only, keys spelt like ``load_toml``'s) over ``file``.

    ``flags["map"]`` is a list of ``--map`` specs; ``flags["resolve"]`` a list of
    ``NAME=IP``.  Raises ``ConfigError``.
    """
    file = dict(file or {})
    file_maps, file_modems = file.pop("map", None), file.pop("modem", None)
    maps = build_maps(flags, file, file_maps)
    given, notices = merge(flags, file)
    emulate = emulating(given)
    values = read((row for row in _TOP if not row.per_module), given, defaults=True)
    modems, emulate_modems = build_modem_specs(flags, file_modems, given, values, emulate)
    values |= read(_PER_MODULE, given, Where(modules=max(1, len(modems))), defaults=True)
    check_map_modems(maps, modems)
    devices = device_list(given.get("device"))
    check_device_or_emulate(devices, emulate)
    check_emulator_only(given, emulate)
    complete_apn_auth(values)
    check_trace_payload(values)
    split_at_console(values)
    sim_pin, pin_warning = sim_pin_from(values["sim_pin_file"], os.environ)
    values.update(sim_pin=sim_pin, file_warnings=(pin_warning,) if pin_warning else ())
    values.update(emulate=emulate, emulate_modems=emulate_modems, modems=modems,
                  device=devices[0] if devices else next((m.device for m in modems), None),
                  notices=tuple(notices))
    config = ProxyConfig(maps=maps, **values)
    check_context_count(config)
    return config
